package sync

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/netbox-agent/netbox-agent/internal/secret"
	"github.com/netbox-agent/netbox-agent/internal/testnetbox"
	"github.com/netbox-agent/netbox-agent/netbox"
	"github.com/netbox-agent/netbox-agent/sources"
)

// sharedNetBox is the one NetBox several agents write to: the simulator, or the real NetBox
// testnetbox picks from NETBOX_TEST_URL / NETBOX_TEST_TOKEN (reset and locked for the test).
type sharedNetBox struct {
	t  *testing.T
	nb *testnetbox.Target
}

func newSharedNetBox(t *testing.T) *sharedNetBox {
	t.Helper()
	return &sharedNetBox{t: t, nb: testnetbox.New(t)}
}

// engine is one agent: its own client and engine, its own config, the shared NetBox.
func (n *sharedNetBox) engine(cfg Config) *Engine {
	n.t.Helper()
	c, err := netbox.New(netbox.Config{URL: n.nb.URL, Token: secret.New(n.nb.Token), Timeout: 30 * time.Second,
		RequestsPerSecond: -1}, nil, netbox.WithBackoff(time.Millisecond, 50*time.Millisecond))
	if err != nil {
		n.t.Fatal(err)
	}
	return NewEngine(FromClient(c), cfg, nil)
}

// list reads every object of an endpoint ("dcim/devices") back through the API.
func (n *sharedNetBox) list(ep string) []map[string]any { return n.nb.Objects(ep) }

// writeCount is the number of write requests the agents sent so far (both tiers).
func (n *sharedNetBox) writeCount() int { return n.nb.Writes() }

// agentObs is what agent i of n discovers: its own Proxmox node with two VMs, plus three
// kinds of overlap with the other agents: a NAS that agents 0 and 1 both reach (their own
// source names, same serial), a core switch in an inventory file every agent reads (same
// source name and native id everywhere), and a scan of a shared subnet (three hosts) that
// also reaches the next agent's node address.
func agentObs(i, n int, withNAS bool, dropVM string) []sources.Observation {
	pve := fmt.Sprintf("pve-%d", i)
	node := sources.Observation{Source: pve, Adapter: "proxmox", NativeID: pve + "/node/pve" + fmt.Sprint(i),
		Kind: sources.KindDevice, Name: fmt.Sprintf("pve%d", i), Keys: sources.Keys{Serial: fmt.Sprintf("SN-PVE-%d", i)},
		Facts: sources.Facts{Manufacturer: "Supermicro", Model: "SYS-E300", Role: "hypervisor", Status: "active"},
		Interfaces: []sources.Interface{{Name: "vmbr0", MAC: sources.MAC(fmt.Sprintf("00:25:90:00:%02X:01", i)), Type: "bridge",
			IPs: []netip.Prefix{netip.MustParsePrefix(fmt.Sprintf("10.1.%d.10/24", i))}}}}
	obs := []sources.Observation{node}
	for j, vm := range []string{"a", "b"} {
		name := fmt.Sprintf("vm-%d-%s", i, vm)
		if name == dropVM {
			continue
		}
		o := vmObs(fmt.Sprint(100+j), name, fmt.Sprintf("cluster-%d", i), node.Name,
			fmt.Sprintf("BC:24:11:00:%02X:%02X", i, j), fmt.Sprintf("10.1.%d.%d/24", i, 100+j))
		o.Source, o.NativeID = pve, pve+"/qemu/"+fmt.Sprint(100+j)
		obs = append(obs, o)
	}
	if withNAS && i < 2 {
		nas := fmt.Sprintf("nas-%d", i)
		obs = append(obs, sources.Observation{Source: nas, Adapter: "truenas", NativeID: nas + "/system", Kind: sources.KindDevice,
			Name: "nas", Keys: sources.Keys{Serial: "TN-SHARED", SystemUUID: "4c4c4544-0042-3510-8052-b2c04f4e0001"},
			Facts:      sources.Facts{Manufacturer: "iXsystems", Model: "TrueNAS Mini X", Role: "nas"},
			Interfaces: []sources.Interface{{Name: "enp1s0", MAC: "00:25:90:AA:00:02", IPs: []netip.Prefix{netip.MustParsePrefix("10.9.0.20/24")}}}})
	}
	obs = append(obs, sources.Observation{Source: "inventory", Adapter: "inventory", NativeID: "inventory/switch-core",
		Kind: sources.KindDevice, Name: "switch-core", Keys: sources.Keys{Serial: "SW-CORE-1"},
		Facts: sources.Facts{Manufacturer: "Ubiquiti", Model: "USW-24", Role: "switch"}})
	scan := fmt.Sprintf("scan-%d", i)
	next := (i + 1) % n
	for _, a := range []string{"10.9.0.1", "10.9.0.2", "10.9.0.3", fmt.Sprintf("10.1.%d.10", next)} {
		obs = append(obs, sources.Observation{Source: scan, Adapter: "netscan", NativeID: "nmap/" + a, Kind: sources.KindHost,
			Keys: sources.Keys{IPs: []netip.Addr{netip.MustParseAddr(a)}}})
	}
	return obs
}

