package sync

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/netbox-agent/netbox-agent/sources"
)

const epVMsAPI = "virtualization/virtual-machines"

func TestVMRenameMigrateAndSameNameInTwoClusters(t *testing.T) {
	l := newLab(t, Config{})
	obs := homelab()
	l.sync(obs, nil)
	before := l.find(epVMsAPI, "web")
	if before == nil {
		t.Fatal("no VM web after first sync")
	}

	// renamed in Proxmox and migrated to another node: same native id
	obs[1].Name = "web-renamed"
	obs[1].Parent.Node = "pve2"
	p, _ := l.sync(obs, nil)
	after := l.find(epVMsAPI, "web-renamed")
	if after == nil || toInt(after["id"]) != toInt(before["id"]) {
		t.Fatalf("rename made a new object: before id %v, after %v\n%s", before["id"], after, planText(p))
	}
	if l.count(epVMsAPI, "web") != 0 || len(l.objects(epVMsAPI)) != 2 {
		t.Errorf("VMs after rename: %d, want 2 (old name gone)", len(l.objects(epVMsAPI)))
	}
	if len(l.objects("virtualization/interfaces")) != 2 {
		t.Errorf("VM interfaces after rename: %d, want 2", len(l.objects("virtualization/interfaces")))
	}

	// a VM of the same name in another cluster is another object
	other := vmObs("101", "db", "lab2", "pve9", "BC:24:11:00:09:01", "192.168.2.101/24")
	other.Source, other.NativeID = "pve-lab2", "pve-lab2/qemu/101"
	obs = append(obs, other)
	l.sync(obs, nil)
	if n := l.count(epVMsAPI, "db"); n != 2 {
		t.Errorf("VMs named db: %d, want 2 (one per cluster)", n)
	}
	if p := l.plan(obs, nil); !p.Empty() {
		t.Errorf("not converged:\n%s", planText(p))
	}
}

func TestHandMadeDeviceWithSameSerialIsAdoptedAndKeepsItsFields(t *testing.T) {
	l := newLab(t, Config{})
	site := l.srv.MustSeed("/api/dcim/sites/", map[string]any{"name": "Basement", "slug": "basement"})
	mfr := l.srv.MustSeed("/api/dcim/manufacturers/", map[string]any{"name": "Dell", "slug": "dell"})
	dt := l.srv.MustSeed("/api/dcim/device-types/", map[string]any{"manufacturer": mfr[0], "model": "R720", "slug": "r720"})
	role := l.srv.MustSeed("/api/dcim/device-roles/", map[string]any{"name": "Storage", "slug": "storage"})
	l.srv.MustSeed("/api/dcim/devices/", map[string]any{"name": "truenas-by-hand", "device_type": dt[0], "role": role[0],
		"site": site[0], "serial": "TN-000123", "description": "the NAS under the stairs"})

	p, _ := l.sync(homelab(), nil)
	devs := l.objects("dcim/devices")
	if len(devs) != 2 {
		t.Fatalf("devices: %d, want 2 (pve1 + the adopted NAS)\n%s", len(devs), planText(p))
	}
	nas := l.find("dcim/devices", "truenas-by-hand")
	if nas == nil {
		t.Fatalf("the hand-made device was renamed or replaced:\n%s", planText(p))
	}
	if refID(nas, "site") != site[0] || refID(nas, "role") != role[0] || refID(nas, "device_type") != dt[0] ||
		nas["description"] != "the NAS under the stairs" {
		t.Errorf("hand-filled fields changed: %v", nas)
	}
	if !strings.Contains(strings.Join(Object(nas).TagSlugs(), ","), "netbox-agent") {
		t.Errorf("adopted device not tagged: %v", nas["tags"])
	}
	rec, ok := ownership(nas, "netbox_agent")
	if !ok || rec.Created {
		t.Errorf("adopted device record: %+v ok=%v, want created=false", rec, ok)
	}
	if p := l.plan(homelab(), nil); !p.Empty() {
		t.Errorf("not converged:\n%s", planText(p))
	}
}

