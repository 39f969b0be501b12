package sync

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/netbox-agent/netbox-agent/internal/secret"
	"github.com/netbox-agent/netbox-agent/internal/testnetbox"
	"github.com/netbox-agent/netbox-agent/netbox"
	"github.com/netbox-agent/netbox-agent/sources"
)

// canonicalSnapshot is a snapshot's objects as comparable text, endpoint by endpoint.
func canonicalSnapshot(t *testing.T, objs map[string][]Object) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for _, ep := range snapshotEndpoints {
		for _, o := range objs[ep] {
			raw, err := json.Marshal(uncompact(o))
			if err != nil {
				t.Fatal(err)
			}
			out[ep] = append(out[ep], string(raw))
		}
	}
	return out
}

// diffSnapshots names the first differences between two canonical snapshots.
func diffSnapshots(got, want map[string][]string) string {
	var b strings.Builder
	for _, ep := range snapshotEndpoints {
		g, w := got[ep], want[ep]
		if slices.Equal(g, w) {
			continue
		}
		fmt.Fprintf(&b, "%s: cached %d objects, NetBox %d\n", ep, len(g), len(w))
		for _, s := range w {
			if !slices.Contains(g, s) {
				fmt.Fprintf(&b, "  NetBox has:  %s\n", s)
			}
		}
		for _, s := range g {
			if !slices.Contains(w, s) {
				fmt.Fprintf(&b, "  cache has:   %s\n", s)
			}
		}
	}
	return b.String()
}

// cacheEstate is a few machines with interfaces, MACs, IPs, services and disks.
func cacheEstate(rng *rand.Rand, n int) []sources.Observation {
	var obs []sources.Observation
	for i := range n {
		o := vmObs(fmt.Sprint(100+i), fmt.Sprintf("vm%02d", i), "lab", fmt.Sprintf("pve%d", 1+i%2),
			fmt.Sprintf("BC:24:11:00:02:%02X", i), fmt.Sprintf("10.20.0.%d/24", 10+i))
		if rng.IntN(2) == 0 {
			o.Services = []sources.Service{{Name: "ssh", Protocol: "tcp", Ports: []int{22}}}
		}
		obs = append(obs, o)
	}
	return obs
}

// personEdit changes NetBox through its API as a person or another tool would; it says
// what it did.
type personEdit func(t *testing.T, nb *testnetbox.Target, rng *rand.Rand) string

func pickObj(rng *rand.Rand, objs []map[string]any) map[string]any {
	if len(objs) == 0 {
		return nil
	}
	return objs[rng.IntN(len(objs))]
}

