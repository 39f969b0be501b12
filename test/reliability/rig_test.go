package reliability

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	gosync "sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/netbox-agent/netbox-agent/internal/secret"
	"github.com/netbox-agent/netbox-agent/internal/testnetbox"
	"github.com/netbox-agent/netbox-agent/netbox"
	"github.com/netbox-agent/netbox-agent/netbox/netboxtest"
	"github.com/netbox-agent/netbox-agent/server"
	"github.com/netbox-agent/netbox-agent/sources"
	"github.com/netbox-agent/netbox-agent/sources/homeassistant"
	"github.com/netbox-agent/netbox-agent/sources/homeassistant/homeassistanttest"
	"github.com/netbox-agent/netbox-agent/sources/inventory"
	"github.com/netbox-agent/netbox-agent/sources/netscan"
	"github.com/netbox-agent/netbox-agent/sources/proxmox"
	"github.com/netbox-agent/netbox-agent/sources/proxmox/proxmoxtest"
	"github.com/netbox-agent/netbox-agent/sources/truenas"
	"github.com/netbox-agent/netbox-agent/sources/truenas/truenastest"
	syncengine "github.com/netbox-agent/netbox-agent/sync"
)

// Canaries: one recognisable value per secret field. None may ever show up in a log line, an
// error, a tool result, a plan, /metrics or a run report.
const (
	canaryNetBox  = "5ec7e75ec7e75ec7e75ec7e75ec7e75ec7e75ec7" // a v1 NetBox token is 40 hex digits
	canaryProxmox = "canary-pve-7f3a9c1e-token-secret"
	canaryTrueNAS = "1-canaryTrueNASkeyQ9x8w7v6u5t4s3r2q1p0"
	canaryHA      = "canary-ha-long-lived-token-4b8d2f6a"
	canaryMCP     = "canary-mcp-bearer-token-9e1c3b5d"
)

var canaries = map[string]string{
	"netbox.token": canaryNetBox, "proxmox.token_secret": canaryProxmox, "truenas.api_key": canaryTrueNAS,
	"homeassistant.token": canaryHA, "mcp.auth_token": canaryMCP,
}

// leakedCanaries names the secret fields whose canary text contains.
func leakedCanaries(text string) []string {
	var out []string
	for field, v := range canaries {
		if strings.Contains(text, v) {
			out = append(out, field)
		}
	}
	return out
}

// lockedBuffer collects log output written from many goroutines.
type lockedBuffer struct {
	mu gosync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// faultSwitch injects one NetBox fault kind into a share of write requests while on; the
// choice is seeded, so a run is repeatable for the same request order.
type faultSwitch struct {
	on       atomic.Bool
	mu       gosync.Mutex
	rng      *rand.Rand
	rate     float64
	fault    netboxtest.Fault
	onlyTags bool // fault only the tag writes (the apply lock), else everything but them
	// match, when set, picks the requests to fault instead of the seeded share
	match    func(r *http.Request, n int) bool
	injected atomic.Int64
}

func (f *faultSwitch) set(seed uint64, rate float64, fault netboxtest.Fault) {
	f.mu.Lock()
	f.rng, f.rate, f.fault = rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), rate, fault
	f.mu.Unlock()
	f.on.Store(true)
}