func TestPersonsEditSurvives(t *testing.T) {
	l := newLab(t, Config{})
	obs := homelab()
	obs[0].Facts.Description = "hypervisor"
	l.sync(obs, nil)
	pve1 := l.find("dcim/devices", "pve1")
	role := l.srv.MustSeed("/api/dcim/device-roles/", map[string]any{"name": "Compute", "slug": "compute"})
	res := l.client().Update(t.Context(), "dcim/devices", []Object{{"id": toInt(pve1["id"]),
		"description": "edited by hand", "role": role[0]}})
	if res[0].Err != nil {
		t.Fatal(res[0].Err)
	}
	// the source also changes its description: the person's edit still wins
	obs[0].Facts.Description = "hypervisor, now bigger"
	obs[0].Facts.Status = "active"
	p, _ := l.sync(obs, nil)
	pve1 = l.find("dcim/devices", "pve1")
	if pve1["description"] != "edited by hand" || refID(pve1, "role") != role[0] {
		t.Errorf("person's edit overwritten: description %v role %v\n%s", pve1["description"], pve1["role"], planText(p))
	}
	if !strings.Contains(planText(p), "kept a change made in NetBox") {
		t.Errorf("plan does not say the edit was kept:\n%s", planText(p))
	}

	// unless the config makes the source authoritative for that field
	l.close()
	l2 := newLab(t, Config{Authoritative: map[string][]string{"description": {"proxmox"}}})
	obs[0].Facts.Description = "hypervisor"
	l2.sync(obs, nil)
	pve1 = l2.find("dcim/devices", "pve1")
	l2.client().Update(t.Context(), "dcim/devices", []Object{{"id": toInt(pve1["id"]), "description": "edited by hand"}})
	l2.sync(obs, nil)
	if got := l2.find("dcim/devices", "pve1")["description"]; got != "hypervisor" {
		t.Errorf("authoritative source did not win: %v", got)
	}
}

func TestOrphans(t *testing.T) {
	day := 24 * time.Hour
	t.Run("stale then delete after grace; hand-made never deleted", func(t *testing.T) {
		l := newLab(t, Config{Orphans: OrphanConfig{Delete: true, Grace: 7 * day, MaxDeleteShare: 1}})
		// a hand-made VM in the same cluster, no agent record
		l.sync(homelab(), nil)
		cl := l.find("virtualization/clusters", "lab")
		l.srv.MustSeed("/api/virtualization/virtual-machines/", map[string]any{"name": "by-hand", "cluster": toInt(cl["id"]), "status": "active"})

		obs := homelab()
		gone := append(obs[:2:2], obs[3:]...) // VM db removed from Proxmox
		p, _ := l.sync(gone, nil)
		if p.Summary.Stale == 0 || p.Summary.Delete != 0 {
			t.Fatalf("want stale marking only:\n%s", planText(p))
		}
		db := l.find(epVMsAPI, "db")
		if db == nil || !strings.Contains(strings.Join(Object(db).TagSlugs(), ","), "netbox-agent-stale") {
			t.Fatalf("db not marked stale: %v", db)
		}
		// within the grace period nothing is deleted
		if p := l.plan(gone, nil); p.Summary.Delete != 0 {
			t.Errorf("deleted within grace:\n%s", planText(p))
		}
		l.eng.now = func() time.Time { return time.Now().Add(8 * day) }
		p, _ = l.sync(gone, nil)
		if l.find(epVMsAPI, "db") != nil {
			t.Errorf("stale db not deleted after grace:\n%s", planText(p))
		}
		if l.find(epVMsAPI, "by-hand") == nil {
			t.Errorf("hand-made VM deleted")
		}
	})
	t.Run("failed source orphans nothing", func(t *testing.T) {
		l := newLab(t, Config{Orphans: OrphanConfig{Delete: true, Grace: time.Nanosecond, MaxDeleteShare: 1}})
		l.sync(homelab(), nil)
		var withoutPVE []sources.Observation
		for _, o := range homelab() {
			if o.Source != "pve-lab" {
				withoutPVE = append(withoutPVE, o)
			}
		}
		ran := map[string]bool{"nas": true, "netscan": true} // pve-lab failed
		for range 2 {
			l.eng.now = func() time.Time { return time.Now().Add(day) }
			p := l.plan(withoutPVE, ran)
			for _, a := range p.Actions {
				if a.Op == OpStale || a.Op == OpDelete {
					t.Errorf("failed source orphaned %s %s", a.Op, a.Name)
				}
			}
			if !strings.Contains(planText(p), "pve-lab") {
				t.Errorf("plan does not say pve-lab did not run:\n%s", planText(p))
			}
			l.eng.Apply(t.Context(), p, nil)
		}
		if len(l.objects(epVMsAPI)) != 2 {
			t.Errorf("VMs after failed source: %d, want 2", len(l.objects(epVMsAPI)))
		}
	})
	t.Run("delete guard refuses all and says why", func(t *testing.T) {
		l := newLab(t, Config{Orphans: OrphanConfig{Delete: true, Grace: time.Hour, MaxDeleteShare: 0.01}})
		l.sync(homelab(), nil)
		// every source still sees some of what it saw (one that suddenly sees nothing orphans
		// nothing: dropguard.go); db and the scanned host are gone
		h := homelab()
		shrunk := []sources.Observation{h[0], h[1], h[3], h[5]}
		ran := ranAll(homelab())
		l.sync(shrunk, ran) // marks the rest stale
		l.eng.now = func() time.Time { return time.Now().Add(2 * time.Hour) }
		p := l.plan(shrunk, ran)
		if p.Summary.Delete != 0 {
			t.Fatalf("guard let %d deletes through:\n%s", p.Summary.Delete, planText(p))
		}
		if !strings.Contains(planText(p), "refused all") || !strings.Contains(planText(p), "max_delete_share") {
			t.Errorf("plan does not say why:\n%s", planText(p))
		}
	})
}

