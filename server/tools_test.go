package server

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/netbox-agent/netbox-agent/sources"
	"github.com/netbox-agent/netbox-agent/sources/inventory"
)

var update = flag.Bool("update", false, "rewrite the golden tool schemas in testdata/tools")

var allTools = []string{"discover_proxmox", "discover_homeassistant", "list_truenas_pools", "scan_subnet", "read_inventory",
	"preview_sync", "get_plan", "apply_sync", "sync_status", "list_conflicts", "find_host"}

// TestToolSchemasGolden snapshots every tool's contract (description, annotations, input and
// output schema): a change shows as a diff here. Run with -update to accept it.
func TestToolSchemasGolden(t *testing.T) {
	f := newFixture(t, Config{WritesEnabled: true})
	c := connect(t, f.srv, mcp.ProtocolVersion20251125)
	res, err := c.ListTools(t.Context(), mcp.ListToolsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tool := range res.Tools {
		names = append(names, tool.Name)
		got, err := json.MarshalIndent(tool, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, '\n')
		if !strings.Contains(string(got), `"inputSchema"`) || !strings.Contains(string(got), `"outputSchema"`) || !strings.Contains(string(got), `"properties"`) {
			t.Errorf("%s: schema missing: %s", tool.Name, got)
		}
		path := filepath.Join("testdata", "tools", tool.Name+".json")
		if *update {
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, got, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%s: %v (run go test ./server -run TestToolSchemasGolden -update)", tool.Name, err)
		}
		if string(want) != string(got) {
			t.Errorf("%s: tool contract changed (run with -update if intended)\n--- want\n%s\n--- got\n%s", tool.Name, want, got)
		}
	}
	slices.Sort(names)
	want := slices.Clone(allTools)
	slices.Sort(want)
	if !slices.Equal(names, want) {
		t.Fatalf("tools = %v, want %v", names, want)
	}
}

func TestAnnotations(t *testing.T) {
	f := newFixture(t, Config{})
	for _, name := range allTools {
		tool := f.srv.MCPServer().GetTool(name)
		if tool == nil {
			t.Fatalf("%s not registered", name)
		}
		a := tool.Tool.Annotations
		destructive := name == "apply_sync"
		if a.ReadOnlyHint == nil || *a.ReadOnlyHint == destructive {
			t.Errorf("%s: readOnlyHint = %v", name, a.ReadOnlyHint)
		}
		if a.DestructiveHint == nil || *a.DestructiveHint != destructive {
			t.Errorf("%s: destructiveHint = %v", name, a.DestructiveHint)
		}
		if a.IdempotentHint == nil || *a.IdempotentHint == destructive {
			t.Errorf("%s: idempotentHint = %v", name, a.IdempotentHint)
		}
		if a.OpenWorldHint == nil {
			t.Errorf("%s: openWorldHint unset", name)
		}
	}
}

// A backend that is not configured has no tool: nothing is faked.
func TestToolsOnlyForConfiguredBackends(t *testing.T) {
	tests := []struct {
		name string
		deps Deps
		want []string
	}{
		{"nothing", Deps{}, nil},
		{"proxmox only", Deps{Proxmox: []sources.Source{&fakeSource{name: "pve", adapter: "proxmox"}}}, []string{"discover_proxmox"}},
		{"inventory without paths", Deps{Inventory: fakeInventory{}}, nil},
		{"sync", Deps{Sync: &fakeSyncer{}}, []string{"preview_sync", "get_plan", "apply_sync", "sync_status", "list_conflicts", "find_host"}},
		{"scanner that can run", Deps{Scanner: &fakeScanner{}, ScannerReady: func() error { return nil }}, []string{"scan_subnet"}},
		{"scanner without nmap", Deps{Scanner: &fakeScanner{}, ScannerReady: func() error { return errors.New("nmap is not installed") }}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := New(Config{}, tt.deps, nil)
			if err != nil {
				t.Fatal(err)
			}
			if got := s.Tools(); !slices.Equal(got, tt.want) {
				t.Fatalf("tools = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestDiscoveryTools(t *testing.T) {
	for _, v := range versions {
		t.Run(v, func(t *testing.T) {
			f := newFixture(t, Config{})
			c := connect(t, f.srv, v)

			var out DiscoverOutput
			res := call(t, c, "discover_proxmox", map[string]any{"limit": 2}, &out)
			if res.IsError {
				t.Fatalf("discover_proxmox: %s", resultText(res))
			}
			if out.Total != 5 || len(out.Items) != 2 || !out.Page.HasMore || out.Page.NextOffset != 2 || out.ByKind["virtual_machine"] != 5 {
				t.Fatalf("page 1: %+v", out)
			}
			if len(out.Sources) != 2 || out.Sources[1].Error == "" || out.WarningsTotal != 1 {
				t.Fatalf("per-source outcome: %+v", out.Sources)
			}
			res = call(t, c, "discover_proxmox", map[string]any{"offset": 4, "limit": 2}, &out)
			if res.IsError || len(out.Items) != 1 || out.Items[0].NativeID != "pve/004" || out.Page.HasMore {
				t.Fatalf("last page: %+v %s", out, resultText(res))
			}
			res = call(t, c, "discover_proxmox", map[string]any{"source": "pve", "native_id": "pve/003"}, &out)
			if res.IsError || out.Detail == nil || out.Detail.Name != "host-003" || len(out.Detail.Interfaces) != 1 || out.Detail.Interfaces[0].IPs[0] != "198.18.0.13/16" {
				t.Fatalf("detail: %+v %s", out.Detail, resultText(res))
			}

			res = call(t, c, "discover_proxmox", map[string]any{"source": "nope"}, nil)
			if !res.IsError || !strings.Contains(resultText(res), `"nope" is not a configured proxmox instance`) {
				t.Fatalf("unknown source: %s", resultText(res))
			}
			res = call(t, c, "discover_proxmox", map[string]any{"source": "pve-broken"}, nil)
			if !res.IsError || !strings.Contains(resultText(res), "pve-broken") || strings.Contains(resultText(res), canary) {
				t.Fatalf("failing source: %s", resultText(res))
			}
			res = call(t, c, "discover_proxmox", map[string]any{"limit": 1000}, nil)
			if !res.IsError || !strings.Contains(resultText(res), "limit") {
				t.Fatalf("bad limit: %s", resultText(res))
			}
			res = call(t, c, "discover_proxmox", map[string]any{"kind": "toaster"}, nil)
			if !res.IsError {
				t.Fatalf("kind outside the enum accepted: %s", resultText(res))
			}

			res = call(t, c, "discover_homeassistant", map[string]any{}, &out)
			if res.IsError || out.Total != 2 || out.Items[0].Source != "ha" {
				t.Fatalf("discover_homeassistant: %+v %s", out, resultText(res))
			}

			var pools PoolsOutput
			res = call(t, c, "list_truenas_pools", map[string]any{}, &pools)
			if res.IsError || pools.TotalPools != 2 || pools.Unhealthy != 1 || pools.Instances[0].Pools[0].Name != "backup" ||
				pools.Instances[0].Pools[1].DatasetCount != 1 || pools.Instances[0].Pools[1].Datasets != nil {
				t.Fatalf("list_truenas_pools: %+v %s", pools, resultText(res))
			}
			res = call(t, c, "list_truenas_pools", map[string]any{"include_datasets": true}, &pools)
			if res.IsError || len(pools.Instances[0].Pools[1].Datasets) != 1 {
				t.Fatalf("list_truenas_pools with datasets: %+v", pools)
			}
		})
	}
}

func TestScanSubnet(t *testing.T) {
	for _, v := range versions {
		t.Run(v, func(t *testing.T) {
			f := newFixture(t, Config{})
			c := connect(t, f.srv, v)
			var progress []float64
			var mu sync.Mutex
			c.OnNotification(func(n mcp.JSONRPCNotification) {
				if n.Method == "notifications/progress" {
					mu.Lock()
					progress = append(progress, n.Params.AdditionalFields["progress"].(float64))
					mu.Unlock()
				}
			})
			var out DiscoverOutput
			res, err := c.CallTool(t.Context(), mcp.CallToolRequest{Params: mcp.CallToolParams{
				Name: "scan_subnet", Arguments: map[string]any{"targets": []string{"198.18.0.0/24", " 198.18.1.7 ", "198.18.2.1-20"}, "ports": []string{"22", "8000-8100"}},
				Meta: &mcp.Meta{ProgressToken: "scan-1"},
			}})
			if err != nil || res.IsError {
				t.Fatalf("scan_subnet: %v %s", err, resultText(res))
			}
			b, _ := json.Marshal(res.StructuredContent)
			_ = json.Unmarshal(b, &out)
			if out.Total != 3 || out.ByKind["host"] != 3 {
				t.Fatalf("scan result: %+v", out)
			}
			got := f.scanner.got()
			if len(got) != 1 || !slices.Equal(got[0].Targets, []string{"198.18.0.0/24", "198.18.1.7", "198.18.2.1-20"}) || !slices.Equal(got[0].Ports, []string{"22", "8000-8100"}) {
				t.Fatalf("scanner got %+v", got)
			}
			mu.Lock()
			n := len(progress)
			mu.Unlock()
			if n == 0 {
				t.Fatal("no progress notification during the scan")
			}

			// Anything that is not an address never reaches the scanner.
			for _, bad := range []string{"-oN /tmp/x", "example.com", "198.18.0.0/24 -sS", "$(reboot)", "fe80::1%eth0"} {
				res := call(t, c, "scan_subnet", map[string]any{"targets": []string{bad}}, nil)
				if !res.IsError || !strings.Contains(resultText(res), "targets[0]") {
					t.Fatalf("target %q accepted: %s", bad, resultText(res))
				}
			}
			res = call(t, c, "scan_subnet", map[string]any{"targets": []string{"198.18.0.1"}, "ports": []string{"0"}}, nil)
			if !res.IsError || !strings.Contains(resultText(res), `ports[0]: "0"`) {
				t.Fatalf("port 0 accepted: %s", resultText(res))
			}
			if len(f.scanner.got()) != 1 {
				t.Fatalf("bad requests reached the scanner: %+v", f.scanner.got())
			}
		})
	}
}

func TestScanSubnetCancel(t *testing.T) {
	for _, v := range versions {
		t.Run(v, func(t *testing.T) {
			f := newFixture(t, Config{})
			f.scanner.block = true
			c := connect(t, f.srv, v)
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			started := make(chan struct{}, 1)
			c.OnNotification(func(n mcp.JSONRPCNotification) {
				if n.Method == "notifications/progress" {
					select {
					case started <- struct{}{}:
					default:
					}
				}
			})
			errc := make(chan error, 1)
			go func() {
				res, err := c.CallTool(ctx, mcp.CallToolRequest{Params: mcp.CallToolParams{
					Name: "scan_subnet", Arguments: map[string]any{"targets": []string{"198.18.0.0/24"}},
					Meta: &mcp.Meta{ProgressToken: "scan-cancel"},
				}})
				if err == nil && !res.IsError {
					err = errors.New("no error")
				} else {
					err = nil
				}
				errc <- err
			}()
			select {
			case <-started:
			case <-time.After(5 * time.Second):
				t.Fatal("scan never reported progress")
			}
			cancel()
			select {
			case err := <-f.scanner.cancelled:
				if err == nil {
					t.Fatal("scanner saw no cancellation")
				}
			case <-time.After(5 * time.Second):
				t.Fatal("the scan kept running after the client cancelled")
			}
			// mcp-go v1.2.1 may still answer a cancelled call with isError "context canceled".
			if err := <-errc; err != nil {
				t.Fatal("cancelled call returned a success")
			}
		})
	}
}

func TestReadInventory(t *testing.T) {
	f := newFixture(t, Config{})
	outside := filepath.Join(t.TempDir(), "secret.yaml")
	if err := os.WriteFile(outside, []byte("root\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(f.inventory, "link.yaml")); err != nil {
		t.Fatal(err)
	}
	for _, v := range versions {
		t.Run(v, func(t *testing.T) {
			c := connect(t, f.srv, v)
			var out DiscoverOutput
			res := call(t, c, "read_inventory", map[string]any{"path": "hosts.yaml"}, &out)
			if res.IsError || out.Total != 2 || out.Items[0].Name != "alpha" {
				t.Fatalf("relative path: %+v %s", out, resultText(res))
			}
			res = call(t, c, "read_inventory", map[string]any{"path": filepath.Join(f.inventory, "hosts.yaml"), "native_id": "hosts.yaml:2"}, &out)
			if res.IsError || out.Detail == nil || out.Detail.Name != "beta" {
				t.Fatalf("absolute path: %+v %s", out, resultText(res))
			}
			for _, bad := range []string{"../secret.yaml", outside, "link.yaml", "/etc/passwd", filepath.Join(f.inventory, "..", filepath.Base(outside)), "missing.yaml"} {
				res := call(t, c, "read_inventory", map[string]any{"path": bad}, nil)
				if !res.IsError || !strings.Contains(resultText(res), "path:") {
					t.Fatalf("path %q allowed: %s", bad, resultText(res))
				}
				if strings.Contains(resultText(res), "root") {
					t.Fatalf("path %q leaked the file: %s", bad, resultText(res))
				}
			}
			// No path: every configured file (the link out is skipped by the fake reader's error? no: listed, so refused by resolve)
			res = call(t, c, "read_inventory", map[string]any{}, &out)
			if res.IsError {
				t.Fatalf("all files: %s", resultText(res))
			}
		})
	}
}

func TestSyncFlow(t *testing.T) {
	for _, v := range versions {
		t.Run(v, func(t *testing.T) {
			f := newFixture(t, Config{WritesEnabled: true})
			c := connect(t, f.srv, v)

			var prev PreviewOutput
			res := call(t, c, "preview_sync", map[string]any{"sources": []string{"pve"}}, &prev)
			if res.IsError || prev.PlanID != "plan-1" || prev.Summary.Create != 5 || prev.Summary.Update != 2 || prev.Summary.Conflicts != 1 ||
				len(prev.FirstActions) != 7 || !strings.Contains(prev.Next, "apply_sync") {
				t.Fatalf("preview: %+v %s", prev, resultText(res))
			}
			res = call(t, c, "preview_sync", map[string]any{"sources": []string{"nope"}}, nil)
			if !res.IsError || !strings.Contains(resultText(res), `sources[0]: "nope"`) {
				t.Fatalf("unknown source: %s", resultText(res))
			}

			var plan GetPlanOutput
			res = call(t, c, "get_plan", map[string]any{"limit": 3}, &plan)
			if res.IsError || plan.PlanID != "plan-1" || len(plan.Actions) != 3 || plan.Page.Total != 7 || plan.Page.NextOffset != 3 {
				t.Fatalf("get_plan page: %+v %s", plan, resultText(res))
			}
			res = call(t, c, "get_plan", map[string]any{"plan_id": "plan-1", "ref": "virtual machine:host-001"}, &plan)
			if res.IsError || len(plan.Actions) != 1 || plan.Actions[0].Changes[0].After != "4" {
				t.Fatalf("get_plan ref: %+v %s", plan, resultText(res))
			}
			res = call(t, c, "get_plan", map[string]any{"op": "update"}, &plan)
			if res.IsError || plan.Page.Total != 2 {
				t.Fatalf("get_plan op filter: %+v", plan)
			}
			res = call(t, c, "get_plan", map[string]any{"plan_id": "nope"}, nil)
			if !res.IsError || !strings.Contains(resultText(res), `plan_id: "nope" is unknown`) {
				t.Fatalf("unknown plan: %s", resultText(res))
			}

			// No elicitation in this client and no confirm: refused, nothing written.
			res = call(t, c, "apply_sync", map[string]any{"plan_id": "plan-1"}, nil)
			if !res.IsError || !strings.Contains(resultText(res), "not confirmed") || len(f.syncer.appliedPlans()) != 0 {
				t.Fatalf("apply without confirmation: %s (applied %v)", resultText(res), f.syncer.appliedPlans())
			}
			res = call(t, c, "apply_sync", map[string]any{}, nil)
			if !res.IsError {
				t.Fatalf("apply without plan id accepted: %s", resultText(res))
			}
			res = call(t, c, "apply_sync", map[string]any{"plan_id": "plan-9", "confirm": true}, nil)
			if !res.IsError || !strings.Contains(resultText(res), `"plan-9" is unknown`) {
				t.Fatalf("unknown plan applied: %s", resultText(res))
			}

			f.syncer.failRef = "device:host-003"
			var applied ApplyOutput
			res = call(t, c, "apply_sync", map[string]any{"plan_id": "plan-1", "confirm": true}, &applied)
			if res.IsError || applied.Status != "partial" || applied.Summary.OK != 6 || applied.Summary.Failed != 1 ||
				applied.Results[0].Status != ResultFailed || applied.ResultsTotal != 7 {
				t.Fatalf("apply: %+v %s", applied, resultText(res))
			}
			if got := f.syncer.appliedPlans(); !slices.Equal(got, []string{"plan-1"}) {
				t.Fatalf("applied %v", got)
			}

			var st StatusOutput
			res = call(t, c, "sync_status", map[string]any{"check_sources": true}, &st)
			if res.IsError || !st.Ready || st.LastPlanID != "plan-1" || len(st.LastRuns) != 2 || st.LastRuns[0].Kind != "apply" ||
				st.LastRuns[0].Status != "partial" || st.OpenConflicts != 1 || len(st.Sources) != 2 || !st.Sources[0].Checked || !st.Sources[0].OK {
				t.Fatalf("sync_status: %+v %s", st, resultText(res))
			}
		})
	}
}

func TestApplyRefusedWhileWritesOff(t *testing.T) {
	for _, v := range versions {
		t.Run(v, func(t *testing.T) {
			f := newFixture(t, Config{})
			c := connect(t, f.srv, v)
			var prev PreviewOutput
			call(t, c, "preview_sync", map[string]any{}, &prev)
			if !strings.Contains(prev.Next, "writes_enabled: false") {
				t.Fatalf("preview does not say writes are off: %q", prev.Next)
			}
			res := call(t, c, "apply_sync", map[string]any{"plan_id": prev.PlanID, "confirm": true}, nil)
			if !res.IsError || !strings.Contains(resultText(res), "writes are off") || len(f.syncer.appliedPlans()) != 0 {
				t.Fatalf("apply with writes off: %s", resultText(res))
			}
		})
	}
}

func TestApplyElicitation(t *testing.T) {
	tests := []struct {
		name        string
		answer      *yesMan
		wantStatus  string
		wantApplied int
	}{
		{"accepted", &yesMan{action: mcp.ElicitationResponseActionAccept, content: map[string]any{"confirm": true}}, "applied", 1},
		{"accepted but unticked", &yesMan{action: mcp.ElicitationResponseActionAccept, content: map[string]any{"confirm": false}}, "declined", 0},
		{"declined", &yesMan{action: mcp.ElicitationResponseActionDecline}, "declined", 0},
		{"cancelled", &yesMan{action: mcp.ElicitationResponseActionCancel}, "declined", 0},
	}
	for _, v := range versions {
		for _, tt := range tests {
			t.Run(v+"/"+tt.name, func(t *testing.T) {
				f := newFixture(t, Config{WritesEnabled: true})
				answer := &yesMan{action: tt.answer.action, content: tt.answer.content}
				c := connect(t, f.srv, v, client.WithElicitationHandler(answer))
				var prev PreviewOutput
				call(t, c, "preview_sync", map[string]any{}, &prev)
				var out ApplyOutput
				res := call(t, c, "apply_sync", map[string]any{"plan_id": prev.PlanID}, &out)
				if res.IsError || out.Status != tt.wantStatus {
					t.Fatalf("status %q, want %q: %s", out.Status, tt.wantStatus, resultText(res))
				}
				if q := answer.questions(); len(q) != 1 || !strings.Contains(q[0], prev.PlanID) || !strings.Contains(q[0], "5 create, 2 update") {
					t.Fatalf("questions asked: %q", q)
				}
				if got := len(f.syncer.appliedPlans()); got != tt.wantApplied {
					t.Fatalf("applied %d times, want %d", got, tt.wantApplied)
				}
			})
		}
	}
}

func TestResourcesAndPrompts(t *testing.T) {
	for _, v := range versions {
		t.Run(v, func(t *testing.T) {
			f := newFixture(t, Config{WritesEnabled: true})
			c := connect(t, f.srv, v)
			read := func(uri string) (string, error) {
				res, err := c.ReadResource(t.Context(), mcp.ReadResourceRequest{Params: mcp.ReadResourceParams{URI: uri}})
				if err != nil {
					return "", err
				}
				return res.Contents[0].(mcp.TextResourceContents).Text, nil
			}
			cfg, err := read(ResourceConfig)
			if err != nil || strings.Contains(cfg, canary) || !strings.Contains(cfg, "[redacted]") || !strings.Contains(cfg, "127.0.0.1:1") {
				t.Fatalf("config resource: %v %s", err, cfg)
			}
			if _, err := read(ResourceLastPlan); err == nil {
				t.Fatal("last plan before any preview")
			}
			var prev PreviewOutput
			call(t, c, "preview_sync", map[string]any{}, &prev)
			call(t, c, "apply_sync", map[string]any{"plan_id": prev.PlanID, "confirm": true}, nil)
			plan, err := read(ResourceLastPlan)
			if err != nil || !strings.Contains(plan, `"id":"plan-1"`) || !strings.Contains(plan, "host-006") {
				t.Fatalf("last plan: %v %s", err, plan)
			}
			byID, err := read("netbox-agent://plans/plan-1")
			if err != nil || byID != plan {
				t.Fatalf("plan by id: %v", err)
			}
			run, err := read(ResourceLastRun)
			if err != nil || !strings.Contains(run, `"plan_id":"plan-1"`) || strings.Count(run, `"status":"ok"`) != 7 {
				t.Fatalf("last run: %v %s", err, run)
			}

			prompts, err := c.ListPrompts(t.Context(), mcp.ListPromptsRequest{})
			if err != nil || len(prompts.Prompts) != 2 {
				t.Fatalf("prompts: %v %+v", err, prompts)
			}
			p, err := c.GetPrompt(t.Context(), mcp.GetPromptRequest{Params: mcp.GetPromptParams{Name: "review_changes", Arguments: map[string]string{"sources": "pve, ha"}}})
			if err != nil {
				t.Fatal(err)
			}
			text := p.Messages[0].Content.(mcp.TextContent).Text
			if !strings.Contains(text, `preview_sync with sources ["pve", "ha"]`) || !strings.Contains(text, "Only if I say yes") {
				t.Fatalf("prompt: %s", text)
			}
		})
	}
}

func TestApplyAndPreviewSendProgress(t *testing.T) {
	for _, v := range versions {
		t.Run(v, func(t *testing.T) {
			f := newFixture(t, Config{WritesEnabled: true})
			c := connect(t, f.srv, v)
			var mu sync.Mutex
			got := map[string]int{}
			c.OnNotification(func(n mcp.JSONRPCNotification) {
				if n.Method == "notifications/progress" {
					mu.Lock()
					got[fmt.Sprint(n.Params.AdditionalFields["progressToken"])]++
					mu.Unlock()
				}
			})
			res, err := c.CallTool(t.Context(), mcp.CallToolRequest{Params: mcp.CallToolParams{Name: "preview_sync", Arguments: map[string]any{}, Meta: &mcp.Meta{ProgressToken: "p"}}})
			if err != nil || res.IsError {
				t.Fatal(err)
			}
			res, err = c.CallTool(t.Context(), mcp.CallToolRequest{Params: mcp.CallToolParams{Name: "apply_sync", Arguments: map[string]any{"plan_id": "plan-1", "confirm": true}, Meta: &mcp.Meta{ProgressToken: "a"}}})
			if err != nil || res.IsError {
				t.Fatal(err)
			}
			mu.Lock()
			defer mu.Unlock()
			// Progress is throttled to 4 a second: the fake's quick steps send the first one.
			if got["p"] < 1 || got["a"] < 1 || got["a"] > 2 {
				t.Fatalf("progress notifications: %v", got)
			}
		})
	}
}

// Runs made outside the tools (the scheduler) show in sync_status, get_plan and apply_sync.
func TestScheduledRunsRecorded(t *testing.T) {
	f := newFixture(t, Config{WritesEnabled: true})
	plan, _ := f.syncer.Preview(t.Context(), PreviewRequest{}, nil)
	f.srv.RecordPlan(plan)
	f.srv.RecordApply(&ApplyReport{PlanID: plan.ID, StartedAt: time.Now(), FinishedAt: time.Now(), Results: []ObjectResult{{Ref: "a", Op: OpCreate, ObjectType: "device", Name: "a", Status: ResultFailed, Error: "400"}}})
	c := connect(t, f.srv, mcp.ProtocolVersion20251125)
	var st StatusOutput
	call(t, c, "sync_status", map[string]any{}, &st)
	if len(st.LastRuns) != 2 || st.LastRuns[0].Kind != "scheduled apply" || st.LastRuns[0].Status != "failed" || st.LastPlanID != plan.ID {
		t.Fatalf("sync_status: %+v", st)
	}
	var got GetPlanOutput
	if res := call(t, c, "get_plan", map[string]any{"plan_id": plan.ID}, &got); res.IsError || got.Page.Total != 7 {
		t.Fatalf("get_plan of a scheduled plan: %s", resultText(res))
	}
}

// read_inventory offers exactly the formats the inventory adapter reads, in its order.
func TestReadInventoryFormatsFromAdapter(t *testing.T) {
	f := newFixture(t, Config{})
	c := connect(t, f.srv, mcp.ProtocolVersion20251125)
	tools, err := c.ListTools(t.Context(), mcp.ListToolsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	var want []any
	for _, f := range inventory.Formats() {
		want = append(want, string(f))
	}
	for _, tool := range tools.Tools {
		if tool.Name != "read_inventory" {
			continue
		}
		var schema struct {
			Input struct {
				Properties map[string]struct {
					Enum []any `json:"enum"`
				} `json:"properties"`
			} `json:"inputSchema"`
		}
		b, _ := json.Marshal(tool)
		if err := json.Unmarshal(b, &schema); err != nil {
			t.Fatal(err)
		}
		if got := schema.Input.Properties["format"].Enum; !slices.Equal(got, want) {
			t.Errorf("format enum %v, want %v", got, want)
		}
		for _, f := range want {
			if !strings.Contains(tool.Description, f.(string)) {
				t.Errorf("description does not name %s: %s", f, tool.Description)
			}
		}
		return
	}
	t.Fatal("read_inventory not offered")
}
