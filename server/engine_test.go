package server_test

import (
	"context"
	"io"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/netbox-agent/netbox-agent/internal/secret"
	"github.com/netbox-agent/netbox-agent/internal/tlsconfig"
	"github.com/netbox-agent/netbox-agent/netbox"
	"github.com/netbox-agent/netbox-agent/netbox/netboxtest"
	"github.com/netbox-agent/netbox-agent/server"
	"github.com/netbox-agent/netbox-agent/sources"
	"github.com/netbox-agent/netbox-agent/sources/proxmox"
	"github.com/netbox-agent/netbox-agent/sources/proxmox/proxmoxtest"
	syncengine "github.com/netbox-agent/netbox-agent/sync"
)

type engineLab struct {
	nb      *netboxtest.Server
	metrics *server.Metrics
	planDir string
	pve     sources.Source
	broken  sources.Source
}

func newEngineLab(t *testing.T) *engineLab { return newEngineLabOf(t, 2, 6) }

func newEngineLabOf(t *testing.T, nodes, guests int) *engineLab {
	t.Helper()
	pveSim := proxmoxtest.NewTestServer(t, proxmoxtest.WithCluster("homelab"),
		proxmoxtest.WithLab(proxmoxtest.GenerateLab(proxmoxtest.LabSpec{Nodes: nodes, Guests: guests, Seed: 3})))
	dir := t.TempDir()
	ca := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(ca, pveSim.CACertPEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	pve, err := proxmox.New(proxmox.Config{Name: "pve-lab", URL: pveSim.URL, TokenID: proxmoxtest.DefaultTokenID,
		TokenSecret: secret.New(proxmoxtest.DefaultTokenSecret), Settings: tlsconfig.Settings{CAFile: ca}, Timeout: 10 * time.Second}, nil)
	if err != nil {
		t.Fatal(err)
	}
	broken, err := proxmox.New(proxmox.Config{Name: "pve-old", URL: pveSim.URL, TokenID: proxmoxtest.DefaultTokenID,
		TokenSecret: secret.New("wrong-secret"), Settings: tlsconfig.Settings{CAFile: ca}, Timeout: 10 * time.Second}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return &engineLab{nb: netboxtest.NewTestServer(t), metrics: server.NewMetrics(), planDir: filepath.Join(dir, "plans"), pve: pve, broken: broken}
}

// agent builds a server as cmd/netbox-agent would: netbox client (observed by the metrics),
// engine, engine syncer with a plan directory.
func (l *engineLab) agent(t *testing.T) *server.Server {
	t.Helper()
	nbc, err := netbox.New(netbox.Config{URL: l.nb.URL, Token: secret.New(l.nb.Token()), Timeout: 10 * time.Second, RequestsPerSecond: -1},
		nil, netbox.WithObserver(l.metrics.ObserveNetBoxRequest))
	if err != nil {
		t.Fatal(err)
	}
	srcs := []sources.Source{l.pve, l.broken}
	syncer, err := server.NewEngineSyncer(server.EngineSyncerConfig{
		Engine: syncengine.NewEngine(syncengine.FromClient(nbc), syncengine.Config{}, nil), Sources: srcs,
		Merge: syncengine.DefaultMergeConfig(), PlanDir: l.planDir, Metrics: l.metrics,
	})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(server.Config{WritesEnabled: true}, server.Deps{
		Proxmox: srcs, AllSources: srcs, Sync: syncer,
		Secrets: []secret.Secret{secret.New(proxmoxtest.DefaultTokenSecret), secret.New(l.nb.Token())},
	}, l.metrics)
	if err != nil {
		t.Fatal(err)
	}
	return srv
}

// preview_sync -> get_plan -> apply_sync against the real engine and the NetBox simulator; a
// second preview finds nothing to do; a plan previewed by one process is applied by another.
func TestSyncToolsWithEngine(t *testing.T) {
	for _, v := range []string{mcp.ProtocolVersion20251125, mcp.ProtocolVersion20260728} {
		t.Run(v, func(t *testing.T) {
			lab := newEngineLab(t)
			c := connectTo(t, lab.agent(t), v)

			var prev server.PreviewOutput
			callJSON(t, c, "preview_sync", map[string]any{}, &prev)
			if prev.Summary.Create == 0 || len(prev.SourceErrors) != 1 || prev.SourceErrors[0].Source != "pve-old" {
				t.Fatalf("preview: %+v", prev)
			}
			var plan server.GetPlanOutput
			callJSON(t, c, "get_plan", map[string]any{"plan_id": prev.PlanID, "name": "pve1", "limit": 200}, &plan)
			if len(plan.Actions) == 0 || plan.Actions[0].ObjectType != "device" {
				t.Fatalf("get_plan pve1: %+v", plan)
			}
			// A page lists creates briefly; ref shows one with every field it writes.
			var one server.GetPlanOutput
			callJSON(t, c, "get_plan", map[string]any{"plan_id": prev.PlanID, "ref": plan.Actions[0].Ref}, &one)
			if len(one.Actions) != 1 || len(one.Actions[0].Changes) == 0 {
				t.Fatalf("get_plan ref %s: %+v", plan.Actions[0].Ref, one)
			}

			res, err := c.CallTool(t.Context(), mcp.CallToolRequest{Params: mcp.CallToolParams{Name: "apply_sync", Arguments: map[string]any{"plan_id": prev.PlanID}}})
			if err != nil || !res.IsError || !strings.Contains(res.Content[0].(mcp.TextContent).Text, "not confirmed") {
				t.Fatalf("apply without confirmation: %v %+v", err, res)
			}
			if devices := lab.nb.Objects("/api/dcim/devices/"); len(devices) != 0 {
				t.Fatalf("an unconfirmed apply wrote %d devices", len(devices))
			}

			// Another process (a new stdio session) applies the plan this one previewed.
			other := connectTo(t, lab.agent(t), v)
			var applied server.ApplyOutput
			callJSON(t, other, "apply_sync", map[string]any{"plan_id": prev.PlanID, "confirm": true}, &applied)
			if applied.Status != "applied" || applied.Summary.OK != prev.Summary.Total || applied.Summary.Failed != 0 {
				t.Fatalf("apply: %+v", applied)
			}
			if devices := lab.nb.Objects("/api/dcim/devices/"); len(devices) != 2 {
				t.Fatalf("NetBox has %d devices, want the 2 nodes", len(devices))
			}

			var again server.PreviewOutput
			callJSON(t, c, "preview_sync", map[string]any{"sources": []string{"pve-lab"}}, &again)
			if again.Summary.Total != 0 || !strings.Contains(again.Next, "nothing to apply") {
				t.Fatalf("second preview is not empty: %+v", again.Summary)
			}

			var st server.StatusOutput
			callJSON(t, c, "sync_status", map[string]any{"check_sources": true}, &st)
			if len(st.Sources) != 2 || st.Sources[0].Source != "pve-lab" || !st.Sources[0].OK || st.Sources[1].OK || st.Sources[1].Error == "" {
				t.Fatalf("sync_status sources: %+v", st.Sources)
			}

			_, metrics := scrape(t, lab.metrics)
			for _, want := range []string{`netbox_agent_netbox_requests_total{method="GET",status="200"}`, `netbox_agent_netbox_requests_total{method="POST",status="201"}`,
				`netbox_agent_writes_total{object_type="device",op="create",status="ok"} 2`, `netbox_agent_discovery_errors_total{adapter="proxmox",source="pve-old"}`} {
				if !strings.Contains(metrics, want) {
					t.Errorf("metrics lack %s", want)
				}
			}
		})
	}
}

func TestEngineSyncerScope(t *testing.T) {
	lab := newEngineLab(t)
	c := connectTo(t, lab.agent(t), mcp.ProtocolVersion20251125)
	var prev server.PreviewOutput
	callJSON(t, c, "preview_sync", map[string]any{"sources": []string{"pve-lab"}, "scope": "device"}, &prev)
	if prev.Summary.ByObjectType["virtual machine"] != 0 || prev.Summary.ByObjectType["device"] == 0 {
		t.Fatalf("scoped preview: %+v", prev.Summary)
	}
	res, err := c.CallTool(t.Context(), mcp.CallToolRequest{Params: mcp.CallToolParams{Name: "preview_sync", Arguments: map[string]any{"scope": "toasters"}}})
	if err != nil || !res.IsError || !strings.Contains(res.Content[0].(mcp.TextContent).Text, "scope") || !strings.Contains(res.Content[0].(mcp.TextContent).Text, "toasters") {
		t.Fatalf("bad scope: %v %+v", err, res)
	}
}

func scrape(t *testing.T, m *server.Metrics) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	return rec.Code, rec.Body.String()
}

// stdioTo serves s over stdio pipes (as a client that starts the agent would see it) and
// connects mcp-go's stdio client to it.
func stdioTo(t *testing.T, s *server.Server, version string) *client.Client {
	t.Helper()
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = s.ServeStdio(ctx, inR, outW)
		_ = outW.Close()
	}()
	c := client.NewClient(transport.NewIO(outR, inW, io.NopCloser(strings.NewReader(""))), client.WithProtocolVersion(version))
	t.Cleanup(func() {
		_ = c.Close()
		_ = inW.Close()
		cancel()
		<-done
	})
	if err := c.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Initialize(t.Context(), mcp.InitializeRequest{Params: mcp.InitializeParams{ProtocolVersion: version, ClientInfo: mcp.Implementation{Name: "stdio-test", Version: "1"}}}); err != nil {
		t.Fatal(err)
	}
	return c
}

