package planview_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/netbox-agent/netbox-agent/netbox"
	"github.com/netbox-agent/netbox-agent/sources"
	"github.com/netbox-agent/netbox-agent/sources/homeassistant"
	"github.com/netbox-agent/netbox-agent/sources/inventory"
	"github.com/netbox-agent/netbox-agent/sources/proxmox"
	"github.com/netbox-agent/netbox-agent/sources/truenas"
	"github.com/netbox-agent/netbox-agent/sync"
	"github.com/netbox-agent/netbox-agent/sync/planview"
	"github.com/netbox-agent/netbox-agent/test/lab"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden with the views' output")

// normalID stands for the plan id in the golden files: the lab's plan hashes the time it was
// made (last_seen in the ownership records), so its id differs on every run.
const normalID = "PLANID0123456789"

// golden compares got with testdata/name, or writes it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./sync/planview -run %s -update to write it)", err, t.Name())
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the view's output (rerun with -update if the change is intended):\n%s",
			path, lineDiff(string(want), string(got)))
	}
}

// lineDiff lists the lines that differ, for a readable failure.
func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	for i := range max(len(w), len(g)) {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			b.WriteString("line " + strconv.Itoa(i+1) + ":\n  want " + wl + "\n   got " + gl + "\n")
		}
	}
	return b.String()
}