// multiRun is one agent's run: plan and apply; it returns the plan.
func multiRun(t *testing.T, eng *Engine, obs []sources.Observation, ran map[string]bool) *Plan {
	t.Helper()
	mr := Merge(obs, DefaultMergeConfig())
	if ran == nil {
		ran = ranAll(obs)
	}
	p, err := eng.Plan(context.Background(), mr.Entities, mr.Conflicts, ran)
	if err != nil {
		t.Fatalf("plan: %v", err)
	}
	rep, err := eng.Apply(context.Background(), p, nil)
	if err != nil {
		t.Fatalf("apply: %v", err)
	}
	for _, r := range rep.Results {
		if r.Status != StatusDone {
			t.Errorf("%s %s: %s: %s", r.Op, r.Key, r.Status, r.Error)
		}
	}
	return p
}

func ownerConflicts(p *Plan) []string {
	var out []string
	for _, c := range p.Conflicts {
		if c.Kind == "owner" {
			out = append(out, c.Evidence[0].Values["netbox"]+" "+c.Evidence[0].Values["owner"])
		}
	}
	slices.Sort(out)
	return out
}

func instanceOf(t *testing.T, o map[string]any) string {
	t.Helper()
	rec, ok := ownership(Object(o), "netbox_agent")
	if !ok {
		t.Fatalf("%v has no ownership record", o["display"])
	}
	return rec.Instance
}

// TestManyAgentsOneNetBox runs two and five agents with overlapping sources against one
// NetBox, interleaved: they converge (no duplicates, each object owned by exactly one
// instance, every agent's own objects its own), the rounds after write nothing, and an
// object several instances see is one conflict in each non-owner's plan, the same every round.
func TestManyAgentsOneNetBox(t *testing.T) {
	for _, n := range []int{2, 5} {
		t.Run(fmt.Sprintf("%d agents", n), func(t *testing.T) {
			nb := newSharedNetBox(t)
			engs := make([]*Engine, n)
			for i := range engs {
				engs[i] = nb.engine(Config{Instance: fmt.Sprintf("site-%d", i)})
			}
			var last [][]string
			for round := 1; round <= 4; round++ {
				before := nb.writeCount()
				var conflicts [][]string
				for i, eng := range engs {
					p := multiRun(t, eng, agentObs(i, n, true, ""), nil)
					if round >= 3 && !p.Empty() {
						t.Errorf("round %d, agent %d: plan not empty after convergence: %+v", round, i, p.Summary)
						for _, a := range p.Actions {
							t.Logf("  %s %s %s %v", a.Op, a.Type, a.Name, a.Changes)
						}
					}
					oc := ownerConflicts(p)
					if len(oc) != len(slices.Compact(slices.Clone(oc))) {
						t.Errorf("round %d, agent %d: an object reported twice: %v", round, i, oc)
					}
					conflicts = append(conflicts, oc)
				}
				if round >= 3 {
					if w := nb.writeCount(); w != before {
						t.Errorf("round %d: %d write requests after convergence", round, w-before)
					}
					for i := range conflicts {
						if !slices.Equal(conflicts[i], last[i]) {
							t.Errorf("round %d, agent %d: conflicts changed (a flap): %v, was %v", round, i, conflicts[i], last[i])
						}
					}
				}
				last = conflicts
			}

			devices := nb.list("dcim/devices")
			byName := map[string][]map[string]any{}
			for _, d := range devices {
				byName[d["name"].(string)] = append(byName[d["name"].(string)], d)
			}
			want := []string{"nas", "switch-core"}
			for i := range n {
				want = append(want, fmt.Sprintf("pve%d", i))
			}
			for _, name := range want {
				if len(byName[name]) != 1 {
					t.Fatalf("device %s: %d objects, want 1", name, len(byName[name]))
				}
			}
			if len(devices) != len(want) {
				t.Errorf("%d devices, want %d", len(devices), len(want))
			}
			for i := range n {
				if got := instanceOf(t, byName[fmt.Sprintf("pve%d", i)][0]); got != fmt.Sprintf("site-%d", i) {
					t.Errorf("pve%d owned by %q, want site-%d", i, got, i)
				}
			}
			// the first agent to run took the shared objects; every other agent that sees them
			// reports each once
			for _, name := range []string{"nas", "switch-core"} {
				if got := instanceOf(t, byName[name][0]); got != "site-0" {
					t.Errorf("%s owned by %q, want site-0 (the first to run)", name, got)
				}
			}
			vms := nb.list("virtualization/virtual-machines")
			if len(vms) != 2*n {
				t.Errorf("%d virtual machines, want %d", len(vms), 2*n)
			}
			for _, vm := range vms {
				name := vm["name"].(string)
				if got, want := instanceOf(t, vm), "site-"+strings.Split(name, "-")[1]; got != want {
					t.Errorf("%s owned by %q, want %s", name, got, want)
				}
			}
			addrs := map[string]int{}
			for _, ip := range nb.list("ipam/ip-addresses") {
				addrs[ip["address"].(string)]++
				if instanceOf(t, ip) == "" {
					t.Errorf("ip %s: record without instance", ip["address"])
				}
			}
			for a, k := range addrs {
				if k != 1 {
					t.Errorf("ip %s exists %d times", a, k)
				}
			}
			for _, a := range []string{"10.9.0.1/32", "10.9.0.2/32", "10.9.0.3/32"} {
				if addrs[a] != 1 {
					t.Errorf("scanned host %s: %d objects, want 1", a, addrs[a])
				}
			}
			// agent 1 sees the NAS, the switch and the three hosts, all site-0's
			if got := len(last[1]); got < 5 {
				t.Errorf("agent 1: %d owner conflicts, want at least 5 (nas, switch-core, 3 hosts): %v", got, last[1])
			}
			for i := 2; i < n; i++ {
				if got := len(last[i]); got < 4 {
					t.Errorf("agent %d: %d owner conflicts, want at least 4 (switch-core, 3 hosts): %v", i, got, last[i])
				}
			}
			for i, c := range last {
				for _, s := range c {
					if strings.Contains(s, fmt.Sprintf("%q", fmt.Sprintf("site-%d", i))) {
						t.Errorf("agent %d reports its own object as another's: %s", i, s)
					}
				}
			}
		})
	}
}