// Faults 3 and 7 over stdio with the real engine: a new process finds the latest plan in the
// state directory (get_plan {} and plans/last), and applying an applied plan again (in yet
// another process) is "already applied; nothing to do", with nothing sent to NetBox.
func TestLatestPlanAndReapplyAcrossProcesses(t *testing.T) {
	lab := newEngineLab(t)
	first := stdioTo(t, lab.agent(t), mcp.ProtocolVersion20251125)
	var prev server.PreviewOutput
	callJSON(t, first, "preview_sync", map[string]any{}, &prev)

	second := stdioTo(t, lab.agent(t), mcp.ProtocolVersion20251125)
	var plan server.GetPlanOutput
	callJSON(t, second, "get_plan", map[string]any{}, &plan)
	if plan.PlanID != prev.PlanID {
		t.Fatalf("get_plan {} in a new process: plan %q, want %q", plan.PlanID, prev.PlanID)
	}
	res, err := second.ReadResource(t.Context(), mcp.ReadResourceRequest{Params: mcp.ReadResourceParams{URI: server.ResourceLastPlan}})
	if err != nil || len(res.Contents) == 0 || !strings.Contains(res.Contents[0].(mcp.TextResourceContents).Text, prev.PlanID) {
		t.Fatalf("plans/last in a new process: %v %+v", err, res)
	}
	var applied server.ApplyOutput
	callJSON(t, second, "apply_sync", map[string]any{"plan_id": prev.PlanID, "confirm": true}, &applied)
	if applied.Status != "applied" {
		t.Fatalf("apply: %+v", applied)
	}
	devices := len(lab.nb.Objects("/api/dcim/devices/"))

	for name, c := range map[string]*client.Client{"same process": second, "new process": stdioTo(t, lab.agent(t), mcp.ProtocolVersion20251125)} {
		r, err := c.CallTool(t.Context(), mcp.CallToolRequest{Params: mcp.CallToolParams{Name: "apply_sync", Arguments: map[string]any{"plan_id": prev.PlanID, "confirm": true}}})
		if err != nil || r.IsError {
			t.Fatalf("%s: re-apply: %v %+v", name, err, r)
		}
		if st := r.StructuredContent.(map[string]any)["status"]; st != "already_applied" {
			t.Fatalf("%s: re-apply status %v, want already_applied", name, st)
		}
		if text := r.Content[0].(mcp.TextContent).Text; !strings.Contains(text, "already applied; nothing to do") {
			t.Fatalf("%s: re-apply text %q", name, text)
		}
	}
	if got := len(lab.nb.Objects("/api/dcim/devices/")); got != devices {
		t.Fatalf("re-applying changed NetBox: %d devices, was %d", got, devices)
	}
}

