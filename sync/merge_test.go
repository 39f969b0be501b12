package sync

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"strings"
	"testing"

	"github.com/netbox-agent/netbox-agent/sources"
)

func pfx(s string) netip.Prefix { return netip.MustParsePrefix(s) }

func nmapHost(ip, mac string) sources.Observation {
	return sources.Observation{Source: "netscan", Adapter: "netscan", NativeID: "netscan/" + ip, Kind: sources.KindHost,
		Interfaces: []sources.Interface{{MAC: sources.MAC(mac), IPs: []netip.Prefix{pfx(ip + "/32")}}}}
}

func pveVM(cluster string, vmid int, name, uuid, mac string) sources.Observation {
	return sources.Observation{Source: "pve-" + cluster, Adapter: "proxmox", NativeID: fmt.Sprintf("%s/qemu/%d", cluster, vmid),
		Kind: sources.KindVM, Name: name, Keys: sources.Keys{SystemUUID: uuid},
		Parent:     &sources.Parent{Cluster: cluster, ClusterType: "Proxmox VE", Node: "pve1"},
		Facts:      sources.Facts{VCPUs: 2, MemoryMB: 4096, Status: "active"},
		Interfaces: []sources.Interface{{Name: "net0", MAC: sources.MAC(mac), Bridge: "vmbr0"}}}
}

func haTracker(entity, mac, ip string) sources.Observation {
	return sources.Observation{Source: "homeassistant", Adapter: "homeassistant", NativeID: "homeassistant/tracker/" + entity,
		Kind: sources.KindHost, Name: strings.TrimPrefix(entity, "device_tracker."),
		Interfaces: []sources.Interface{{MAC: sources.MAC(mac), IPs: []netip.Prefix{pfx(ip + "/32")}}}}
}