// reportJSON is the report as the run report prints it (indented by two spaces).
func reportJSON(t *testing.T, r *planview.Report) []byte {
	t.Helper()
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetIndent("", "  ")
	if err := enc.Encode(r); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// agentFile is the part of the agent's config file the lab writes that builds the plan.
type agentFile struct {
	NetBox  netbox.Config `yaml:"netbox"`
	Sync    sync.Config   `yaml:"sync"`
	Sources struct {
		Proxmox       []proxmox.Config       `yaml:"proxmox"`
		TrueNAS       []truenas.Config       `yaml:"truenas"`
		HomeAssistant []homeassistant.Config `yaml:"homeassistant"`
		Inventory     []inventory.Config     `yaml:"inventory"`
	} `yaml:"sources"`
}

// labPlan is the first plan of the lab (internal/lab: the simulators and the config
// netbox-lab writes), made as --run-once makes it: every source discovered, merged, planned
// against the lab's empty NetBox.
func labPlan(t *testing.T) *sync.Plan {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	l, err := lab.Start(ctx, lab.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	raw, err := os.ReadFile(l.ConfigPath())
	if err != nil {
		t.Fatal(err)
	}
	var f agentFile
	if err := yaml.Unmarshal(raw, &f); err != nil {
		t.Fatalf("%s: %v", l.ConfigPath(), err)
	}
	log := slog.New(slog.DiscardHandler)
	nb, err := netbox.New(f.NetBox, log)
	if err != nil {
		t.Fatal(err)
	}
	var srcs []sources.Source
	add := func(s sources.Source, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		srcs = append(srcs, s)
	}
	for _, c := range f.Sources.Proxmox {
		add(proxmox.New(c, log))
	}
	for _, c := range f.Sources.TrueNAS {
		add(truenas.New(c, log))
	}
	for _, c := range f.Sources.HomeAssistant {
		add(homeassistant.New(c, log))
	}
	for _, c := range f.Sources.Inventory {
		add(inventory.New(c, log))
	}
	var obs []sources.Observation
	ran := map[string]bool{}
	for _, s := range srcs {
		res, err := s.Discover(ctx, nil)
		if err != nil {
			t.Fatalf("discover %s: %v", s.Name(), err)
		}
		obs = append(obs, res.Observations...)
		ran[s.Name()] = true
	}
	merged := sync.Merge(obs, sync.DefaultMergeConfig().WithSources(srcs))
	p, err := sync.NewEngine(sync.FromClient(nb), f.Sync, nil).Plan(ctx, merged.Entities, merged.Findings(), ran)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// normalized is the plan with its id replaced by normalID (a copy: p stays as it is).
func normalized(p *sync.Plan) *sync.Plan {
	c := *p
	c.ID = normalID
	return &c
}

// TestLabPlanViews: the table and the JSON report of the lab's first plan are the golden
// files, but for the plan id (normalized).
func TestLabPlanViews(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the lab")
	}
	p := labPlan(t)
	if p.Summary.Create < 20 {
		t.Fatalf("the lab's plan creates only %d objects", p.Summary.Create)
	}
	n := normalized(p)
	golden(t, "lab.table.golden", []byte(planview.Table(n)))
	golden(t, "lab.report.golden", reportJSON(t, planview.NewReport(n)))
}

// examplePlan has every part the views show: a create with references to planned objects,
// an update with changes (sources, reasons, NetBox objects), a stale mark, a delete,
// conflicts, possible matches with evidence, notes and facts not written.
func examplePlan() *sync.Plan {
	return &sync.Plan{ID: normalID, NetBoxVersion: "4.3", FormatVersion: sync.PlanFormat,
		Actions: []sync.Action{
			{Key: "site:homelab", Op: sync.OpCreate, Endpoint: "/api/dcim/sites/", Type: "site", Name: "Homelab",
				Body: map[string]any{"name": "Homelab", "slug": "homelab", "status": "active", "tags": []any{map[string]any{"name": "netbox-agent"}},
					"custom_fields": map[string]any{"netbox_agent": map[string]any{"created": true}}}},
			{Key: "vm:web01", Op: sync.OpCreate, Endpoint: "/api/virtualization/virtual-machines/", Type: "virtual machine",
				Name: "web01", Entity: "e1", Reason: "new", Body: map[string]any{"name": "web01", "site": map[string]any{"$ref": "site:homelab"},
					"vcpus": 2, "memory": 4096, "description": "", "comments": nil, "platform": map[string]any{"id": 4, "display": "Debian 12"}}},
			{Key: "vm:db01", Op: sync.OpUpdate, ID: 12, Endpoint: "/api/virtualization/virtual-machines/", Type: "virtual machine",
				Name: "db01", LastUpdated: "2026-11-26T02:00:00Z", Reason: "sources changed",
				Changes: []sync.Change{
					{Field: "memory", Before: 2048, After: 4096, Source: "pve-lab", Reason: "the source's value"},
					{Field: "site", Before: map[string]any{"id": 1, "name": "Old"}, After: map[string]any{"$ref": "site:homelab"}},
					{Field: "description", Before: "", After: "Zürich <db>"},
					{Field: "cluster", Before: nil, After: map[string]any{"id": 3}},
				}},
			{Key: "vm:late", Op: sync.OpUpdate, Target: "vm:web01", Endpoint: "/api/virtualization/virtual-machines/", Type: "virtual machine",
				Name: "web01", Changes: []sync.Change{{Field: "primary_ip4", Before: nil, After: map[string]any{"$ref": "ip:192.0.2.5/24"}}}},
			{Key: "vm:old01", Op: sync.OpStale, ID: 13, Endpoint: "/api/virtualization/virtual-machines/", Type: "virtual machine",
				Name: "old01", Reason: "no source sees it", Changes: []sync.Change{{Field: "tags", Before: "netbox-agent", After: "netbox-agent, netbox-agent-stale"}}},
			{Key: "ip:198.51.100.7/24", Op: sync.OpDelete, ID: 40, Endpoint: "/api/ipam/ip-addresses/", Type: "ip address",
				Name: "198.51.100.7/24", Reason: "stale for 30 days"},
		},
		Conflicts: []sync.Conflict{{Kind: "identity", Key: "serial:SN1", Reason: "two machines share a serial"}},
		PossibleMatches: []sync.Conflict{{Kind: "possible_match", Key: "name:app01", Reason: "same name, different MACs",
			Evidence: []sync.ConflictSide{
				{Name: "app01", Values: map[string]string{"entity": "e7", "macs": "BC:24:11:00:01:01", "ips": "10.1.0.11"}},
				{Name: "app01", Values: map[string]string{"entity": "e8", "macs": "BC:24:11:00:02:01", "observations": "pve-b/b/qemu/100"}},
			}}},
		Notes: []sync.Note{
			{Object: "db01", Field: "description", Reason: "kept a change made in NetBox"},
			{Object: "pve-lab", Reason: "the source failed: nothing it saw is marked stale"},
			{Reason: "refused all 3 deletes"},
		},
		NotWritten: []sync.NotWritten{
			{Entity: "e9", Object: "phone", Fact: sync.FactMAC, Value: "DA:A1:19:00:00:01", Reason: "hosts: ip"},
			{Entity: "e10", Fact: sync.FactService, Value: "tcp/443 https", Reason: "no machine"},
		},
		Summary: sync.Summary{Create: 2, Update: 2, Stale: 1, Delete: 1, Conflicts: 1, Unchanged: 5, PossibleMatches: 1, NotWritten: 2},
	}
}

// TestExamplePlanViews: every branch of the views on plans made by hand, against golden
// files.
func TestExamplePlanViews(t *testing.T) {
	for _, c := range []struct {
		name string
		plan *sync.Plan
	}{
		{"example", examplePlan()},
		{"empty", &sync.Plan{ID: normalID, NetBoxVersion: "4.7", Summary: sync.Summary{Unchanged: 31}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			golden(t, c.name+".table.golden", []byte(planview.Table(c.plan)))
			golden(t, c.name+".report.golden", reportJSON(t, planview.NewReport(c.plan)))
			want := planview.Report{ID: c.plan.ID, Summary: c.plan.Summary}
			if got := planview.SummaryReport(c.plan); !reflect.DeepEqual(*got, want) {
				t.Errorf("summary report %+v, want %+v", got, want)
			}
		})
	}
}

// TestReportListsAtMostMaxNotWritten: a plan leaving thousands of facts out has them counted,
// not all listed.
func TestReportListsAtMostMaxNotWritten(t *testing.T) {
	p := examplePlan()
	for range 3 * planview.MaxReportedNotWritten {
		p.NotWritten = append(p.NotWritten, p.NotWritten[0])
	}
	if r := planview.NewReport(p); len(r.NotWritten) != planview.MaxReportedNotWritten {
		t.Errorf("report lists %d facts not written, want %d", len(r.NotWritten), planview.MaxReportedNotWritten)
	}
}