func TestChangedBetweenPlanAndApplyIsNotOverwritten(t *testing.T) {
	l := newLab(t, Config{})
	obs := homelab()
	l.sync(obs, nil)
	obs[1].Facts.MemoryMB = 4096 // web
	obs[2].Facts.MemoryMB = 8192 // db
	p := l.plan(obs, nil)
	web := l.find(epVMsAPI, "web")
	// a person edits web between preview and apply
	l.client().Update(t.Context(), epVMsAPI, []Object{{"id": toInt(web["id"]), "comments": "maintenance"}})
	rep, err := l.eng.Apply(t.Context(), p, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Summary.Refused != 1 || rep.Summary.Updated != 1 {
		t.Errorf("want 1 refused (web) and 1 updated (db): %+v", rep.Summary)
	}
	if m := l.find(epVMsAPI, "web")["memory"]; toInt(m) != 2048 {
		t.Errorf("web overwritten: memory %v", m)
	}
	if m := l.find(epVMsAPI, "db")["memory"]; toInt(m) != 8192 {
		t.Errorf("db not updated: memory %v", m)
	}
}

func TestStaleObjectThatReturnsIsUnmarked(t *testing.T) {
	l := newLab(t, Config{})
	obs := homelab()
	l.sync(obs, nil)
	without := append(obs[:2:2], obs[3:]...)
	l.sync(without, ranAll(obs))
	if db := l.find(epVMsAPI, "db"); !strings.Contains(strings.Join(Object(db).TagSlugs(), ","), "netbox-agent-stale") {
		t.Fatalf("db not stale: %v", db["tags"])
	}
	l.sync(obs, nil)
	db := l.find(epVMsAPI, "db")
	rec, _ := ownership(db, "netbox_agent")
	if strings.Contains(strings.Join(Object(db).TagSlugs(), ","), "netbox-agent-stale") || rec.StaleSince != "" {
		t.Errorf("db still stale after it came back: tags %v, stale_since %q", db["tags"], rec.StaleSince)
	}
	if p := l.plan(obs, nil); !p.Empty() {
		t.Errorf("not converged:\n%s", planText(p))
	}
}

func TestIPMovesBetweenAgentVMs(t *testing.T) {
	l := newLab(t, Config{})
	obs := homelab()
	l.sync(obs, nil)
	// db's address changes to one web had; web gets a new one (DHCP shuffle)
	obs[1].Interfaces[0].IPs = []netip.Prefix{e2ePfx("192.168.1.150/24")}
	obs[2].Interfaces[0].IPs = []netip.Prefix{e2ePfx("192.168.1.101/24")}
	obs = append(obs[:4], obs[5:]...) // the scan saw 101 as web's
	p, _ := l.sync(obs, nil)
	var n101 int
	for _, o := range l.objects("ipam/ip-addresses") {
		if o["address"] == "192.168.1.101/24" {
			n101++
		}
	}
	if n101 != 1 {
		t.Errorf("192.168.1.101 exists %d times:\n%s", n101, planText(p))
	}
	if p := l.plan(obs, nil); !p.Empty() {
		// a primary IP cannot move in one run; the second run finishes the move
		l.sync(obs, nil)
		if p := l.plan(obs, nil); !p.Empty() {
			t.Errorf("not converged after two runs:\n%s", planText(p))
		}
	}
	for _, o := range l.objects("ipam/ip-addresses") {
		if o["address"] == "192.168.1.101/24" {
			if got := displayOf(o["assigned_object"].(map[string]any)["virtual_machine"]); got != "db" {
				t.Errorf("192.168.1.101 is on %v, want db", got)
			}
			if db := l.find(epVMsAPI, "db"); refID(db, "primary_ip4") != toInt(o["id"]) {
				t.Errorf("db's primary IPv4 is %v, want 192.168.1.101", db["primary_ip4"])
			}
		}
	}
}