var personEdits = []personEdit{
	func(t *testing.T, nb *testnetbox.Target, rng *rand.Rand) string {
		vm := pickObj(rng, nb.Objects("virtualization/virtual-machines"))
		if vm == nil {
			return "nothing to rename"
		}
		name := fmt.Sprintf("renamed-%d", rng.IntN(1000))
		nb.Update("virtualization/virtual-machines", testnetbox.IntOf(vm["id"]), map[string]any{"name": name})
		return "renamed a VM to " + name
	},
	func(t *testing.T, nb *testnetbox.Target, rng *rand.Rand) string {
		ip := pickObj(rng, nb.Objects("ipam/ip-addresses"))
		if ip == nil {
			return "no IP to delete"
		}
		nb.Delete("ipam/ip-addresses", testnetbox.IntOf(ip["id"]))
		return fmt.Sprintf("deleted IP %v (a VM's primary IP goes with a SET_NULL the change log does not show)", ip["address"])
	},
	func(t *testing.T, nb *testnetbox.Target, rng *rand.Rand) string {
		mac := pickObj(rng, nb.Objects("dcim/mac-addresses"))
		if mac == nil {
			return "no MAC to delete"
		}
		nb.Delete("dcim/mac-addresses", testnetbox.IntOf(mac["id"]))
		return fmt.Sprintf("deleted MAC %v", mac["mac_address"])
	},
	func(t *testing.T, nb *testnetbox.Target, rng *rand.Rand) string {
		vm := pickObj(rng, nb.Objects("virtualization/virtual-machines"))
		if vm == nil {
			return "no VM to delete"
		}
		nb.Delete("virtualization/virtual-machines", testnetbox.IntOf(vm["id"]))
		return fmt.Sprintf("deleted VM %v (its interfaces, disks and services cascade)", vm["name"])
	},
	func(t *testing.T, nb *testnetbox.Target, rng *rand.Rand) string {
		vm := pickObj(rng, nb.Objects("virtualization/virtual-machines"))
		if vm == nil {
			return "no VM to edit"
		}
		nb.Update("virtualization/virtual-machines", testnetbox.IntOf(vm["id"]), map[string]any{"vcpus": 1 + rng.IntN(16), "description": "edited by a person"})
		return fmt.Sprintf("edited VM %v", vm["name"])
	},
	func(t *testing.T, nb *testnetbox.Target, rng *rand.Rand) string {
		cl := pickObj(rng, nb.Objects("virtualization/clusters"))
		if cl == nil {
			return "no cluster"
		}
		name := fmt.Sprintf("person-vm-%d", rng.IntN(1000))
		nb.Create("virtualization/virtual-machines", map[string]any{"name": name, "cluster": testnetbox.IntOf(cl["id"]), "status": "active"})
		return "created VM " + name
	},
	func(t *testing.T, nb *testnetbox.Target, rng *rand.Rand) string {
		site := pickObj(rng, nb.Objects("dcim/sites"))
		if site == nil {
			return "no site"
		}
		nb.Update("dcim/sites", testnetbox.IntOf(site["id"]), map[string]any{"name": fmt.Sprintf("Site %d", rng.IntN(1000))})
		return "renamed a site (objects show it by name: a full read)"
	},
	func(t *testing.T, nb *testnetbox.Target, rng *rand.Rand) string {
		iface := pickObj(rng, nb.Objects("virtualization/interfaces"))
		if iface == nil {
			return "no interface"
		}
		nb.Update("virtualization/interfaces", testnetbox.IntOf(iface["id"]), map[string]any{"enabled": rng.IntN(2) == 0, "description": "cabled"})
		return fmt.Sprintf("edited interface %v", iface["name"])
	},
	func(t *testing.T, nb *testnetbox.Target, rng *rand.Rand) string {
		tag := fmt.Sprintf("person-tag-%d", rng.IntN(1000))
		nb.Create("extras/tags", map[string]any{"name": tag, "slug": tag})
		return "created tag " + tag
	},
}

// TestIncrementalSnapshotEqualsFullRead is the property the change log cache rests on: after
// any sequence of syncs and edits by others, the snapshot the engine plans from (its cache
// caught up from the change log) equals what a full read of NetBox gives.
func TestIncrementalSnapshotEqualsFullRead(t *testing.T) {
	seeds := 12
	if testnetbox.Real() {
		seeds = 1 // a few minutes of a real NetBox each: the simulator runs the many
	}
	for seed := range seeds {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(seed), 77))
			l := newLab(t, Config{})
			defer l.close()
			obs := cacheEstate(rng, 4+rng.IntN(6))
			l.sync(obs, nil)
			ctx := context.Background()
			var did []string
			for step := range 8 {
				switch rng.IntN(3) {
				case 0:
					did = append(did, personEdits[rng.IntN(len(personEdits))](t, l.srv.Target, rng))
				case 1:
					// the agent syncs again (and puts back what a person removed)
					p := l.plan(obs, nil)
					if _, err := l.eng.Apply(ctx, p, nil); err != nil {
						t.Fatalf("step %d: apply: %v", step, err)
					}
					did = append(did, fmt.Sprintf("agent sync (%d actions)", len(p.Actions)))
				default:
					did = append(did, personEdits[rng.IntN(len(personEdits))](t, l.srv.Target, rng))
					did = append(did, personEdits[rng.IntN(len(personEdits))](t, l.srv.Target, rng))
				}
				cached, err := l.eng.snapshot(ctx)
				if err != nil {
					t.Fatalf("step %d: cached snapshot: %v", step, err)
				}
				full, err := readSnapshot(ctx, l.eng.nb, l.eng.cfg.CustomField)
				if err != nil {
					t.Fatalf("step %d: full read: %v", step, err)
				}
				if d := diffSnapshots(canonicalSnapshot(t, cached.objs), canonicalSnapshot(t, full.objs)); d != "" {
					t.Fatalf("step %d: the cached snapshot differs from a full read of %s after:\n  %s\n%s",
						step, l.srv.Name(), strings.Join(did, "\n  "), d)
				}
			}
		})
	}
}