// TestManyAgentsNeverOrphanAnothersObjects: an agent whose source ran but no longer sees an
// object another instance owns marks nothing stale and deletes nothing of it, even with
// deletion on and no grace; the owner itself still orphans and deletes its own.
func TestManyAgentsNeverOrphanAnothersObjects(t *testing.T) {
	nb := newSharedNetBox(t)
	del := OrphanConfig{Delete: true, Grace: time.Nanosecond, MaxDeleteShare: 1}
	a := nb.engine(Config{Instance: "site-0", Orphans: del})
	b := nb.engine(Config{Instance: "site-1", Orphans: del})
	for range 2 {
		multiRun(t, a, agentObs(0, 2, true, ""), nil)
		multiRun(t, b, agentObs(1, 2, true, ""), nil)
	}
	// b's NAS source runs and sees nothing; its inventory no longer lists the switch
	obs := agentObs(1, 2, false, "")
	obs = slices.DeleteFunc(obs, func(o sources.Observation) bool { return o.Name == "switch-core" })
	ran := ranAll(obs)
	ran["nas-1"], ran["inventory"] = true, true
	for range 2 {
		p := multiRun(t, b, obs, ran)
		for _, act := range p.Actions {
			if act.Op == OpStale || act.Op == OpDelete {
				t.Errorf("site-1 plans %s of %s %s", act.Op, act.Type, act.Name)
			}
		}
	}
	// a stops seeing its own vm-0-b: a marks it stale, then deletes it; b never touches it
	pa := multiRun(t, a, agentObs(0, 2, true, "vm-0-b"), nil)
	if pa.Summary.Stale == 0 {
		t.Fatalf("site-0 did not mark its own vm-0-b stale: %+v", pa.Summary)
	}
	pb := multiRun(t, b, agentObs(1, 2, true, ""), nil)
	for _, act := range pb.Actions {
		if act.Op == OpDelete || act.Op == OpStale || act.Name == "vm-0-b" {
			t.Errorf("site-1 plans %s of %s %s", act.Op, act.Type, act.Name)
		}
	}
	time.Sleep(1100 * time.Millisecond) // stale_since has second precision; grace is 1ns
	pa = multiRun(t, a, agentObs(0, 2, true, "vm-0-b"), nil)
	if pa.Summary.Delete == 0 {
		t.Errorf("site-0 did not delete its own stale vm-0-b: %+v %v", pa.Summary, pa.Notes)
	}
	for _, d := range nb.list("dcim/devices") {
		if slices.ContainsFunc(Object(d).TagSlugs(), func(s string) bool { return s == "netbox-agent-stale" }) {
			t.Errorf("device %s marked stale", d["name"])
		}
	}
	names := map[string]bool{}
	for _, vm := range nb.list("virtualization/virtual-machines") {
		names[vm["name"].(string)] = true
	}
	if names["vm-0-b"] || !names["vm-0-a"] || !names["vm-1-a"] || !names["vm-1-b"] {
		t.Errorf("virtual machines after the orphan runs: %v", names)
	}
}