func TestMergeCases(t *testing.T) {
	const uuidA, uuidB = "47a1054f-1111-4c3b-9d0e-000000000001", "47a1054f-1111-4c3b-9d0e-000000000002"
	tests := []struct {
		name          string
		obs           []sources.Observation
		wantEntities  int
		wantConflicts int
		check         func(t *testing.T, r MergeResult)
	}{
		{
			name: "nmap, proxmox and home assistant see one host",
			obs: []sources.Observation{
				nmapHost("198.18.0.20", "bc:24:11:2e:c5:4a"),
				pveVM("lab", 101, "web01", uuidA, "BC:24:11:2E:C5:4A"),
				haTracker("device_tracker.web01_lan", "BC-24-11-2E-C5-4A", "198.18.0.20"),
			},
			wantEntities: 1,
			check: func(t *testing.T, r MergeResult) {
				e := r.Entities[0]
				if e.Name.V != "web01" || e.Name.Source != "pve-lab" {
					t.Errorf("name = %+v, want web01 from pve-lab", e.Name)
				}
				if e.Kind != sources.KindVM || len(e.Sources) != 3 {
					t.Errorf("kind %s, %d sources", e.Kind, len(e.Sources))
				}
				if len(e.Interfaces) != 1 || e.Interfaces[0].Name.V != "net0" || len(e.Interfaces[0].IPs) != 1 {
					t.Errorf("interfaces = %+v", e.Interfaces)
				}
			},
		},
		{
			name: "cloned VMs share a MAC but not the system UUID",
			obs: []sources.Observation{
				pveVM("lab", 101, "web01", uuidA, "BC:24:11:2E:C5:4A"),
				pveVM("lab", 102, "web01-clone", uuidB, "BC:24:11:2E:C5:4A"),
			},
			wantEntities: 2, wantConflicts: 1,
			check: func(t *testing.T, r MergeResult) {
				c := r.Conflicts[0]
				if c.Key != "mac:BC:24:11:2E:C5:4A" || len(c.Evidence) != 2 || !strings.Contains(c.Reason, "system UUIDs") {
					t.Errorf("conflict = %+v", c)
				}
				if c.Evidence[0].Values["system_uuid"] == c.Evidence[1].Values["system_uuid"] {
					t.Errorf("conflict evidence lacks the disagreeing UUIDs: %+v", c.Evidence)
				}
			},
		},
		{
			name: "same VM name in two clusters",
			obs: []sources.Observation{
				pveVM("east", 100, "dns", "", "BC:24:11:00:00:01"),
				pveVM("west", 100, "dns", "", "BC:24:11:00:00:02"),
			},
			wantEntities: 2,
		},
		{
			name: "same VM name in two clusters reported by one source",
			obs: func() []sources.Observation {
				a, b := pveVM("east", 100, "dns", "", ""), pveVM("west", 100, "dns", "", "")
				b.Source = a.Source
				a.Interfaces, b.Interfaces = nil, nil
				return []sources.Observation{a, b}
			}(),
			wantEntities: 2,
		},
		{
			name: "one MAC in three spellings",
			obs: []sources.Observation{
				{Source: "a", NativeID: "1", Keys: sources.Keys{MACs: []sources.MAC{"00:1a:2b:3c:4d:5e"}}},
				{Source: "b", NativeID: "1", Keys: sources.Keys{MACs: []sources.MAC{"00-1A-2B-3C-4D-5E"}}},
				{Source: "c", NativeID: "1", Keys: sources.Keys{MACs: []sources.MAC{"001a.2b3c.4d5e"}}},
			},
			wantEntities: 1,
			check: func(t *testing.T, r MergeResult) {
				if got := r.Entities[0].MACs; len(got) != 1 || got[0] != "00:1A:2B:3C:4D:5E" {
					t.Errorf("macs = %v", got)
				}
			},
		},
		{
			name: "a junk serial joins nothing",
			obs: []sources.Observation{
				{Source: "truenas", NativeID: "nas1", Kind: sources.KindDevice, Name: "nas1", Keys: sources.Keys{Serial: "To Be Filled By O.E.M."}},
				{Source: "inventory", NativeID: "hosts/router", Kind: sources.KindDevice, Name: "router", Keys: sources.Keys{Serial: "To Be Filled By O.E.M."}},
				{Source: "ha", NativeID: "dev/1", Kind: sources.KindDevice, Name: "switch", Keys: sources.Keys{Serial: "0000000000"}},
				{Source: "inv2", NativeID: "x", Kind: sources.KindDevice, Name: "ap", Keys: sources.Keys{Serial: "0000000000"}},
			},
			wantEntities: 4,
			check: func(t *testing.T, r MergeResult) {
				for _, e := range r.Entities {
					if e.Serial.V != "" {
						t.Errorf("%s kept junk serial %q", e.ID, e.Serial.V)
					}
				}
			},
		},
		{
			name: "a real serial joins two sources",
			obs: []sources.Observation{
				{Source: "truenas", NativeID: "nas1", Kind: sources.KindDevice, Name: "nas1", Keys: sources.Keys{Serial: "A1B2C3"}},
				{Source: "inventory", NativeID: "csv/nas", Kind: sources.KindDevice, Name: "storage", Keys: sources.Keys{Serial: "A1B2C3"}, Facts: sources.Facts{Site: "Basement"}},
			},
			wantEntities: 1,
			check: func(t *testing.T, r MergeResult) {
				e := r.Entities[0]
				if e.Name.V != "storage" || e.Site.V != "Basement" || e.Site.Source != "inventory" {
					t.Errorf("inventory should name and place it: %+v %+v", e.Name, e.Site)
				}
			},
		},
		{
			name: "a weak key shared by disagreeing VMs joins no one",
			obs: []sources.Observation{
				withIP(pveVM("lab", 101, "a", uuidA, "BC:24:11:00:00:0A"), "198.18.0.5/24"),
				withIP(pveVM("lab", 102, "b", uuidB, "BC:24:11:00:00:0B"), "198.18.0.5/24"),
				{Source: "netscan", NativeID: "netscan/198.18.0.5", Kind: sources.KindHost, Keys: sources.Keys{IPs: []netip.Addr{netip.MustParseAddr("198.18.0.5")}}},
			},
			wantEntities: 3,
		},
		{
			name: "two different serials never merge, even by MAC",
			obs: []sources.Observation{
				{Source: "truenas", NativeID: "nas1", Kind: sources.KindDevice, Keys: sources.Keys{Serial: "S1", MACs: []sources.MAC{"00:11:22:33:44:55"}}},
				{Source: "inventory", NativeID: "nas", Kind: sources.KindDevice, Keys: sources.Keys{Serial: "S2", MACs: []sources.MAC{"00:11:22:33:44:55"}}},
			},
			wantEntities: 2, wantConflicts: 1,
		},
		{
			name: "a locally administered MAC is weak: it joins only where nothing strong disagrees",
			obs: []sources.Observation{
				{Source: "ha", NativeID: "t/phone", Kind: sources.KindHost, Name: "phone", Keys: sources.Keys{MACs: []sources.MAC{"DA:A1:19:00:00:01"}}},
				{Source: "dhcp", NativeID: "lease/1", Kind: sources.KindHost, Keys: sources.Keys{MACs: []sources.MAC{"da:a1:19:00:00:01"}}},
			},
			wantEntities: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := Merge(tt.obs, DefaultMergeConfig())
			if len(r.Entities) != tt.wantEntities || len(r.Conflicts) != tt.wantConflicts {
				t.Fatalf("got %d entities, %d conflicts; want %d, %d\n%s", len(r.Entities), len(r.Conflicts),
					tt.wantEntities, tt.wantConflicts, mustJSON(r))
			}
			if tt.check != nil {
				tt.check(t, r)
			}
		})
	}
}

