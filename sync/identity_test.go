package sync

import (
	"context"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/netbox-agent/netbox-agent/sources"
)

// fakeSource is a configured source that only declares what its native ids denote.
type fakeSource struct {
	name, adapter string
	enumerates    bool
}

func (f fakeSource) Name() string             { return f.name }
func (f fakeSource) Adapter() string          { return f.adapter }
func (f fakeSource) EnumeratesMachines() bool { return f.enumerates }
func (f fakeSource) Check(context.Context) error {
	return nil
}
func (f fakeSource) Discover(context.Context, sources.Progress) (sources.Result, error) {
	return sources.Result{}, nil
}

// identityConfig is the merge config a run with these sources gets: inventory and netscan
// declare that their records may overlap, the others that they enumerate machines.
func identityConfig() MergeConfig {
	return DefaultMergeConfig().WithSources([]sources.Source{
		fakeSource{"pve-a", "proxmox", true}, fakeSource{"pve-b", "proxmox", true},
		fakeSource{"homeassistant", "homeassistant", true},
		fakeSource{"inventory", "inventory", false}, fakeSource{"netscan", "netscan", false},
	})
}

func invRecord(id, name, ip, mac, serial string) sources.Observation {
	o := sources.Observation{Source: "inventory", Adapter: "inventory", NativeID: "inventory/" + id, Kind: sources.KindDevice,
		Name: name, Keys: sources.Keys{Serial: serial}}
	ifc := sources.Interface{MAC: sources.MAC(mac)}
	if ip != "" {
		ifc.IPs = []netip.Prefix{pfx(ip + "/32")}
	}
	if ip != "" || mac != "" {
		o.Interfaces = []sources.Interface{ifc}
	}
	return o
}

func vmIn(source, cluster string, vmid int, name, mac, ip string) sources.Observation {
	o := pveVM(cluster, vmid, name, "", mac)
	o.Source = source
	if ip != "" {
		o.Interfaces[0].IPs = []netip.Prefix{pfx(ip + "/24")}
	}
	return o
}

// entityOf returns the entity holding the observation source/nativeID.
func entityOf(t *testing.T, r MergeResult, source, nativeID string) Entity {
	t.Helper()
	for _, e := range r.Entities {
		if slices.ContainsFunc(e.Sources, func(s SourceRef) bool { return s.Source == source && s.NativeID == nativeID }) {
			return e
		}
	}
	t.Fatalf("no entity holds %s/%s", source, nativeID)
	return Entity{}
}

