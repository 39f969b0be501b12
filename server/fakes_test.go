package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/netbox-agent/netbox-agent/internal/secret"
	"github.com/netbox-agent/netbox-agent/sources"
	"github.com/netbox-agent/netbox-agent/sources/inventory"
	"github.com/netbox-agent/netbox-agent/sources/netscan"
	"github.com/netbox-agent/netbox-agent/sources/truenas"
)

// canary is a secret value that must never appear in any output.
const canary = "canary-5e1f-never-print-me"

var versions = []string{mcp.ProtocolVersion20251125, mcp.ProtocolVersion20260728}

// fakeSource is a sources.Source returning fixed observations or an error.
type fakeSource struct {
	name, adapter string
	obs           []sources.Observation
	err           error
	calls         int
	mu            sync.Mutex
}

func (f *fakeSource) Name() string    { return f.name }
func (f *fakeSource) Adapter() string { return f.adapter }
func (f *fakeSource) Check(context.Context) error {
	return f.err
}
func (f *fakeSource) Discover(ctx context.Context, progress sources.Progress) (sources.Result, error) {
	f.mu.Lock()
	f.calls++
	f.mu.Unlock()
	if f.err != nil {
		return sources.Result{}, f.err
	}
	for i := range f.obs {
		progress.Report(i+1, len(f.obs), "item")
	}
	return sources.Result{Observations: append([]sources.Observation(nil), f.obs...), Warnings: []sources.Warning{{Item: "node pve3", Message: "offline"}}}, nil
}

func observations(source, adapter string, n int, kind sources.Kind) []sources.Observation {
	out := make([]sources.Observation, 0, n)
	for i := range n {
		o := sources.Observation{
			Source: source, Adapter: adapter, NativeID: fmt.Sprintf("%s/%03d", source, i), Kind: kind,
			Name: fmt.Sprintf("host-%03d", i), SeenAt: time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC),
			Facts:  sources.Facts{Status: "active", Platform: "Debian 12"},
			Parent: &sources.Parent{Cluster: "lab", Node: "pve1"},
			Interfaces: []sources.Interface{{Name: "eth0", MAC: sources.MAC(fmt.Sprintf("BC:24:11:00:%02X:%02X", i/256, i%256)),
				IPs: []netip.Prefix{netip.MustParsePrefix(fmt.Sprintf("198.18.%d.%d/16", (i+10)/256, (i+10)%256))}}},
			Services: []sources.Service{{Name: "ssh", Protocol: "tcp", Ports: []int{22}}},
		}
		o.Normalize()
		out = append(out, o)
	}
	return out
}

type fakePools struct {
	name  string
	pools []truenas.Pool
	err   error
}

func (f fakePools) Name() string { return f.name }
func (f fakePools) Pools(context.Context) ([]truenas.Pool, error) {
	return f.pools, f.err
}

// fakeScanner records requests; when block is set it reports progress and waits for ctx.
type fakeScanner struct {
	mu        sync.Mutex
	requests  []netscan.ScanRequest
	block     bool
	cancelled chan error
}

func (f *fakeScanner) Scan(ctx context.Context, req netscan.ScanRequest, progress sources.Progress) (sources.Result, error) {
	f.mu.Lock()
	f.requests = append(f.requests, req)
	f.mu.Unlock()
	progress.Report(0, 256, "nmap ping scan of 256 addresses")
	if f.block {
		for i := 1; ; i++ {
			select {
			case <-ctx.Done():
				f.cancelled <- ctx.Err()
				return sources.Result{}, fmt.Errorf("nmap stopped: %w", ctx.Err())
			case <-time.After(20 * time.Millisecond):
				progress.Report(i, 256, "scanning")
			}
		}
	}
	progress.Report(128, 256, "half way")
	time.Sleep(5 * time.Millisecond) // mcp-go may drop the last notification before a result
	return sources.Result{Observations: observations("netscan", "netscan", 3, sources.KindHost)}, nil
}

func (f *fakeScanner) got() []netscan.ScanRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]netscan.ScanRequest(nil), f.requests...)
}

// fakeInventory "parses" a file by reading it: one observation per non-empty line.
type fakeInventory struct{}

func (fakeInventory) ReadFile(_ context.Context, path string, _ inventory.Format) (sources.Result, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return sources.Result{}, fmt.Errorf("inventory %s: %w", path, err)
	}
	var res sources.Result
	for i, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if line = strings.TrimSpace(line); line != "" {
			res.Observations = append(res.Observations, sources.Observation{Source: "inventory", Adapter: "inventory",
				NativeID: fmt.Sprintf("%s:%d", filepath.Base(path), i+1), Kind: sources.KindDevice, Name: line})
		}
	}
	return res, nil
}