func (f *faultSwitch) decide(r *http.Request, n int) netboxtest.Fault {
	if !f.on.Load() || r.Method == http.MethodGet {
		return netboxtest.Fault{}
	}
	if f.match != nil {
		if !f.match(r, n) {
			return netboxtest.Fault{}
		}
		f.injected.Add(1)
		return f.fault
	}
	if f.onlyTags != (r.URL.Path == "/api/extras/tags/") {
		// the apply lock (a tag) is faulted alone, by its own rows: a fault on it stops the
		// apply before any data is written, and would hide what the data faults do
		return netboxtest.Fault{}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.rng.Float64() >= f.rate {
		return netboxtest.Fault{}
	}
	f.injected.Add(1)
	return f.fault
}

// rigOptions change a rig from its defaults.
type rigOptions struct {
	netbox        []netboxtest.Option
	sourceTimeout time.Duration // per-request timeout of the adapters (default 2s)
	writes        bool          // MCP writes on
	guests        int           // Proxmox guests (default 12)
	// target, when set, is the NetBox to use (a testnetbox target: the simulator behind the
	// proxy, or a real NetBox in make test-netbox) instead of a netboxtest server of the
	// rig's own; faults is then the switch its proxy consults, and timeout the client's.
	target  *testnetbox.Target
	faults  *faultSwitch
	timeout time.Duration
}

// rig is the agent wired as cmd/netbox-agent wires it, in process, against the simulators:
// NetBox, Proxmox, TrueNAS, Home Assistant and an inventory file, all on loopback, every
// secret a canary.
type rig struct {
	t       testing.TB
	nb      *netboxtest.Server // nil when the rig runs against a target
	target  *testnetbox.Target
	nbURL   string
	nbToken string
	pve     *proxmoxtest.Server
	nas     *truenastest.Server
	ha      *homeassistanttest.Server
	invFile string
	logs    *lockedBuffer
	log     *slog.Logger
	faults  *faultSwitch
	metrics *server.Metrics
	client  *netbox.Client
	engine  *syncengine.Engine
	srcs    []sources.Source
	syncer  *server.EngineSyncer
	mcp     *server.Server
	scans   *tripwire
	invDir  string
}

func newRig(t testing.TB, o rigOptions) *rig {
	t.Helper()
	if o.sourceTimeout == 0 {
		o.sourceTimeout = 2 * time.Second
	}
	if o.guests == 0 {
		o.guests = 12
	}
	if o.timeout == 0 {
		o.timeout = 2 * time.Second
	}
	r := &rig{t: t, logs: &lockedBuffer{}, faults: &faultSwitch{}}
	// No scrubbing handler: the components themselves must not log a secret.
	r.log = slog.New(slog.NewJSONHandler(r.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))

	if o.target != nil {
		r.target, r.faults, r.nbURL, r.nbToken = o.target, o.faults, o.target.URL, o.target.Token
		if o.target.Sim != nil {
			failOnIgnoredFilters(t, o.target.Sim)
		}
	} else {
		r.nb = netboxtest.NewServer(append([]netboxtest.Option{netboxtest.WithToken(canaryNetBox),
			netboxtest.WithFaultFunc(r.faults.decide)}, o.netbox...)...)
		t.Cleanup(r.nb.Close)
		failOnIgnoredFilters(t, r.nb)
		r.nbURL, r.nbToken = r.nb.URL, canaryNetBox
	}
	lab := proxmoxtest.GenerateLab(proxmoxtest.LabSpec{Nodes: 2, Guests: o.guests, Seed: 7})
	r.pve = proxmoxtest.NewServer(proxmoxtest.WithCluster("lab"), proxmoxtest.WithLab(lab),
		proxmoxtest.WithTokens(proxmoxtest.Token{ID: proxmoxtest.DefaultTokenID, Secret: canaryProxmox}))
	t.Cleanup(r.pve.Close)
	r.nas = truenastest.NewServer(truenastest.WithAPIKey(canaryTrueNAS))
	t.Cleanup(r.nas.Close)
	r.ha = homeassistanttest.NewServer(homeassistanttest.WithToken(canaryHA), homeassistanttest.WithDataset(homeassistanttest.SampleHome()))
	t.Cleanup(r.ha.Close)
	dir := t.TempDir()
	r.invDir = dir
	r.invFile = filepath.Join(dir, "hosts.csv")
	r.writeInventory(inventoryCSV)

	r.metrics = server.NewMetrics()
	var err error
	r.client, err = netbox.New(netbox.Config{URL: r.nbURL, Token: secret.New(r.nbToken), Timeout: o.timeout,
		RequestsPerSecond: -1}, r.log, netbox.WithObserver(r.metrics.ObserveNetBoxRequest),
		netbox.WithBackoff(5*time.Millisecond, 100*time.Millisecond), netbox.WithMaxRetryAfter(2*time.Second))
	must(t, err)
	pve, err := proxmox.New(proxmox.Config{Name: "pve", URL: r.pve.URL, TokenID: proxmoxtest.DefaultTokenID,
		TokenSecret: secret.New(canaryProxmox), Timeout: o.sourceTimeout}, r.log)
	must(t, err)
	nas, err := truenas.New(truenas.Config{Name: "nas", URL: r.nas.URL, APIKey: secret.New(canaryTrueNAS),
		AllowInsecureTransport: true, Timeout: o.sourceTimeout}, r.log)
	must(t, err)
	ha, err := homeassistant.New(homeassistant.Config{Name: "ha", URL: r.ha.URL, Token: secret.New(canaryHA),
		Timeout: o.sourceTimeout}, r.log)
	must(t, err)
	inv, err := inventory.New(inventory.Config{Name: "inv", Files: []inventory.FileSpec{{Path: r.invFile}}}, r.log)
	must(t, err)
	r.srcs = []sources.Source{pve, nas, ha, inv}
	// A real netscan behind a tripwire: the tripwire records what reached the scanner and
	// refuses (and counts as a violation) any target outside loopback.
	scan, err := netscan.New(netscan.Config{Name: "scan", AllowedNetworks: []string{"127.0.0.0/29"}, MaxHosts: 8,
		Targets: []string{"127.0.0.1"}, Profile: "ping"}, r.log)
	must(t, err)
	r.scans = &tripwire{next: scan}

	r.engine = syncengine.NewEngine(syncengine.FromClient(r.client), syncengine.Config{}, r.log)
	r.syncer, err = server.NewEngineSyncer(server.EngineSyncerConfig{Engine: r.engine, Sources: r.srcs,
		Merge: syncengine.DefaultMergeConfig(), PlanDir: filepath.Join(dir, "plans"), Metrics: r.metrics, Logger: r.log})
	must(t, err)
	secrets := []secret.Secret{secret.New(r.nbToken), secret.New(canaryProxmox), secret.New(canaryTrueNAS), secret.New(canaryHA), secret.New(canaryMCP)}
	r.mcp, err = server.New(server.Config{Listen: "127.0.0.1:0", AuthToken: secret.New(canaryMCP), WritesEnabled: o.writes}, server.Deps{
		Logger: r.log, Proxmox: []sources.Source{pve}, HomeAssistant: []sources.Source{ha}, TrueNAS: []server.PoolLister{nas},
		Scanner:   r.scans,
		Inventory: inv, InventoryPaths: []string{dir},
		AllSources: r.srcs, Sync: r.syncer,
		Ready: server.Readiness(func(ctx context.Context) error {
			_, _, err := syncengine.FromClient(r.client).Version(ctx)
			return err
		}, len(r.srcs)),
		EffectiveConfig: func() any {
			return map[string]any{"netbox": map[string]any{"url": r.nbURL, "token": secret.New(r.nbToken)}}
		},
		Secrets: secrets, Version: "reliability",
	}, r.metrics)
	must(t, err)
	return r
}

const inventoryCSV = "name,ip,mac,serial,role\nprinter,192.168.1.30,00:1b:a9:00:00:30,PRN-0001,printer\nswitch,192.168.1.2,00:1b:a9:00:00:02,SW-0002,switch\n"

func (r *rig) writeInventory(content string) {
	r.t.Helper()
	must(r.t, os.WriteFile(r.invFile, []byte(content), 0o600))
}

// snapshot is every object the agent writes, from whichever NetBox the rig uses.
func (r *rig) snapshot() map[string][]map[string]any {
	if r.target != nil {
		return r.target.Snapshot()
	}
	return r.nb.Snapshot()
}

// sync previews and applies once through the MCP server's syncer, as preview_sync and
// apply_sync do. The error is the apply's (a faulted apply may report one).
func (r *rig) sync(ctx context.Context) (*server.Plan, *server.ApplyReport, error) {
	plan, err := r.syncer.Preview(ctx, server.PreviewRequest{}, nil)
	if err != nil {
		return nil, nil, fmt.Errorf("preview: %w", err)
	}
	rep, err := r.syncer.Apply(ctx, plan.ID, nil)
	return plan, rep, err
}

// cleanSync syncs and fails the test unless every object was written.
func (r *rig) cleanSync() (*server.Plan, *server.ApplyReport) {
	r.t.Helper()
	plan, rep, err := r.sync(context.Background())
	if err != nil {
		r.t.Fatalf("clean sync: %v", err)
	}
	if n := failedResults(rep); n > 0 {
		r.t.Fatalf("clean sync: %d objects failed", n)
	}
	return plan, rep
}

func failedResults(rep *server.ApplyReport) int {
	n := 0
	if rep == nil {
		return 0
	}
	for _, res := range rep.Results {
		if res.Status != server.ResultOK {
			n++
		}
	}
	return n
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

var serverPreviewAll = server.PreviewRequest{}

func resultCount(rep *server.ApplyReport) int {
	if rep == nil {
		return 0
	}
	return len(rep.Results)
}

func actionCount(p *server.Plan) int {
	if p == nil {
		return -1
	}
	return len(p.Actions)
}

// firstLine shortens an error for a table cell.
func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	if len(s) > 160 {
		s = s[:160] + "..."
	}
	return s
}

// tripwire is the scanner the MCP server calls. The server checks a target's shape and the
// scanner (netscan) its allowlist and size; a target outside loopback is handed to netscan
// with a context already cancelled, so that nmap cannot start even if netscan let it through:
// netscan must refuse it by itself, or the tripwire records a violation.
type tripwire struct {
	next       server.SubnetScanner
	mu         gosync.Mutex
	calls      int
	violations []string
}

func (w *tripwire) Scan(ctx context.Context, req netscan.ScanRequest, progress sources.Progress) (sources.Result, error) {
	w.mu.Lock()
	w.calls++
	w.mu.Unlock()
	for _, t := range req.Targets {
		if loopbackTarget(t) {
			continue
		}
		dead, cancel := context.WithCancel(ctx)
		cancel()
		res, err := w.next.Scan(dead, req, progress)
		if err == nil || errors.Is(err, context.Canceled) {
			w.mu.Lock()
			w.violations = append(w.violations, t)
			w.mu.Unlock()
			return sources.Result{}, fmt.Errorf("tripwire: netscan accepted %q, outside loopback (nmap was not started)", t)
		}
		return res, err // netscan's refusal
	}
	return w.next.Scan(ctx, req, progress)
}

func (w *tripwire) counts() (calls int, violations []string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.calls, append([]string(nil), w.violations...)
}

func loopbackTarget(t string) bool {
	if p, err := netip.ParsePrefix(t); err == nil {
		return netip.MustParsePrefix("127.0.0.0/8").Contains(p.Addr()) && p.Bits() >= 8
	}
	if a, err := netip.ParseAddr(t); err == nil {
		return a.Is4() && a.IsLoopback()
	}
	if from, to, ok := strings.Cut(t, "-"); ok {
		a, err := netip.ParseAddr(from)
		if err != nil || !a.Is4() || !a.IsLoopback() {
			return false
		}
		if b, err := netip.ParseAddr(to); err == nil {
			return b.Is4() && b.IsLoopback()
		}
		n, err := strconv.Atoi(to)
		return err == nil && n >= 0 && n <= 255
	}
	return false
}

// serveHTTP serves the rig's MCP server on a loopback port until the test ends; it returns
// the base URL.
func (r *rig) serveHTTP() string {
	r.t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(r.t, err)
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan error, 1)
	go func() { stopped <- r.mcp.Serve(ctx, ln, nil) }()
	r.t.Cleanup(func() {
		cancel()
		select {
		case <-stopped:
		case <-time.After(10 * time.Second):
			r.t.Error("MCP server did not stop")
		}
	})
	return "http://" + ln.Addr().String()
}