// Shape 1 of issue 13: two VMs named app01 on two Proxmox instances; the instance with the
// UUIDs (cluster A) is down. The weaker sources know cluster A's app01 (its MAC and IP); the
// name alone must not join them to cluster B's app01, whose MAC and IP differ.
func TestIdentityNameJoinRefusedWhenMACsAndIPsDisagree(t *testing.T) {
	weak := []sources.Observation{
		invRecord("hosts.csv/app01", "app01", "10.1.0.11", "BC:24:11:00:01:01", ""),
		haTracker("device_tracker.app01", "BC:24:11:00:01:01", "10.1.0.11"),
		nmapHost("10.1.0.11", "BC:24:11:00:01:01"),
	}
	hostB := vmIn("pve-b", "b", 100, "app01", "BC:24:11:00:02:01", "10.2.0.11")
	clusterA := vmIn("pve-a", "a", 100, "app01", "BC:24:11:00:01:01", "10.1.0.11")

	t.Run("cluster A down", func(t *testing.T) {
		r := Merge(append(slices.Clone(weak), hostB), identityConfig())
		b := entityOf(t, r, "pve-b", hostB.NativeID)
		if len(b.Sources) != 1 {
			t.Fatalf("cluster B's app01 took observations of another machine: %+v", b.Sources)
		}
		if slices.Contains(b.MACs, "BC:24:11:00:01:01") || slices.Contains(b.IPs, netip.MustParseAddr("10.1.0.11")) {
			t.Fatalf("cluster B's app01 carries cluster A's MAC or IP: %v %v", b.MACs, b.IPs)
		}
		if len(r.Entities) != 2 || len(r.PossibleMatches) != 1 {
			t.Fatalf("want 2 entities and 1 possible match, got %d and %d:\n%s", len(r.Entities), len(r.PossibleMatches), mustJSON(r))
		}
		pm := r.PossibleMatches[0]
		if pm.Kind != KindPossibleMatch || !strings.Contains(pm.Key, "name:app01") || len(pm.Evidence) != 2 ||
			!strings.Contains(pm.Reason, "MACs") {
			t.Fatalf("possible match lacks its evidence: %s", mustJSON(pm))
		}
		var macs []string
		for _, s := range pm.Evidence {
			macs = append(macs, s.Values["macs"])
		}
		slices.Sort(macs)
		if macs[0] != "BC:24:11:00:01:01" || macs[1] != "BC:24:11:00:02:01" {
			t.Fatalf("evidence should show both sides' MACs: %v", macs)
		}
	})
	t.Run("all up", func(t *testing.T) {
		r := Merge(append(slices.Clone(weak), hostB, clusterA), identityConfig())
		if a := entityOf(t, r, "pve-a", clusterA.NativeID); len(a.Sources) != 4 {
			t.Fatalf("cluster A's app01 should hold the 3 weaker observations too: %+v", a.Sources)
		}
		if b := entityOf(t, r, "pve-b", hostB.NativeID); len(b.Sources) != 1 {
			t.Fatalf("cluster B's app01: %+v", b.Sources)
		}
		// Two clusters prove two machines: nothing for a person to decide.
		if len(r.PossibleMatches) != 0 {
			t.Fatalf("possible matches: %s", mustJSON(r.PossibleMatches))
		}
	})
	t.Run("without the cluster field, the MACs still refuse", func(t *testing.T) {
		a, b := clusterA, hostB
		a.Parent, b.Parent = nil, nil
		r := Merge(append(slices.Clone(weak), a, b), identityConfig())
		if e := entityOf(t, r, "pve-b", b.NativeID); len(e.Sources) != 1 {
			t.Fatalf("cluster B's app01 joined: %+v", e.Sources)
		}
	})
}

// Shape 4 of issue 13: the CSV row and the /etc/hosts line of one switch, both in one
// inventory source, are one machine; two records of an enumerating source never are.
func TestIdentityOverlappingRecordsOfOneSourceJoin(t *testing.T) {
	row := invRecord("hosts.csv/sw1", "sw1", "10.0.0.2", "00:11:22:33:44:55", "SW123")
	line := invRecord("hosts/sw1", "sw1", "10.0.0.2", "", "")
	r := Merge([]sources.Observation{row, line}, identityConfig())
	if len(r.Entities) != 1 || len(r.Entities[0].Sources) != 2 {
		t.Fatalf("want one entity of both records:\n%s", mustJSON(r))
	}
	// The same two records from a source that enumerates machines stay two.
	r = Merge([]sources.Observation{row, line}, DefaultMergeConfig())
	if len(r.Entities) != 2 {
		t.Fatalf("an enumerating source's two ids joined:\n%s", mustJSON(r))
	}
	// Overlapping records that contradict each other do not join: different MACs.
	other := invRecord("dhcp/sw1", "sw1", "", "00:11:22:33:44:66", "")
	r = Merge([]sources.Observation{row, other}, identityConfig())
	if len(r.Entities) != 2 || len(r.PossibleMatches) != 1 {
		t.Fatalf("want 2 entities and a possible match:\n%s", mustJSON(r))
	}
	// Nor do different serials, whatever the source.
	s2 := invRecord("b.csv/sw1", "sw1", "10.0.0.2", "00:11:22:33:44:55", "SW999")
	r = Merge([]sources.Observation{row, s2}, identityConfig())
	if len(r.Entities) != 2 || len(r.Conflicts) != 1 {
		t.Fatalf("want 2 entities and a conflict:\n%s", mustJSON(r))
	}
}