// find_host over stdio with the real engine: one machine by name, then by one of its IPs and
// one of its MACs, explained with its sources, join keys, NetBox standing and actions.
func TestFindHost(t *testing.T) {
	lab := newEngineLab(t)
	c := stdioTo(t, lab.agent(t), mcp.ProtocolVersion20251125)
	var prev server.PreviewOutput
	callJSON(t, c, "preview_sync", map[string]any{}, &prev)

	var plan server.GetPlanOutput
	callJSON(t, c, "get_plan", map[string]any{"op": "create", "object_type": "virtual machine", "limit": 1}, &plan)
	if len(plan.Actions) != 1 {
		t.Fatalf("no VM create in the plan: %+v", plan.Summary)
	}
	vm := plan.Actions[0].Name
	var byName server.FindHostOutput
	callJSON(t, c, "find_host", map[string]any{"query": vm}, &byName)
	if len(byName.Hosts) == 0 {
		t.Fatalf("find_host %q found nothing", vm)
	}
	h := byName.Hosts[0]
	if h.Entity.Name != vm || len(h.Entity.Sources) == 0 || len(h.Actions) == 0 ||
		!strings.Contains(h.NetBox, "creates") {
		t.Fatalf("find_host %q: %+v", vm, h)
	}
	var queries []string
	if len(h.Entity.IPs) > 0 {
		queries = append(queries, h.Entity.IPs[0])
	}
	if len(h.Entity.MACs) > 0 {
		queries = append(queries, strings.ToLower(h.Entity.MACs[0]))
	}
	if len(queries) == 0 {
		t.Fatalf("%s has neither an IP nor a MAC: %+v", vm, h.Entity)
	}
	for _, q := range queries {
		var out server.FindHostOutput
		callJSON(t, c, "find_host", map[string]any{"query": q}, &out)
		if len(out.Hosts) != 1 || out.Hosts[0].Entity.ID != h.Entity.ID {
			t.Fatalf("find_host %q: %+v, want %s", q, out.Hosts, h.Entity.ID)
		}
	}
	var none server.FindHostOutput
	callJSON(t, c, "find_host", map[string]any{"query": "no-such-host-anywhere"}, &none)
	if len(none.Hosts) != 0 {
		t.Fatalf("found %+v", none.Hosts)
	}
}
