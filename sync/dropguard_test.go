package sync

import (
	"strings"
	"testing"

	"github.com/netbox-agent/netbox-agent/sources"
)

func TestSuddenDropToZeroOrphansNothing(t *testing.T) {
	without := func(obs []sources.Observation, source string, keep ...string) []sources.Observation {
		var out []sources.Observation
		for _, o := range obs {
			if o.Source != source || slicesContains(keep, o.Name) {
				out = append(out, o)
			}
		}
		return out
	}
	ranAllThree := func() map[string]bool { return map[string]bool{"pve-lab": true, "nas": true, "netscan": true} }
	cases := []struct {
		name       string
		obs        []sources.Observation
		wantStale  []string // names marked stale
		suspicious bool
	}{
		{"proxmox ran and returned nothing", without(homelab(), "pve-lab"), nil, true},
		{"truenas ran and returned nothing", without(homelab(), "nas"), nil, true},
		{"proxmox lost every VM but still sees its node", without(homelab(), "pve-lab", "pve1"), nil, true},
		{"proxmox VMs lost their interfaces (guest agent stopped everywhere)", noVMInterfaces(homelab()), nil, true},
		{"proxmox lost one VM: that one is stale, no warning", without(homelab(), "pve-lab", "pve1", "web"), []string{"db"}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			l := newLab(t, Config{})
			l.sync(homelab(), nil)
			ran := ranAllThree()
			p := l.plan(tc.obs, ran)
			var stale []string
			for _, a := range p.Actions {
				if a.Op == OpStale && (a.Type == "virtual machine" || a.Type == "device") {
					stale = append(stale, a.Name)
				}
				if a.Op == OpDelete {
					t.Errorf("delete planned: %s %s", a.Type, a.Name)
				}
			}
			if strings.Join(stale, ",") != strings.Join(tc.wantStale, ",") {
				t.Errorf("stale machines %v, want %v\n%s", stale, tc.wantStale, planText(p))
			}
			if tc.suspicious != (p.Summary.Stale == 0) {
				t.Errorf("stale actions: %d (suspicious case: %v)\n%s", p.Summary.Stale, tc.suspicious, planText(p))
			}
			var notes []string
			for _, n := range p.Notes {
				notes = append(notes, n.Object+": "+n.Reason)
			}
			got := strings.Contains(strings.Join(notes, "\n"), "suspicious")
			if got != tc.suspicious {
				t.Errorf("suspicious note: %v, want %v; notes:\n%s", got, tc.suspicious, strings.Join(notes, "\n"))
			}
			if len(ran) != 3 {
				t.Errorf("the caller's ran map was modified: %v", ran)
			}
		})
	}
}

func slicesContains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

func noVMInterfaces(obs []sources.Observation) []sources.Observation {
	for i := range obs {
		if obs[i].Kind == sources.KindVM {
			obs[i].Interfaces = nil
		}
	}
	return obs
}