// TestOwnershipUpgradePath: records written by an agent without an instance name (every
// earlier version) keep working. The same agent, given a name, takes its records over with
// one write each and then writes nothing; an agent that never ran their sources leaves them
// alone and says so; an agent still without a name treats named records as another's.
func TestOwnershipUpgradePath(t *testing.T) {
	nb := newSharedNetBox(t)
	obs0 := agentObs(0, 2, true, "")
	legacy := nb.engine(Config{})
	multiRun(t, legacy, obs0, nil)
	if p := multiRun(t, legacy, obs0, nil); !p.Empty() {
		t.Fatalf("legacy agent: second run not empty: %+v", p.Summary)
	}
	owned := 0
	for _, ep := range []string{"dcim/devices", "virtualization/virtual-machines", "ipam/ip-addresses"} {
		for _, o := range nb.list(ep) {
			if got := instanceOf(t, o); got != "" {
				t.Fatalf("agent without instance wrote instance %q", got)
			}
			owned++
		}
	}

	// another instance that never ran these sources: hands off, one conflict per object it
	// sees. (The switch comes from a source both run, "inventory": either may take it.)
	other := nb.engine(Config{Instance: "site-1"})
	before := nb.writeCount()
	p := other.mustPlan(t, agentObs(1, 2, true, ""))
	for _, act := range p.Actions {
		if act.Name == "nas" || strings.HasPrefix(act.Name, "10.9.0.") || strings.HasPrefix(act.Name, "10.1.0.") {
			t.Errorf("site-1 plans %s of %s, a legacy object of sources it did not run", act.Op, act.Name)
		}
	}
	if oc := ownerConflicts(p); len(oc) < 5 || !strings.Contains(strings.Join(oc, "\n"), "without an instance name") {
		t.Errorf("site-1: owner conflicts %v", oc)
	}
	if nb.writeCount() != before {
		t.Fatal("planning wrote")
	}

	// the upgraded agent, now named: stamps its records once, then converges
	named := nb.engine(Config{Instance: "site-0"})
	p = multiRun(t, named, obs0, nil)
	if p.Summary.Create != 0 || p.Summary.Stale != 0 || p.Summary.Delete != 0 || len(ownerConflicts(p)) != 0 {
		t.Errorf("upgraded agent's first run: %+v, conflicts %v", p.Summary, ownerConflicts(p))
	}
	if p.Summary.Update == 0 {
		t.Error("upgraded agent's first run stamped nothing")
	}
	if p = multiRun(t, named, obs0, nil); !p.Empty() {
		t.Errorf("upgraded agent's second run: %+v", p.Summary)
	}
	n := 0
	for _, ep := range []string{"dcim/devices", "virtualization/virtual-machines", "ipam/ip-addresses"} {
		for _, o := range nb.list(ep) {
			if got := instanceOf(t, o); got != "site-0" {
				t.Errorf("%v: instance %q after the upgrade, want site-0", o["display"], got)
			}
			n++
		}
	}
	if n != owned {
		t.Errorf("%d objects after the upgrade, %d before", n, owned)
	}

	// an agent left without a name now sees site-0's records as another's: no writes
	p = legacy.mustPlan(t, obs0)
	if !p.Empty() {
		t.Errorf("unnamed agent plans writes on site-0's objects: %+v", p.Summary)
	}
	if len(ownerConflicts(p)) == 0 {
		t.Error("unnamed agent reports no owner conflict")
	}
}

func (e *Engine) mustPlan(t *testing.T, obs []sources.Observation) *Plan {
	t.Helper()
	mr := Merge(obs, DefaultMergeConfig())
	p, err := e.Plan(context.Background(), mr.Entities, mr.Conflicts, ranAll(obs))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestInstanceNameValidation(t *testing.T) {
	for _, tc := range []struct {
		name string
		ok   bool
	}{
		{"", true}, {"site-a", true}, {"dc1.rack_2", true}, {"A", true},
		{"-site", false}, {"site a", false}, {"site/a", false}, {"späti", false}, {strings.Repeat("x", 64), false},
	} {
		errs := Config{Instance: tc.name}.Validate()
		if ok := len(errs) == 0; ok != tc.ok {
			t.Errorf("instance %q: errors %v, want ok=%v", tc.name, errs, tc.ok)
		}
		if !tc.ok && (len(errs) != 1 || !strings.HasPrefix(errs[0].Error(), "instance: ")) {
			t.Errorf("instance %q: %v does not name the field", tc.name, errs)
		}
	}
}
