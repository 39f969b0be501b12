package sync

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// guardSuddenZero takes out of p.ran every source that ran successfully but suddenly sees
// nothing of what it saw before: it contributed no entity to this plan while NetBox holds
// owned, not yet stale objects it saw, or none of the objects of one kind it saw before
// (devices, virtual machines, their interfaces, MACs, IPs, services or disks) matched anything
// this time. An API that answers 200 with empty lists (a permissions change, a broken proxy,
// a guest agent stopped everywhere, a restore in progress) is far likelier than a whole kind
// of object vanishing in one step, so such a source is treated as failed for orphaning: it
// marks nothing stale and deletes nothing, and the plan says why. p.ran is replaced, never
// modified: it is the caller's map.
func (p *planner) guardSuddenZero() {
	owned := map[string]int{}   // source -> owned, not stale objects it saw
	seen := map[string]int{}    // "source|endpoint" -> owned, not stale objects it saw
	matched := map[string]int{} // "source|endpoint" -> of those, matched by this plan
	eps := []string{epDevices, epVMs, epInterfaces, epVMInterfaces, epMACs, epIPs, epServices, epVirtualDisks}
	for _, ep := range eps {
		for _, o := range p.s.objs[ep] {
			rec, ok := p.ownRecord(o) // another agent instance's objects say nothing of this one's sources
			if !ok || rec.StaleSince != "" {
				continue
			}
			claimed := p.claimed[objKey(ep, objID(o))] != ""
			for _, s := range rec.Sources {
				if !p.ran[s.Source] {
					continue
				}
				owned[s.Source]++
				seen[s.Source+"|"+ep]++
				if claimed {
					matched[s.Source+"|"+ep]++
				}
			}
		}
	}
	why := map[string]string{}
	for s, n := range owned {
		if _, contributed := p.adapters[s]; !contributed {
			why[s] = fmt.Sprintf("ran successfully but returned nothing, while NetBox holds %d objects it saw before", n)
			continue
		}
		for _, ep := range eps {
			if n := seen[s+"|"+ep]; n > 0 && matched[s+"|"+ep] == 0 {
				why[s] = fmt.Sprintf("ran successfully but saw none of the %d %s it saw before", n, plural(typeOf(ep)))
				break
			}
		}
	}
	if len(why) == 0 {
		return
	}
	ran := maps.Clone(p.ran)
	for _, s := range slices.Sorted(maps.Keys(why)) {
		delete(ran, s)
		p.note("source "+s, "", "suspicious: %s; treated as failed: nothing it saw is marked stale or deleted", why[s])
		p.e.log.Warn("source suddenly sees nothing of what it saw before: suspicious, it orphans nothing", "source", s, "why", why[s])
	}
	p.ran = ran
}

func plural(s string) string {
	if strings.HasSuffix(s, "s") {
		return s + "es"
	}
	return s + "s"
}
