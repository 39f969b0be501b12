package server_test

import (
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/netbox-agent/netbox-agent/server"
	"github.com/netbox-agent/netbox-agent/sources"
	syncengine "github.com/netbox-agent/netbox-agent/sync"
)

// The skipped-input counts of a discovery reach /metrics per reason, and a reason that is
// gone from the next discovery is gone from /metrics (not stuck at its old count).
func TestMetricsDiscoverySkipped(t *testing.T) {
	m := server.NewMetrics()
	scrape := func() string {
		rec := httptest.NewRecorder()
		m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
		b, _ := io.ReadAll(rec.Body)
		return string(b)
	}
	m.ObserveDiscovery("leases", "inventory", time.Millisecond, sources.Result{Skipped: []sources.Skip{
		{Reason: "expired lease", Count: 3}, {Reason: "malformed mac", Count: 1}}}, nil)
	out := scrape()
	for _, want := range []string{
		`netbox_agent_discovery_skipped{adapter="inventory",reason="expired lease",source="leases"} 3`,
		`netbox_agent_discovery_skipped{adapter="inventory",reason="malformed mac",source="leases"} 1`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	m.ObserveDiscovery("leases", "inventory", time.Millisecond, sources.Result{Skipped: []sources.Skip{{Reason: "expired lease", Count: 2}}}, nil)
	out = scrape()
	if strings.Contains(out, `reason="malformed mac"`) {
		t.Error("a reason absent from the last discovery is still exported")
	}
	if !strings.Contains(out, `reason="expired lease",source="leases"} 2`) {
		t.Error("the expired-lease count was not updated to 2")
	}
}

// A plan's possible matches and facts not written reach the MCP plan view.
func TestPlanViewCarriesPossibleMatchesAndNotWritten(t *testing.T) {
	p := &syncengine.Plan{
		PossibleMatches: []syncengine.Conflict{{Kind: "possible match", Key: "name:app01", Reason: "MACs disagree",
			Evidence: []syncengine.ConflictSide{{Ref: syncengine.SourceRef{Source: "pve-b", Adapter: "proxmox", NativeID: "qemu/101"}, Name: "app01"}}}},
		NotWritten: []syncengine.NotWritten{{Entity: "e1", Object: "nas01", Fact: syncengine.FactDisk, Value: "sda", Reason: "devices have no disks in NetBox"}},
	}
	v := server.PlanView(p)
	if len(v.PossibleMatches) != 1 || v.PossibleMatches[0].Key != "name:app01" || len(v.PossibleMatches[0].Evidence) != 1 ||
		v.PossibleMatches[0].Evidence[0].Ref.NativeID != "qemu/101" {
		t.Errorf("possible matches in the view: %+v", v.PossibleMatches)
	}
	if len(v.NotWritten) != 1 || v.NotWritten[0].Value != "sda" || v.NotWritten[0].Reason == "" {
		t.Errorf("not written in the view: %+v", v.NotWritten)
	}
}
