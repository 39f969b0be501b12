package sync

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// orphan is an owned object no successful source sees any more.
type orphan struct {
	ep  string
	obj Object
	rec ownerRecord
}

// planOrphans marks owned objects that no source which ran successfully still sees as stale,
// and (opt-in, after the grace period) deletes those the agent created. Objects seen by a
// source that did not run are left alone. Shared objects (sites, types, roles, ...) are never
// considered. A run whose deletes would exceed the configured share of owned objects deletes
// nothing and says why.
func (p *planner) planOrphans() {
	p.guardSuddenZero() // a source that suddenly returns nothing orphans nothing (dropguard.go)
	var orphans []orphan
	notRun := map[string]bool{}
	owned := 0
	consider := func(ep string, o Object, rec ownerRecord) {
		if len(rec.Sources) == 0 {
			return // nothing to tell whether its sources ran: leave it
		}
		for _, s := range rec.Sources {
			if !p.ran[s.Source] {
				notRun[s.Source] = true
				return
			}
		}
		orphans = append(orphans, orphan{ep: ep, obj: o, rec: rec})
	}
	for _, ep := range []string{epDevices, epVMs, epInterfaces, epVMInterfaces, epMACs, epIPs, epServices, epVirtualDisks} {
		for _, o := range p.s.objs[ep] {
			rec, ok := p.ownRecord(o) // another instance's objects are its to orphan
			if !ok {
				continue
			}
			if rec.Created {
				owned++
			}
			if p.claimed[objKey(ep, objID(o))] != "" {
				continue
			}
			switch ep {
			case epDevices, epVMs:
				consider(ep, o, rec)
			case epIPs:
				if assignedKey(o) == "" || p.seenMachines[p.s.interfaceParent(assignedKey(o))] {
					consider(ep, o, rec)
				}
			default:
				if p.seenMachines[p.childParent(ep, o)] {
					consider(ep, o, rec)
				}
			}
		}
	}
	for _, s := range slices.Sorted(maps.Keys(notRun)) {
		p.note("source "+s, "", "did not run successfully: nothing only it saw is marked stale or deleted")
	}
	var deletes []Action
	for _, o := range orphans {
		id := objID(o.obj)
		name := objectName(o.ep, o.obj)
		srcs := make([]string, 0, len(o.rec.Sources))
		for _, s := range o.rec.Sources {
			srcs = append(srcs, s.Source)
		}
		slices.Sort(srcs)
		srcs = slices.Compact(srcs)
		if o.rec.StaleSince == "" {
			tags, _ := tagBody(o.obj, slugify(p.cfg.Tag), slugify(p.cfg.StaleTag), true)
			rec := o.rec
			rec.StaleSince = p.now.Format(time.RFC3339)
			rec.Instance = p.cfg.Instance
			p.add(Action{Key: p.uniqueKey("stale:" + objKey(o.ep, id)), Op: OpStale, Level: levelFor(o.ep), Endpoint: o.ep,
				Type: typeOf(o.ep), ID: id, Name: name, Entity: o.rec.ID, LastUpdated: objStr(o.obj, "last_updated"),
				Body:    map[string]any{"id": id, "tags": tags, "custom_fields": ownerField{p.cfg.CustomField, rec}},
				Changes: []Change{{Field: "stale_since", After: rec.StaleSince, Reason: "not seen"}},
				Reason:  fmt.Sprintf("no longer seen by %s, which ran successfully", strings.Join(srcs, ", "))})
			continue
		}
		if !p.cfg.Orphans.Delete || !o.rec.Created {
			continue
		}
		since, err := time.Parse(time.RFC3339, o.rec.StaleSince)
		if err != nil || p.now.Sub(since) < p.cfg.Orphans.Grace {
			continue
		}
		if o.ep == epDevices || o.ep == epVMs {
			if n := p.foreignChildren(o.ep, id); n > 0 {
				p.note(name, "", "stale since %s but has %d interfaces, IPs, services or disks the agent did not create: not deleted", o.rec.StaleSince, n)
				continue
			}
		}
		level := levelDeleteChildren
		if o.ep == epDevices || o.ep == epVMs {
			level = levelDeleteMachines
		}
		deletes = append(deletes, Action{Key: p.uniqueKey("delete:" + objKey(o.ep, id)), Op: OpDelete, Level: level,
			Endpoint: o.ep, Type: typeOf(o.ep), ID: id, Name: name, Entity: o.rec.ID,
			LastUpdated: objStr(o.obj, "last_updated"),
			Reason:      fmt.Sprintf("stale since %s (grace %s), not seen by %s", o.rec.StaleSince, p.cfg.Orphans.Grace, strings.Join(srcs, ", "))})
	}
	if len(deletes) == 0 {
		return
	}
	if share := float64(len(deletes)) / float64(max(owned, 1)); share > p.cfg.Orphans.MaxDeleteShare {
		p.note("", "", "refused all %d deletes: they are %.0f%% of the %d objects the agent created, more than orphans.max_delete_share %.0f%%; check the sources, or raise the share for one run",
			len(deletes), share*100, owned, p.cfg.Orphans.MaxDeleteShare*100)
		return
	}
	p.plan.Actions = append(p.plan.Actions, deletes...)
}

// childParent is the machine key a child object belongs to.
func (p *planner) childParent(ep string, o Object) string {
	switch ep {
	case epInterfaces:
		return objKey(epDevices, refID(o, "device"))
	case epVMInterfaces, epVirtualDisks:
		return objKey(epVMs, refID(o, "virtual_machine"))
	case epMACs, epIPs:
		return p.s.interfaceParent(assignedKey(o))
	case epServices:
		if objStr(o, "parent_object_type") == "dcim.device" {
			return objKey(epDevices, toInt(o["parent_object_id"]))
		}
		return objKey(epVMs, toInt(o["parent_object_id"]))
	}
	return ""
}

// foreignChildren counts the machine's children that the agent did not create, which a
// delete of the machine would take with it.
func (p *planner) foreignChildren(ep string, id int) int {
	k := objKey(ep, id)
	n := 0
	notOurs := func(o Object) bool {
		rec, ok := p.ownRecord(o) // another instance's children count as not ours
		return !ok || !rec.Created
	}
	for _, ifc := range p.s.ifacesOf[k] {
		if notOurs(ifc) {
			n++
		}
		ifep := epInterfaces
		if ep == epVMs {
			ifep = epVMInterfaces
		}
		for _, ip := range p.s.ipsOf[objKey(ifep, objID(ifc))] {
			if notOurs(ip) {
				n++
			}
		}
	}
	for _, s := range p.s.servicesOf[k] {
		if notOurs(s) {
			n++
		}
	}
	if ep == epVMs {
		for _, d := range p.s.disksOf[id] {
			if notOurs(d) {
				n++
			}
		}
	}
	return n
}

func levelFor(ep string) int {
	switch ep {
	case epDevices, epVMs:
		return levelMachines
	case epInterfaces, epVMInterfaces:
		return levelInterfaces
	case epMACs:
		return levelMACs
	case epIPs:
		return levelIPs
	case epServices:
		return levelServices
	case epVirtualDisks:
		return levelDisks
	}
	return levelMeta
}

func objectName(ep string, o Object) string {
	for _, f := range []string{"name", "address", "mac_address", "display"} {
		if s := objStr(o, f); s != "" {
			return s
		}
	}
	return fmt.Sprintf("%s/%d", ep, objID(o))
}
