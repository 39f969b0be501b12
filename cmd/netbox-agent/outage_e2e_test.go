package main

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"

	"github.com/netbox-agent/netbox-agent/netbox/netboxtest"
	"github.com/netbox-agent/netbox-agent/sources"
	"github.com/netbox-agent/netbox-agent/sources/homeassistant"
	"github.com/netbox-agent/netbox-agent/sources/inventory"
	"github.com/netbox-agent/netbox-agent/sources/netscan"
	"github.com/netbox-agent/netbox-agent/sources/proxmox"
	"github.com/netbox-agent/netbox-agent/sources/truenas"
	"github.com/netbox-agent/netbox-agent/test/lab"
)

// machineView is what an outage must not change about a machine: its fields and where its
// addresses and MACs sit (by name, never by id).
func machineView(nb *netboxtest.Server) map[string]string {
	out := map[string]string{}
	ref := func(v any) string {
		if m, ok := v.(map[string]any); ok {
			for _, k := range []string{"name", "address", "display"} {
				if s, ok := m[k].(string); ok {
					return s
				}
			}
		}
		if v == nil {
			return ""
		}
		return fmt.Sprint(v)
	}
	fields := []string{"role", "status", "platform", "site", "cluster", "device_type", "serial", "location",
		"primary_ip4", "primary_ip6", "vcpus", "memory", "description"}
	for _, ep := range []string{"/api/dcim/devices/", "/api/virtualization/virtual-machines/"} {
		for _, o := range nb.Objects(ep) {
			var b strings.Builder
			for _, f := range fields {
				if v, ok := o[f]; ok {
					fmt.Fprintf(&b, "%s=%s ", f, ref(v))
				}
			}
			out[ep+o["name"].(string)] = b.String()
		}
	}
	ifName := map[string]string{} // "type/id" -> "machine/interface"
	for _, ep := range []string{"/api/dcim/interfaces/", "/api/virtualization/interfaces/"} {
		for _, o := range nb.Objects(ep) {
			parent := o["device"]
			typ := "dcim.interface"
			if ep != "/api/dcim/interfaces/" {
				parent, typ = o["virtual_machine"], "virtualization.vminterface"
			}
			ifName[fmt.Sprintf("%s/%v", typ, o["id"])] = ref(parent) + "/" + ref(o["name"])
		}
	}
	for _, ep := range []string{"/api/ipam/ip-addresses/", "/api/dcim/mac-addresses/"} {
		for _, o := range nb.Objects(ep) {
			key := ep + ref(o["address"]) + ref(o["mac_address"])
			out[key] += ifName[fmt.Sprintf("%v/%v", o["assigned_object_type"], o["assigned_object_id"])] + " "
		}
	}
	return out
}

func diffViews(a, b map[string]string) []string {
	var out []string
	for k, v := range a {
		if w, ok := b[k]; !ok {
			out = append(out, "gone: "+k)
		} else if v != w {
			out = append(out, fmt.Sprintf("%s: %q -> %q", k, v, w))
		}
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			out = append(out, "new: "+k)
		}
	}
	slices.Sort(out)
	return out
}

// Issue 13 end to end: after a full apply, one source fails (its token revoked). The run
// creates no machine, moves no MAC or IP, changes no field of what NetBox holds; the drop
// guard names no source that answered; and the next good run changes nothing back.
func TestOutageOfOneSourceAfterAFullApply(t *testing.T) {
	for _, src := range []string{lab.ProxmoxSource, lab.TrueNASSource, lab.HomeAssistantSource} {
		t.Run(src, func(t *testing.T) {
			l := startLab(t)
			nb := l.NetBox()
			if code, out, errOut := runCLI(t, nil, "--config", l.ConfigPath(), "--run-once"); code != exitOK {
				t.Fatalf("first run: exit %d\n%s\n%s", code, out, errOut)
			}
			before := machineView(nb)
			if len(before) == 0 {
				t.Fatal("the first run wrote no machine")
			}

			if err := l.FailSource(src, true); err != nil {
				t.Fatal(err)
			}
			code, out, errOut := runCLI(t, nil, "--config", l.ConfigPath(), "--run-once", "--output", "json")
			if code != exitPartial {
				t.Fatalf("outage run: exit %d, want %d\n%s\n%s", code, exitPartial, out, errOut)
			}
			var rep runReport
			if err := json.Unmarshal([]byte(out), &rep); err != nil {
				t.Fatalf("report: %v\n%s", err, out)
			}
			if rep.Plan == nil || rep.Plan.Summary.Stale != 0 || rep.Plan.Summary.Delete != 0 {
				t.Errorf("the outage run orphaned objects: %+v", rep.Plan)
			}
			if d := diffViews(before, machineView(nb)); len(d) > 0 {
				t.Errorf("the outage of %s changed NetBox:\n%s", src, strings.Join(d, "\n"))
			}
			if strings.Contains(errOut, "suspicious") {
				t.Errorf("the drop guard suspected a source that answered:\n%s", errOut)
			}

			if err := l.FailSource(src, false); err != nil {
				t.Fatal(err)
			}
			if code, out, errOut := runCLI(t, nil, "--config", l.ConfigPath(), "--run-once"); code != exitOK {
				t.Fatalf("good run: exit %d\n%s\n%s", code, out, errOut)
			}
			if d := diffViews(before, machineView(nb)); len(d) > 0 {
				t.Errorf("after the good run NetBox differs from before the outage:\n%s", strings.Join(d, "\n"))
			}
		})
	}
}

// Each adapter declares what its native ids denote (docs/identity.md); the merge learns it
// through the config buildAgent composes.
func TestAdaptersDeclareWhetherTheyEnumerateMachines(t *testing.T) {
	cases := []struct {
		src  sources.Source
		want bool
	}{
		{&proxmox.Source{}, true}, {&truenas.Source{}, true}, {&homeassistant.Source{}, true},
		{&inventory.Source{}, false}, {&netscan.Source{}, false},
	}
	for _, tc := range cases {
		if _, declared := tc.src.(sources.MachineEnumerator); !declared {
			t.Errorf("%T does not declare whether it enumerates machines", tc.src)
		}
		if got := sources.EnumeratesMachines(tc.src); got != tc.want {
			t.Errorf("%T enumerates machines: %v, want %v", tc.src, got, tc.want)
		}
	}
	l := startLab(t)
	cfg, err := loadConfig(l.ConfigPath(), map[string]string{})
	if err != nil {
		t.Fatal(err)
	}
	a, err := buildAgent(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range sourcesOf[*inventory.Source](a.all) {
		if !slices.Contains(a.cfg.Merge.Overlapping, s.Name()) {
			t.Errorf("inventory source %s not in merge.overlapping %v", s.Name(), a.cfg.Merge.Overlapping)
		}
	}
	for _, s := range append(asSources(sourcesOf[*proxmox.Source](a.all)), asSources(sourcesOf[*homeassistant.Source](a.all))...) {
		if slices.Contains(a.cfg.Merge.Overlapping, s.Name()) {
			t.Errorf("enumerating source %s in merge.overlapping", s.Name())
		}
	}
}