// TestNoChangeRunReadsOnlyTheChangeLog: a run after a sync, with nothing changed, asks NetBox
// for the change log's newest entry and nothing else; one edit costs that object's read.
func TestNoChangeRunReadsOnlyTheChangeLog(t *testing.T) {
	l := newLab(t, Config{})
	obs := homelab()
	l.sync(obs, nil)
	l.srv.ResetLog()
	if p := l.plan(obs, nil); !p.Empty() {
		t.Fatalf("re-sync plans %d actions", len(p.Actions))
	}
	var gets []string
	for _, r := range l.srv.Requests() {
		if !strings.HasSuffix(r.Path, "/api/status/") {
			gets = append(gets, r.Method+" "+r.Path+"?"+r.Query)
		}
	}
	if len(gets) != 1 || !strings.Contains(gets[0], "core/object-changes") {
		t.Fatalf("a no-change plan made %d requests, want only the change log's newest entry:\n%s", len(gets), strings.Join(gets, "\n"))
	}
	web := l.find("virtualization/virtual-machines", "web")
	l.srv.Update("virtualization/virtual-machines", testnetbox.IntOf(web["id"]), map[string]any{"description": "a person's note"})
	l.srv.ResetLog()
	l.plan(obs, nil)
	var reads []string
	for _, r := range l.srv.Requests() {
		if strings.Contains(r.Path, "virtual-machines") {
			reads = append(reads, r.Query)
		}
	}
	if len(reads) != 1 || !strings.Contains(reads[0], fmt.Sprintf("id=%d", testnetbox.IntOf(web["id"]))) {
		t.Errorf("after one VM edit the plan read VMs with %q, want that VM by id alone", reads)
	}
}

