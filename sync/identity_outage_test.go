package sync

import (
	"context"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/netbox-agent/netbox-agent/internal/testnetbox"
	"github.com/netbox-agent/netbox-agent/netbox/netboxtest"
	"github.com/netbox-agent/netbox-agent/sources"
)

// outageEstate is the estate of issue 13's outage: Proxmox instance pve-a with node pve1 and
// VM dns01, a second Proxmox instance pve-b, an inventory with a CSV row of pve1 and a DHCP
// lease of dns01, Home Assistant tracking dns01, and a scan that sees both.
func outageEstate() []sources.Observation {
	pve1 := sources.Observation{Source: "pve-a", Adapter: "proxmox", NativeID: "a/node/pve1", Kind: sources.KindDevice, Name: "pve1",
		Keys:  sources.Keys{Serial: "S1PVE0001"},
		Facts: sources.Facts{Manufacturer: "Supermicro", Model: "SYS-E300", Role: "hypervisor", Platform: "Proxmox VE 8.2.4", Status: "active"},
		Interfaces: []sources.Interface{{Name: "vmbr0", MAC: "00:25:90:AA:BB:01", Type: "bridge",
			IPs: []netip.Prefix{pfx("192.168.1.10/24")}}}}
	dns01 := vmObs("100", "dns01", "a", "pve1", "BC:24:11:00:00:53", "192.168.1.53/24")
	dns01.Source, dns01.NativeID = "pve-a", "a/qemu/100"
	app02 := vmObs("200", "app02", "b", "pve2", "BC:24:11:00:02:02", "192.168.2.22/24")
	app02.Source, app02.NativeID = "pve-b", "b/qemu/200"
	pve2 := sources.Observation{Source: "pve-b", Adapter: "proxmox", NativeID: "b/node/pve2", Kind: sources.KindDevice, Name: "pve2",
		Keys:  sources.Keys{Serial: "S1PVE0002"},
		Facts: sources.Facts{Role: "hypervisor", Platform: "Proxmox VE 8.2.4", Status: "active"},
		Interfaces: []sources.Interface{{Name: "vmbr0", MAC: "00:25:90:AA:BB:02", Type: "bridge",
			IPs: []netip.Prefix{pfx("192.168.2.10/24")}}}}
	csv := sources.Observation{Source: "inventory", Adapter: "inventory", NativeID: "inventory/hosts.csv/pve1", Kind: sources.KindHost,
		Name: "pve1", Keys: sources.Keys{Serial: "S1PVE0001", IPs: []netip.Addr{netip.MustParseAddr("192.168.1.10")}},
		Facts: sources.Facts{Description: "rack 1"}}
	lease := sources.Observation{Source: "inventory", Adapter: "inventory", NativeID: "inventory/dnsmasq.leases/bc:24:11:00:00:53",
		Kind: sources.KindHost, Name: "dns01",
		Interfaces: []sources.Interface{{MAC: "BC:24:11:00:00:53", IPs: []netip.Prefix{pfx("192.168.1.53/32")}}}}
	return []sources.Observation{pve1, dns01, pve2, app02, csv, lease,
		haTracker("device_tracker.dns01", "BC:24:11:00:00:53", "192.168.1.53"),
		nmapHost("192.168.1.10", "00:25:90:AA:BB:01"), nmapHost("192.168.1.53", "BC:24:11:00:00:53"),
		nmapHost("192.168.2.22", "BC:24:11:00:02:02")}
}

func without(obs []sources.Observation, source string) []sources.Observation {
	return slices.DeleteFunc(slices.Clone(obs), func(o sources.Observation) bool { return o.Source == source })
}

// planIdentity merges with the sources' declarations and plans; ran is every source that
// has an observation, plus extra (a source that answered with nothing).
func planIdentity(t *testing.T, eng *Engine, obs []sources.Observation, extra ...string) *Plan {
	t.Helper()
	mr := Merge(obs, identityConfig())
	ran := ranAll(obs)
	for _, s := range extra {
		ran[s] = true
	}
	p, err := eng.Plan(context.Background(), mr.Entities, mr.Findings(), ran)
	if err != nil {
		t.Fatalf("plan: %v", err)
	}
	return p
}

func applyOK(t *testing.T, eng *Engine, p *Plan) {
	t.Helper()
	rep, err := eng.Apply(context.Background(), p, nil)
	if err != nil {
		t.Fatalf("apply: %v", err)
	}
	for _, r := range rep.Results {
		if r.Status != StatusDone {
			t.Errorf("action %s %s: %s: %s", r.Op, r.Key, r.Status, r.Error)
		}
	}
}

