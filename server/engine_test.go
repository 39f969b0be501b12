package server_test

import (
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/netbox-agent/netbox-agent/internal/secret"
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

func newEngineLab(t *testing.T) *engineLab {
	t.Helper()
	pveSim := proxmoxtest.NewTestServer(t, proxmoxtest.WithCluster("homelab"),
		proxmoxtest.WithLab(proxmoxtest.GenerateLab(proxmoxtest.LabSpec{Nodes: 2, Guests: 6, Seed: 3})))
	dir := t.TempDir()
	ca := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(ca, pveSim.CACertPEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	pve, err := proxmox.New(proxmox.Config{Name: "pve-lab", URL: pveSim.URL, TokenID: proxmoxtest.DefaultTokenID,
		TokenSecret: secret.New(proxmoxtest.DefaultTokenSecret), CAFile: ca, Timeout: 10 * time.Second}, nil)
	if err != nil {
		t.Fatal(err)
	}
	broken, err := proxmox.New(proxmox.Config{Name: "pve-old", URL: pveSim.URL, TokenID: proxmoxtest.DefaultTokenID,
		TokenSecret: secret.New("wrong-secret"), CAFile: ca, Timeout: 10 * time.Second}, nil)
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
			if len(plan.Actions) == 0 || len(plan.Actions[0].Changes) == 0 {
				t.Fatalf("get_plan pve1: %+v", plan)
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