func withIP(o sources.Observation, p string) sources.Observation {
	o.Interfaces[0].IPs = append(o.Interfaces[0].IPs, pfx(p))
	return o
}

func TestMergeFieldPrecedenceIsConfigurable(t *testing.T) {
	obs := []sources.Observation{
		pveVM("lab", 101, "web01", "", "BC:24:11:2E:C5:4A"),
		haTracker("device_tracker.webserver", "BC:24:11:2E:C5:4A", "198.18.0.20"),
	}
	if got := Merge(obs, DefaultMergeConfig()).Entities[0].Name; got.V != "web01" {
		t.Fatalf("default name = %+v", got)
	}
	cfg := DefaultMergeConfig()
	cfg.Fields["name"] = []string{"homeassistant"}
	if got := Merge(obs, cfg).Entities[0].Name; got.V != "webserver" || got.Source != "homeassistant" {
		t.Fatalf("configured name = %+v", got)
	}
	bad := MergeConfig{Fields: map[string][]string{"colour": {"x"}}}
	if errs := bad.Validate(); len(errs) != 1 || !strings.Contains(errs[0].Error(), "fields.colour") {
		t.Fatalf("validate = %v", errs)
	}
}

func TestMergeDoesNotModifyInput(t *testing.T) {
	obs := []sources.Observation{{Source: "a", NativeID: "1", Keys: sources.Keys{MACs: []sources.MAC{"00-1a-2b-3c-4d-5e"}}}}
	Merge(obs, DefaultMergeConfig())
	if obs[0].Keys.MACs[0] != "00-1a-2b-3c-4d-5e" {
		t.Fatalf("input changed: %v", obs[0].Keys.MACs)
	}
}

// TestMergeIsOrderIndependent is the property test: any shuffle gives the same result.
func TestMergeIsOrderIndependent(t *testing.T) {
	obs := syntheticObservations(3000, 0.3, 1)
	// Add the hard cases too: conflicts and ambiguous weak keys.
	obs = append(obs,
		pveVM("lab", 901, "c1", "47a1054f-1111-4c3b-9d0e-00000000000a", "BC:24:11:FF:00:01"),
		pveVM("lab", 902, "c2", "47a1054f-1111-4c3b-9d0e-00000000000b", "BC:24:11:FF:00:01"),
		nmapHost("198.18.9.9", "BC:24:11:FF:00:01"),
	)
	want := mustJSON(Merge(obs, DefaultMergeConfig()))
	rng := rand.New(rand.NewPCG(7, 11))
	for i := range 20 {
		shuffled := append([]sources.Observation(nil), obs...)
		rng.Shuffle(len(shuffled), func(a, b int) { shuffled[a], shuffled[b] = shuffled[b], shuffled[a] })
		if got := mustJSON(Merge(shuffled, DefaultMergeConfig())); got != want {
			t.Fatalf("shuffle %d gave a different result", i)
		}
	}
}