// fieldChanges lists "object field" for every field the plan changes on an existing object.
func fieldChanges(p *Plan) []string {
	var out []string
	for _, a := range p.Actions {
		for _, c := range a.Changes {
			if a.Op == OpUpdate && a.ID != 0 {
				out = append(out, a.Name+" "+c.Field)
			}
		}
	}
	return out
}

// identityTarget is the NetBox of an identity test: the simulator, or the real NetBox the
// environment names (internal/testnetbox), emptied for the test.
func identityTarget(t *testing.T, cfg Config) (*testnetbox.Target, *Engine) {
	t.Helper()
	l := newLab(t, cfg, testnetbox.WithProfile(netboxtest.Profile43))
	return l.srv.Target, l.eng
}

// Shapes 2, 3 and 5 of issue 13, after a full apply, in a run where pve-a fails:
// no duplicate device for VM dns01, no field of pve-a's objects flapping, and the drop guard
// naming no source that answered; the next good run writes no field back.
func TestIdentityOutageAfterFullApply(t *testing.T) {
	for _, hosts := range []string{"ip", "device"} {
		t.Run("hosts="+hosts, func(t *testing.T) {
			nb, eng := identityTarget(t, Config{Hosts: hosts})
			applyOK(t, eng, planIdentity(t, eng, outageEstate()))
			if p := planIdentity(t, eng, outageEstate()); len(fieldChanges(p)) > 0 || p.Summary.Create > 0 {
				t.Fatalf("not converged after the first apply:\n%s", planText(p))
			}
			role := func() string {
				d := nb.Find("dcim/devices", "pve1")
				if d == nil {
					t.Fatal("no device pve1")
				}
				r, _ := d["role"].(map[string]any)
				return toStr(r["name"])
			}
			if role() != "Hypervisor" {
				t.Fatalf("pve1 role = %q before the outage", role())
			}

			out := planIdentity(t, eng, without(outageEstate(), "pve-a"))
			for _, a := range out.Actions {
				if a.Op == OpCreate && (a.Endpoint == epDevices || a.Endpoint == epVMs) {
					t.Errorf("outage plan creates %s %q (shape 2: a duplicate)", a.Type, a.Name)
				}
				if a.Op == OpCreate && (a.Endpoint == epIPs || a.Endpoint == epMACs) {
					t.Errorf("outage plan creates %s %q", a.Type, a.Name)
				}
			}
			if ch := fieldChanges(out); len(ch) > 0 {
				t.Errorf("outage plan changes fields of objects the failed source saw (shape 3): %v\n%s", ch, planText(out))
			}
			for _, n := range out.Notes {
				if strings.Contains(n.Reason, "suspicious") {
					t.Errorf("drop guard names a source that answered (shape 5): %s: %s", n.Object, n.Reason)
				}
			}
			applyOK(t, eng, out)
			if n := nb.Count("dcim/devices", "dns01"); n != 0 {
				t.Errorf("%d devices named dns01 after the outage", n)
			}
			if n := nb.Count("virtualization/virtual-machines", "dns01"); n != 1 {
				t.Errorf("%d VMs named dns01 after the outage", n)
			}
			if role() != "Hypervisor" {
				t.Errorf("pve1 role = %q after the outage run, want Hypervisor kept", role())
			}
			back := planIdentity(t, eng, outageEstate())
			if ch := fieldChanges(back); len(ch) > 0 || back.Summary.Create > 0 || back.Summary.Stale > 0 {
				t.Errorf("the good run after the outage writes fields back (flapping): %v\n%s", ch, planText(back))
			}
		})
	}
}

// A source that answers with nothing is suspicious; the sources that answered as before are
// not, even when objects they saw share owners with the silent one.
func TestIdentityDropGuardNamesOnlyTheSourceThatDropped(t *testing.T) {
	_, eng := identityTarget(t, Config{})
	applyOK(t, eng, planIdentity(t, eng, outageEstate()))
	p := planIdentity(t, eng, without(outageEstate(), "pve-a"), "pve-a")
	var named []string
	for _, n := range p.Notes {
		if strings.Contains(n.Reason, "suspicious") {
			named = append(named, n.Object)
		}
	}
	if !slices.Equal(named, []string{"source pve-a"}) {
		t.Fatalf("drop guard named %v, want only source pve-a\n%s", named, planText(p))
	}
	if p.Summary.Stale > 0 || p.Summary.Delete > 0 {
		t.Fatalf("plan orphans after a sudden drop:\n%s", planText(p))
	}
}

func toStr(v any) string { s, _ := v.(string); return s }