// One name, several candidates: the agent does not pick one.
func TestIdentityAmbiguousNameIsAPossibleMatch(t *testing.T) {
	obs := []sources.Observation{
		invRecord("notes/app01", "app01", "", "", ""),
		vmIn("pve-a", "a", 100, "app01", "BC:24:11:00:01:01", "10.1.0.11"),
		vmIn("pve-b", "b", 100, "app01", "BC:24:11:00:02:01", "10.2.0.11"),
	}
	r := Merge(obs, identityConfig())
	if len(r.Entities) != 3 || len(r.PossibleMatches) != 1 || len(r.PossibleMatches[0].Evidence) != 3 {
		t.Fatalf("want 3 entities and one possible match with 3 sides:\n%s", mustJSON(r))
	}
	// Two VMs of one cluster with one name are two VMs: no question to ask.
	r = Merge([]sources.Observation{
		vmIn("pve-a", "a", 100, "test", "BC:24:11:00:01:01", ""),
		vmIn("pve-a", "a", 101, "test", "BC:24:11:00:01:02", ""),
	}, identityConfig())
	if len(r.Entities) != 2 || len(r.PossibleMatches) != 0 {
		t.Fatalf("want 2 entities, no possible match:\n%s", mustJSON(r))
	}
}

func TestIdentityLoopbackAddressesJoinNothing(t *testing.T) {
	a := invRecord("a", "a", "127.0.0.1", "", "")
	b := invRecord("b", "b", "127.0.0.1", "", "")
	if r := Merge([]sources.Observation{a, b}, identityConfig()); len(r.Entities) != 2 {
		t.Fatalf("127.0.0.1 joined two machines:\n%s", mustJSON(r))
	}
}

func TestWithSourcesReadsTheDeclarations(t *testing.T) {
	cfg := MergeConfig{Overlapping: []string{"extra"}}.WithSources([]sources.Source{
		fakeSource{"inv", "inventory", false}, fakeSource{"pve", "proxmox", true},
	})
	if !slices.Equal(cfg.Overlapping, []string{"extra", "inv"}) {
		t.Fatalf("overlapping = %v", cfg.Overlapping)
	}
}

// The plan carries possible matches with their evidence, in the JSON, and a
// saved plan with them loads with the same id.
func TestIdentityPossibleMatchesInThePlan(t *testing.T) {
	obs := []sources.Observation{
		invRecord("hosts.csv/app01", "app01", "10.1.0.11", "BC:24:11:00:01:01", ""),
		vmIn("pve-b", "b", 100, "app01", "BC:24:11:00:02:01", "10.2.0.11"),
	}
	l := newLab(t, Config{})
	p := planIdentity(t, l.eng, obs)
	if len(p.PossibleMatches) != 1 || p.Summary.PossibleMatches != 1 || len(p.Conflicts) != 0 {
		t.Fatalf("possible matches %d (summary %d), conflicts %d", len(p.PossibleMatches), p.Summary.PossibleMatches, len(p.Conflicts))
	}
	// The table's rendering of them is tested in sync/planview.
	js := mustJSON(p)
	for _, want := range []string{`"possible_matches": [`, `"kind": "possible_match"`, `"key": "name:app01"`, `"macs": "BC:24:11:00:01:01"`,
		`"macs": "BC:24:11:00:02:01"`, `"ips": "10.1.0.11"`, `"ips": "10.2.0.11"`, `"observations": "pve-b/b/qemu/100"`, `"possible_matches": 1`} {
		if !strings.Contains(js, want) {
			t.Errorf("JSON lacks %s:\n%s", want, js)
		}
	}
	path := t.TempDir() + "/plan.json"
	if err := SavePlan(path, p, "test"); err != nil {
		t.Fatal(err)
	}
	loaded, err := LoadPlan(path)
	if err != nil || loaded.ID != p.ID || len(loaded.PossibleMatches) != 1 {
		t.Fatalf("load: %v, id %s want %s", err, loaded.ID, p.ID)
	}
	// The evidence is part of the plan's id: a plan edited by hand is refused.
	loaded.PossibleMatches = nil
	if loaded.Verify() == nil {
		t.Fatal("a plan without its possible matches verifies")
	}
}