// fakeSyncer makes a plan of n actions; Apply writes them all, or blocks until ctx ends
// when blockApply is set (then it returns a cancelled report).
type fakeSyncer struct {
	mu         sync.Mutex
	actions    int
	conflicts  int
	previews   int
	applied    []string
	blockApply bool
	applyStart chan struct{}
	applyDelay time.Duration
	failRef    string
}

func (f *fakeSyncer) Preview(_ context.Context, req PreviewRequest, progress sources.Progress) (*Plan, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.previews++
	progress.Report(1, 3, "discovered")
	progress.Report(2, 3, "merged")
	time.Sleep(5 * time.Millisecond) // mcp-go may drop the last notification before a result
	p := &Plan{ID: fmt.Sprintf("plan-%d", f.previews), CreatedAt: time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC), Sources: req.Sources, Scope: req.Scope, Actions: []PlanAction{}}
	if p.Sources == nil {
		p.Sources = []string{"pve", "ha"}
	}
	for i := range f.actions {
		op, typ := OpCreate, "device"
		if i%3 == 1 {
			op, typ = OpUpdate, "virtual machine"
		}
		a := PlanAction{Ref: fmt.Sprintf("%s:host-%03d", typ, i), Op: op, ObjectType: typ, Name: fmt.Sprintf("host-%03d", i), Reason: "seen by pve"}
		if op == OpUpdate {
			a.NetBoxID = int64(100 + i)
			a.Changes = []FieldChange{{Field: "vcpus", Before: "2", After: "4", Source: "pve"}}
		}
		p.Actions = append(p.Actions, a)
	}
	for i := range f.conflicts {
		p.Conflicts = append(p.Conflicts, Conflict{Kind: "identity", Key: fmt.Sprintf("name:nas%d", i), Reason: "two different serials",
			Evidence: []ConflictSide{{Ref: SourceRef{Source: "pve", Adapter: "proxmox", NativeID: "pve/node/nas"}, Values: map[string]string{"serial": "A1"}}}})
	}
	return p, nil
}

func (f *fakeSyncer) Apply(ctx context.Context, planID string, progress sources.Progress) (*ApplyReport, error) {
	f.mu.Lock()
	f.applied = append(f.applied, planID)
	n, block, fail, delay := f.actions, f.blockApply, f.failRef, f.applyDelay
	f.mu.Unlock()
	r := &ApplyReport{PlanID: planID, StartedAt: time.Now()}
	if block {
		if f.applyStart != nil {
			close(f.applyStart)
		}
		<-ctx.Done()
		for i := range n {
			r.Results = append(r.Results, ObjectResult{Ref: fmt.Sprintf("x:%d", i), Op: OpCreate, ObjectType: "device", Name: "h", Status: ResultSkipped, Error: "cancelled"})
		}
		r.Cancelled, r.FinishedAt = true, time.Now()
		return r, ctx.Err()
	}
	if f.applyStart != nil && !block {
		close(f.applyStart)
	}
	time.Sleep(delay)
	for i := range n {
		typ := "device"
		if i%3 == 1 {
			typ = "virtual machine"
		}
		ref := fmt.Sprintf("%s:host-%03d", typ, i)
		res := ObjectResult{Ref: ref, Op: OpCreate, ObjectType: typ, Name: fmt.Sprintf("host-%03d", i), Status: ResultOK, NetBoxID: int64(i + 1)}
		if ref == fail {
			res.Status, res.Error, res.NetBoxID = ResultFailed, "400 Bad Request: name: this field is required", 0
		}
		r.Results = append(r.Results, res)
		progress.Report(i+1, n, "wrote "+ref)
	}
	time.Sleep(5 * time.Millisecond)
	r.FinishedAt = time.Now()
	return r, nil
}

func (f *fakeSyncer) appliedPlans() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.applied...)
}

// syncBuffer is a goroutine-safe log sink.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// fixture is a server with every backend faked.
type fixture struct {
	srv       *Server
	logs      *syncBuffer
	scanner   *fakeScanner
	syncer    *fakeSyncer
	proxmox   *fakeSource
	inventory string // the configured inventory directory
}