// mcpClient connects an MCP client over streamable HTTP with the bearer token.
func mcpClient(t testing.TB, baseURL string) *client.Client {
	t.Helper()
	c, err := newMCPClient(context.Background(), baseURL)
	must(t, err)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func newMCPClient(ctx context.Context, baseURL string) (*client.Client, error) {
	tr, err := transport.NewStreamableHTTP(baseURL+"/mcp", transport.WithHTTPHeaders(map[string]string{"Authorization": "Bearer " + canaryMCP}))
	if err != nil {
		return nil, err
	}
	c := client.NewClient(tr, client.WithProtocolVersion(mcp.ProtocolVersion20251125))
	if err := c.Start(ctx); err != nil {
		return nil, err
	}
	_, err = c.Initialize(ctx, mcp.InitializeRequest{Params: mcp.InitializeParams{ProtocolVersion: mcp.ProtocolVersion20251125,
		ClientInfo: mcp.Implementation{Name: "reliability", Version: "1"}}})
	if err != nil {
		_ = c.Close()
		return nil, err
	}
	return c, nil
}

// toolText is a tool result as text: its text content and its structured content.
func toolText(res *mcp.CallToolResult) string {
	if res == nil {
		return ""
	}
	var parts []string
	for _, c := range res.Content {
		if tc, ok := c.(mcp.TextContent); ok {
			parts = append(parts, tc.Text)
		}
	}
	if res.StructuredContent != nil {
		b, _ := json.Marshal(res.StructuredContent)
		parts = append(parts, string(b))
	}
	return strings.Join(parts, "\n")
}