// TestCacheFileCarriesTheSnapshotAcrossProcesses: a second engine (a later --run-once) with
// the same cache file plans from it and reads only the change log.
func TestCacheFileCarriesTheSnapshotAcrossProcesses(t *testing.T) {
	file := filepath.Join(t.TempDir(), "snapshot-cache.json")
	l := newLab(t, Config{})
	cfg := Config{CacheFile: file, CacheKey: l.srv.URL}
	l.eng = NewEngine(l.client(), cfg, nil)
	obs := homelab()
	l.sync(obs, nil)
	info, err := os.Stat(file)
	if err != nil {
		t.Fatalf("no cache file after a sync: %v", err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Errorf("cache file mode %v, want 0600", info.Mode().Perm())
	}
	next := NewEngine(l.client(), cfg, nil)
	l.srv.ResetLog()
	p, err := next.Plan(context.Background(), Merge(obs, DefaultMergeConfig()).Entities, nil, ranAll(obs))
	if err != nil {
		t.Fatal(err)
	}
	if !p.Empty() {
		t.Errorf("a new engine on the cache file plans %d actions, want none", len(p.Actions))
	}
	for _, r := range l.srv.Requests() {
		if !strings.Contains(r.Path, "core/object-changes") && !strings.HasSuffix(r.Path, "/api/status/") {
			t.Errorf("a new engine on the cache file read %s?%s, want only the change log", r.Path, r.Query)
		}
	}
	// another NetBox's cache is not used
	other := NewEngine(l.client(), Config{CacheFile: file, CacheKey: "http://elsewhere"}, nil)
	l.srv.ResetLog()
	if _, err := other.Plan(context.Background(), Merge(obs, DefaultMergeConfig()).Entities, nil, ranAll(obs)); err != nil {
		t.Fatal(err)
	}
	full := false
	for _, r := range l.srv.Requests() {
		full = full || strings.Contains(r.Path, "virtual-machines")
	}
	if !full {
		t.Error("an engine for another NetBox used the cache file instead of reading NetBox")
	}
	// a broken file costs a full read, not a failure
	if err := os.WriteFile(file, []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	broken := NewEngine(l.client(), cfg, nil)
	if _, err := broken.Plan(context.Background(), Merge(obs, DefaultMergeConfig()).Entities, nil, ranAll(obs)); err != nil {
		t.Fatalf("a broken cache file failed the plan: %v", err)
	}
}

func TestFullReadEveryBoundsTheCacheAge(t *testing.T) {
	l := newLab(t, Config{})
	now := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	l.eng = NewEngine(l.client(), Config{FullReadEvery: time.Hour}, nil)
	l.eng.now = func() time.Time { return now }
	obs := homelab()
	l.sync(obs, nil)
	vmReads := func() int {
		l.srv.ResetLog()
		l.plan(obs, nil)
		n := 0
		for _, r := range l.srv.Requests() {
			if strings.Contains(r.Path, "virtual-machines") {
				n++
			}
		}
		return n
	}
	if n := vmReads(); n != 0 {
		t.Errorf("within the hour: %d VM reads, want 0", n)
	}
	now = now.Add(61 * time.Minute)
	if n := vmReads(); n == 0 {
		t.Error("after the hour: no full read")
	}
}

// TestVirtualDisksOfOneVMInOneRequest: NetBox sums a VM's virtual disks into its disk field
// in each request's transaction; disks of one VM split over requests in flight at once left
// a wrong total on real NetBox 4.6.8, which NetBox then refused on every edit of the VM.
// With one object a request and four in flight, the VM's total must still be the sum and
// the VM must stay editable.
func TestVirtualDisksOfOneVMInOneRequest(t *testing.T) {
	l := newLab(t, Config{})
	c, err := netbox.New(netbox.Config{URL: l.srv.URL, Token: secret.New(l.srv.Token), Timeout: time.Minute,
		RequestsPerSecond: -1, BatchSize: 1, MaxInFlight: 4}, nil, netbox.WithBackoff(time.Millisecond, 10*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	l.eng = NewEngine(FromClient(c), Config{}, nil)
	var obs []sources.Observation
	for i := range 3 {
		o := vmObs(fmt.Sprint(300+i), fmt.Sprintf("disky%d", i), "lab", "pve1", fmt.Sprintf("BC:24:11:00:03:%02X", i), fmt.Sprintf("10.30.0.%d/24", 10+i))
		o.Disks = []sources.Disk{{Name: "scsi0", SizeMB: 1000}, {Name: "scsi1", SizeMB: 2000}, {Name: "scsi2", SizeMB: 4000}, {Name: "scsi3", SizeMB: 8000}}
		obs = append(obs, o)
	}
	l.sync(obs, nil)
	for _, o := range obs {
		vm := l.find("virtualization/virtual-machines", o.Name)
		if got := testnetbox.IntOf(vm["disk"]); got != 15000 {
			t.Errorf("%s: disk %d on %s, want 15000 (the sum of its 4 virtual disks)", o.Name, got, l.srv.Name())
		}
		l.srv.Update("virtualization/virtual-machines", testnetbox.IntOf(vm["id"]), map[string]any{"description": "still editable"})
	}
}

func TestClassifyNamesWhyAFullRead(t *testing.T) {
	e := NewEngine(nil, Config{}, nil)
	e.cache.st = &cacheState{Objs: map[string][]Object{
		epTags: {{"id": 1.0, "slug": "lock"}, {"id": 2.0, "slug": "gold"}},
		epVMs:  {{"id": 10.0, "tags": []any{map[string]any{"name": "gold", "slug": "gold"}}, "primary_ip4": nestedRef{ID: 7}}},
	}}
	cases := []struct {
		name   string
		change LogEntry
		full   bool
		reread string
	}{
		{"a VM edited", LogEntry{Type: "virtualization.virtualmachine", ObjectID: 10, Action: "update"}, false, "virtualization/virtual-machines:[10]"},
		{"a primary IP deleted: its VM is read again", LogEntry{Type: "ipam.ipaddress", ObjectID: 7, Action: "delete"}, false, "virtualization/virtual-machines:[10]"},
		{"a site renamed", LogEntry{Type: "dcim.site", ObjectID: 1, Action: "update"}, true, ""},
		{"a site created", LogEntry{Type: "dcim.site", ObjectID: 2, Action: "create"}, false, "dcim/sites:[2]"},
		{"an unused tag deleted (the apply lock)", LogEntry{Type: "extras.tag", ObjectID: 1, Action: "delete"}, false, ""},
		{"a tag in use renamed", LogEntry{Type: "extras.tag", ObjectID: 2, Action: "update"}, true, ""},
		{"a region renamed (a cluster's scope)", LogEntry{Type: "dcim.region", ObjectID: 3, Action: "update"}, true, ""},
		{"a journal entry", LogEntry{Type: "extras.journalentry", ObjectID: 3, Action: "create"}, false, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			reread, _, why := e.classify([]LogEntry{c.change})
			if (why != "") != c.full {
				t.Fatalf("full read %q, want full read %v", why, c.full)
			}
			var got []string
			for ep, ids := range reread {
				if len(ids) > 0 {
					got = append(got, fmt.Sprintf("%s:%v", ep, slices.Sorted(maps.Keys(ids))))
				}
			}
			slices.Sort(got)
			if strings.Join(got, " ") != c.reread {
				t.Errorf("re-read %q, want %q", strings.Join(got, " "), c.reread)
			}
		})
	}
}
