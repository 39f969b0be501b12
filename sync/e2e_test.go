package sync

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/netbox-agent/netbox-agent/internal/testnetbox"
)

func TestFirstSyncCreatesThenSecondSyncWritesNothing(t *testing.T) {
	for _, prof := range testnetbox.Profiles() {
		t.Run(testnetbox.ProfileName(prof), func(t *testing.T) {
			l := newLab(t, Config{}, testnetbox.WithProfile(prof))
			p, rep := l.sync(homelab(), nil)
			if rep.Summary.Created == 0 {
				t.Fatalf("first sync created nothing:\n%s", planText(p))
			}
			want := map[string]int{"dcim/devices": 2, "virtualization/virtual-machines": 2, "dcim/interfaces": 2,
				"virtualization/interfaces": 2, "dcim/mac-addresses": 4, "ipam/ip-addresses": 5,
				"ipam/services": 2, "virtualization/virtual-disks": 2, "dcim/sites": 1, "virtualization/clusters": 1}
			for ep, n := range want {
				if got := len(l.objects(ep)); got != n {
					t.Errorf("%s: %d objects, want %d", ep, got, n)
				}
			}
			web := l.find("virtualization/virtual-machines", "web")
			if web == nil || web["primary_ip4"] == nil {
				t.Errorf("web has no primary IPv4: %v", web)
			}
			if s := l.find("dcim/sites", "Homelab"); s == nil {
				t.Errorf("no site Homelab")
			}
			l.srv.ResetLog()
			p2 := l.plan(homelab(), nil)
			if !p2.Empty() {
				t.Fatalf("second plan is not empty:\n%s", planText(p2))
			}
			if _, err := l.eng.Apply(t.Context(), p2, nil); err != nil {
				t.Fatal(err)
			}
			if w := l.writes(); w != 0 {
				t.Errorf("second run made %d write requests, want 0", w)
			}
		})
	}
}

func TestPlanFile(t *testing.T) {
	l := newLab(t, Config{})
	p := l.plan(homelab(), nil)
	path := filepath.Join(t.TempDir(), "plan.json")
	if err := SavePlan(path, p, "test"); err != nil {
		t.Fatal(err)
	}
	loaded, err := LoadPlan(path)
	if err != nil {
		t.Fatal(err)
	}
	if loaded.ID != p.ID || len(loaded.Actions) != len(p.Actions) {
		t.Fatalf("loaded plan %s with %d actions, saved %s with %d", loaded.ID, len(loaded.Actions), p.ID, len(p.Actions))
	}
	// the loaded plan applies like the original
	rep, err := l.eng.Apply(t.Context(), loaded, nil)
	if err != nil || !rep.OK() {
		t.Fatalf("apply of loaded plan: %v %+v %v", err, rep.Summary, rep.Results)
	}
	// a tampered plan file is refused
	b, _ := os.ReadFile(path)
	os.WriteFile(path, []byte(strings.Replace(string(b), `"web"`, `"evil"`, 1)), 0o600)
	if _, err := LoadPlan(path); err == nil || !strings.Contains(err.Error(), "modified") {
		t.Errorf("tampered plan loaded: %v", err)
	}
}