func mustJSON(v any) string {
	b, err := json.MarshalIndent(v, "", " ")
	if err != nil {
		panic(err)
	}
	return string(b)
}

// syntheticObservations makes n observations of distinct machines from a hypervisor, plus
// about overlap*n more that other sources report of the same machines (by MAC, by IP, by name).
func syntheticObservations(n int, overlap float64, seed uint64) []sources.Observation {
	rng := rand.New(rand.NewPCG(seed, seed*31+1))
	obs := make([]sources.Observation, 0, n+int(float64(n)*overlap))
	base := n - int(float64(n)*overlap)
	for i := range base {
		mac := fmt.Sprintf("BC:24:%02X:%02X:%02X:%02X", byte(i>>24), byte(i>>16), byte(i>>8), byte(i))
		ip := netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
		o := pveVM(fmt.Sprintf("c%d", i%7), 100+i, fmt.Sprintf("vm-%d", i),
			fmt.Sprintf("47a1054f-0000-4000-8000-%012x", i+1), mac)
		o.Interfaces[0].IPs = []netip.Prefix{netip.PrefixFrom(ip, 16)}
		obs = append(obs, o)
	}
	// Each machine is seen at most once more, by one other source: a source never reports one
	// machine twice, so every extra observation joins its machine.
	perm := rng.Perm(base)
	for k := 0; len(obs) < n; k++ {
		i := perm[k%base]
		mac := fmt.Sprintf("BC:24:%02X:%02X:%02X:%02X", byte(i>>24), byte(i>>16), byte(i>>8), byte(i))
		ip := netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
		switch len(obs) % 3 {
		case 0:
			obs = append(obs, nmapHost(ip.String(), mac))
		case 1:
			obs = append(obs, haTracker(fmt.Sprintf("device_tracker.t%d", len(obs)), mac, ip.String()))
		default:
			obs = append(obs, sources.Observation{Source: "inventory", Adapter: "inventory", NativeID: fmt.Sprintf("csv/%d", len(obs)),
				Kind: sources.KindDevice, Name: fmt.Sprintf("vm-%d", i), Facts: sources.Facts{Site: "Lab"},
				Keys: sources.Keys{IPs: []netip.Addr{ip}}})
		}
	}
	return obs
}

// An address written bare (an inventory line) takes the prefix the machine reports for it,
// whichever source ranks first.
func TestMergeBareAddressTakesTheReportedPrefix(t *testing.T) {
	nas := sources.Observation{Source: "nas", Adapter: "truenas", NativeID: "nas/system", Kind: sources.KindDevice, Name: "nas01",
		Keys:       sources.Keys{Serial: "TNMX5A000020"},
		Interfaces: []sources.Interface{{Name: "eno1", MAC: "3C:EC:EF:5A:00:20", IPs: []netip.Prefix{pfx("192.0.2.20/24")}}}}
	inv := sources.Observation{Source: "inventory", Adapter: "inventory", NativeID: "inventory/nas01", Kind: sources.KindDevice, Name: "nas01",
		Keys:       sources.Keys{Serial: "TNMX5A000020"},
		Interfaces: []sources.Interface{{MAC: "3C:EC:EF:5A:00:20", IPs: []netip.Prefix{pfx("192.0.2.20/32"), pfx("192.0.2.21/32")}}}}
	for _, order := range [][]sources.Observation{{nas, inv}, {inv, nas}} {
		res := Merge(order, DefaultMergeConfig())
		if len(res.Entities) != 1 || len(res.Entities[0].Interfaces) != 1 {
			t.Fatalf("want one entity with one interface: %+v", res.Entities)
		}
		got := fmt.Sprint(res.Entities[0].Interfaces[0].IPs)
		if got != "[192.0.2.20/24 192.0.2.21/32]" {
			t.Fatalf("interface IPs %s, want the reported /24 and the other bare address kept", got)
		}
	}
}
