package server

import (
	"context"
	"net"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/netbox-agent/netbox-agent/internal/secret"
	"github.com/netbox-agent/netbox-agent/sources"
)

// slowSource discovers its observations after a fixed delay (a remote API's latency).
type slowSource struct {
	delay time.Duration
	obs   []sources.Observation
}

func (s *slowSource) Name() string                { return "pve" }
func (s *slowSource) Adapter() string             { return "proxmox" }
func (s *slowSource) Check(context.Context) error { return nil }
func (s *slowSource) Discover(ctx context.Context, _ sources.Progress) (sources.Result, error) {
	select {
	case <-time.After(s.delay):
	case <-ctx.Done():
		return sources.Result{}, ctx.Err()
	}
	return sources.Result{Observations: append([]sources.Observation(nil), s.obs...)}, nil
}

// BenchmarkConcurrentPreviewsHTTP: 20 clients call preview_sync at once over streamable
// HTTP against the real engine (NetBox simulator, a source answering in 200 ms with 300
// VMs, no discovery cache: only the sharing of concurrent runs), compared with one client
// alone. Reports p50 of each and their ratio (goal: <= 2).
//
//	go test ./server/ -run '^$' -bench ConcurrentPreviewsHTTP -benchtime 3x
func BenchmarkConcurrentPreviewsHTTP(b *testing.B) {
	src := &slowSource{delay: 200 * time.Millisecond, obs: observations("pve", "proxmox", 300, sources.KindVM)}
	e := engineSyncerOn(b, src, NewDiscoveryCache(0))
	srv, err := New(Config{AuthToken: secret.New(testToken)}, Deps{Proxmox: []sources.Source{src}, AllSources: []sources.Source{src}, Sync: e}, nil)
	if err != nil {
		b.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = srv.Serve(ctx, ln, nil) }()
	h := &httpFixture{url: "http://" + ln.Addr().String()}
	const n = 20
	clients := make([]*benchClient, n)
	for i := range clients {
		clients[i] = newBenchClient(b, h)
	}
	var alone, together []time.Duration
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		clients[0].preview(b)
		alone = append(alone, time.Since(start))
		var mu sync.Mutex
		var wg sync.WaitGroup
		for _, c := range clients {
			wg.Go(func() {
				start := time.Now()
				c.preview(b)
				mu.Lock()
				together = append(together, time.Since(start))
				mu.Unlock()
			})
		}
		wg.Wait()
	}
	b.StopTimer()
	p50 := func(d []time.Duration) time.Duration { slices.Sort(d); return d[len(d)/2] }
	a, c := p50(alone), p50(together)
	b.ReportMetric(float64(a.Milliseconds()), "p50-alone-ms")
	b.ReportMetric(float64(c.Milliseconds()), "p50-20-concurrent-ms")
	b.ReportMetric(float64(c)/float64(a), "ratio")
}

type benchClient struct{ c *client.Client }

func newBenchClient(b *testing.B, h *httpFixture) *benchClient {
	b.Helper()
	tr, err := transport.NewStreamableHTTP(h.url+"/mcp", transport.WithHTTPHeaders(map[string]string{"Authorization": "Bearer " + testToken}))
	if err != nil {
		b.Fatal(err)
	}
	c := client.NewClient(tr, client.WithProtocolVersion(mcp.ProtocolVersion20251125))
	b.Cleanup(func() { _ = c.Close() })
	if err := c.Start(b.Context()); err != nil {
		b.Fatal(err)
	}
	if _, err := c.Initialize(b.Context(), mcp.InitializeRequest{Params: mcp.InitializeParams{ProtocolVersion: mcp.ProtocolVersion20251125, ClientInfo: mcp.Implementation{Name: "bench", Version: "1"}}}); err != nil {
		b.Fatal(err)
	}
	return &benchClient{c: c}
}

func (bc *benchClient) preview(b *testing.B) {
	res, err := bc.c.CallTool(b.Context(), mcp.CallToolRequest{Params: mcp.CallToolParams{Name: "preview_sync", Arguments: map[string]any{}}})
	if err != nil || res.IsError {
		b.Errorf("preview: %v %+v", err, res)
	}
}