func newFixture(t *testing.T, cfg Config, mutate ...func(*Deps)) *fixture {
	t.Helper()
	logs := &syncBuffer{}
	invDir := t.TempDir()
	if err := os.WriteFile(filepath.Join(invDir, "hosts.yaml"), []byte("alpha\nbeta\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	f := &fixture{
		logs: logs, inventory: invDir,
		scanner: &fakeScanner{cancelled: make(chan error, 1)},
		syncer:  &fakeSyncer{actions: 7, conflicts: 1},
		proxmox: &fakeSource{name: "pve", adapter: "proxmox", obs: observations("pve", "proxmox", 5, sources.KindVM)},
	}
	ha := &fakeSource{name: "ha", adapter: "homeassistant", obs: observations("ha", "homeassistant", 2, sources.KindDevice)}
	deps := Deps{
		Logger:        slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Proxmox:       []sources.Source{f.proxmox, &fakeSource{name: "pve-broken", adapter: "proxmox", err: errors.New("401 Unauthorized (token " + canary + ")")}},
		HomeAssistant: []sources.Source{ha},
		TrueNAS: []PoolLister{fakePools{name: "nas", pools: []truenas.Pool{
			{Name: "tank", Status: "ONLINE", Healthy: true, SizeBytes: 4 << 40, FreeBytes: 1 << 40, Datasets: []truenas.Dataset{{Name: "tank/media", Type: "FILESYSTEM"}}},
			{Name: "backup", Status: "DEGRADED", Healthy: false, SizeBytes: 2 << 40},
		}}},
		Scanner:        f.scanner,
		Inventory:      fakeInventory{},
		InventoryPaths: []string{invDir},
		AllSources:     []sources.Source{f.proxmox, ha},
		Sync:           f.syncer,
		Ready:          func(context.Context) error { return nil },
		EffectiveConfig: func() any {
			return map[string]any{"netbox": map[string]any{"url": "http://127.0.0.1:1", "token": secret.New(canary)}}
		},
		Secrets: []secret.Secret{secret.New(canary)},
		Version: "test",
	}
	for _, m := range mutate {
		m(&deps)
	}
	srv, err := New(cfg, deps, nil)
	if err != nil {
		t.Fatal(err)
	}
	f.srv = srv
	return f
}

// yesMan answers every elicitation with the given action and content.
type yesMan struct {
	action  mcp.ElicitationResponseAction
	content map[string]any
	mu      sync.Mutex
	asked   []string
}

func (y *yesMan) Elicit(_ context.Context, req mcp.ElicitationRequest) (*mcp.ElicitationResult, error) {
	y.mu.Lock()
	y.asked = append(y.asked, req.Params.Message)
	y.mu.Unlock()
	return &mcp.ElicitationResult{ElicitationResponse: mcp.ElicitationResponse{Action: y.action, Content: y.content}}, nil
}

func (y *yesMan) questions() []string {
	y.mu.Lock()
	defer y.mu.Unlock()
	return append([]string(nil), y.asked...)
}

// connect starts an in-process client on the given protocol version.
func connect(t testing.TB, s *Server, version string, opts ...client.ClientOption) *client.Client {
	t.Helper()
	c, err := client.NewInProcessClientWithOptions(s.MCPServer(), append([]client.ClientOption{client.WithProtocolVersion(version)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	ctx := t.Context()
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	res, err := c.Initialize(ctx, mcp.InitializeRequest{Params: mcp.InitializeParams{
		ProtocolVersion: version, ClientInfo: mcp.Implementation{Name: "server-test", Version: "1"},
	}})
	if err != nil {
		t.Fatalf("initialize %s: %v", version, err)
	}
	if res.ProtocolVersion != version {
		t.Fatalf("negotiated %s, want %s", res.ProtocolVersion, version)
	}
	return c
}

// call invokes a tool and decodes its structured content into out (when not nil).
func call(t *testing.T, c *client.Client, name string, args map[string]any, out any) *mcp.CallToolResult {
	t.Helper()
	res, err := c.CallTool(t.Context(), mcp.CallToolRequest{Params: mcp.CallToolParams{Name: name, Arguments: args}})
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if out != nil && !res.IsError {
		b, err := json.Marshal(res.StructuredContent)
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s: structured content %s: %v", name, b, err)
		}
	}
	return res
}

func resultText(res *mcp.CallToolResult) string {
	var parts []string
	for _, c := range res.Content {
		if tc, ok := c.(mcp.TextContent); ok {
			parts = append(parts, tc.Text)
		}
	}
	return strings.Join(parts, "\n")
}

// FindEntities makes the fake an EntityFinder (find_host is offered): it knows no machines.
func (f *fakeSyncer) FindEntities(context.Context, string, string, int) ([]EntityView, error) {
	return nil, nil
}
