package server

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/netbox-agent/netbox-agent/internal/secret"
	"github.com/netbox-agent/netbox-agent/netbox"
	"github.com/netbox-agent/netbox-agent/netbox/netboxtest"
	"github.com/netbox-agent/netbox-agent/sources"
	syncengine "github.com/netbox-agent/netbox-agent/sync"
)

// gateSource discovers only when the test opens its gate, and counts its discoveries.
type gateSource struct {
	calls   atomic.Int32
	started chan struct{}
	once    sync.Once
	gate    chan struct{}
	obs     []sources.Observation
}

func (g *gateSource) Name() string                { return "pve" }
func (g *gateSource) Adapter() string             { return "proxmox" }
func (g *gateSource) Check(context.Context) error { return nil }
func (g *gateSource) Discover(ctx context.Context, _ sources.Progress) (sources.Result, error) {
	g.calls.Add(1)
	g.once.Do(func() { close(g.started) })
	select {
	case <-g.gate:
	case <-ctx.Done():
		return sources.Result{}, ctx.Err()
	}
	return sources.Result{Observations: append([]sources.Observation(nil), g.obs...)}, nil
}

func engineSyncerOn(t testing.TB, src sources.Source, cache *DiscoveryCache) *EngineSyncer {
	t.Helper()
	nb := netboxtest.NewTestServer(t)
	nbc, err := netbox.New(netbox.Config{URL: nb.URL, Token: secret.New(nb.Token()), Timeout: 10 * time.Second, RequestsPerSecond: -1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	e, err := NewEngineSyncer(EngineSyncerConfig{
		Engine:  syncengine.NewEngine(syncengine.FromClient(nbc), syncengine.Config{}, nil),
		Sources: []sources.Source{src}, Merge: syncengine.DefaultMergeConfig(), Discovery: cache,
	})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func (f *flight[T]) waiting(key string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	if c, ok := f.calls[key]; ok {
		return c.waiters
	}
	return 0
}

// 20 concurrent previews of one estate share one discovery and one plan; a discover_* call
// feeds the cache a preview right after it uses.
func TestConcurrentPreviewsShareOneDiscovery(t *testing.T) {
	src := &gateSource{started: make(chan struct{}), gate: make(chan struct{}), obs: observations("pve", "proxmox", 5, sources.KindVM)}
	e := engineSyncerOn(t, src, NewDiscoveryCache(0))
	const n = 20
	ids := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	preview := func(i int) {
		defer wg.Done()
		p, err := e.Preview(t.Context(), PreviewRequest{}, nil)
		errs[i] = err
		if p != nil {
			ids[i] = p.ID
		}
	}
	wg.Add(1)
	go preview(0)
	<-src.started
	for i := 1; i < n; i++ {
		wg.Add(1)
		go preview(i)
	}
	for deadline := time.Now().Add(30 * time.Second); e.previews.waiting("|") < n; {
		if time.Now().After(deadline) {
			t.Fatalf("only %d previews joined", e.previews.waiting("|"))
		}
		time.Sleep(5 * time.Millisecond)
	}
	close(src.gate)
	wg.Wait()
	for i := range n {
		if errs[i] != nil || ids[i] == "" || ids[i] != ids[0] {
			t.Fatalf("preview %d: %q %v (first: %q)", i, ids[i], errs[i], ids[0])
		}
	}
	if got := src.calls.Load(); got != 1 {
		t.Fatalf("%d discoveries for %d concurrent previews, want 1", got, n)
	}
	if _, err := e.Preview(t.Context(), PreviewRequest{}, nil); err != nil || src.calls.Load() != 2 {
		t.Fatalf("a later preview without a cache TTL: %v, %d discoveries", err, src.calls.Load())
	}

	// A discover_proxmox call feeds the cache: the preview right after discovers nothing.
	fed := &gateSource{started: make(chan struct{}), gate: make(chan struct{}), obs: src.obs}
	close(fed.gate)
	cache := NewDiscoveryCache(time.Minute)
	es := engineSyncerOn(t, fed, cache)
	srv, err := New(Config{}, Deps{Proxmox: []sources.Source{fed}, AllSources: []sources.Source{fed}, Sync: es, Discovery: cache}, nil)
	if err != nil {
		t.Fatal(err)
	}
	c := connect(t, srv, versions[0])
	call(t, c, "discover_proxmox", map[string]any{}, nil)
	var prev PreviewOutput
	call(t, c, "preview_sync", map[string]any{}, &prev)
	if prev.PlanID == "" || fed.calls.Load() != 1 {
		t.Fatalf("preview after discover_proxmox: plan %q, %d discoveries, want 1", prev.PlanID, fed.calls.Load())
	}
}

// A caller that gives up returns at once; the shared work stops when nobody waits for it.
func TestFlightCancelledWhenNobodyWaits(t *testing.T) {
	var f flight[int]
	stopped := make(chan struct{})
	ctx, cancel := context.WithCancel(t.Context())
	go func() {
		time.Sleep(20 * time.Millisecond)
		cancel()
	}()
	_, _, err := f.do(ctx, "k", func(ctx context.Context) (int, error) {
		<-ctx.Done()
		close(stopped)
		return 0, ctx.Err()
	})
	if err == nil {
		t.Fatal("a cancelled caller got no error")
	}
	select {
	case <-stopped:
	case <-time.After(10 * time.Second):
		t.Fatal("the shared work went on after its only caller left")
	}
}

// A fresh preview (a scheduled run triggered by a change) discovers anew although a cached
// discovery is young, and feeds the cache for the previews after it.
func TestFreshPreviewBypassesTheCache(t *testing.T) {
	src := &gateSource{started: make(chan struct{}), gate: make(chan struct{}), obs: observations("pve", "proxmox", 3, sources.KindVM)}
	close(src.gate)
	e := engineSyncerOn(t, src, NewDiscoveryCache(time.Minute))
	for i, tt := range []struct {
		fresh bool
		calls int32
	}{{false, 1}, {false, 1}, {true, 2}, {false, 2}} {
		if _, err := e.Preview(t.Context(), PreviewRequest{Fresh: tt.fresh}, nil); err != nil {
			t.Fatal(err)
		}
		if got := src.calls.Load(); got != tt.calls {
			t.Fatalf("preview %d (fresh %v): %d discoveries, want %d", i, tt.fresh, got, tt.calls)
		}
	}
}
