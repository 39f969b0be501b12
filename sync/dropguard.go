package sync

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// guardSuddenZero takes out of p.ran every source that ran successfully but suddenly sees
// nothing of what it saw before: it contributed no entity to this plan while NetBox holds
// owned, not yet stale objects it saw, or it no longer reports any of the machines of one
// kind it saw before (devices, virtual machines), or none of the children of one kind it saw
// (interfaces, MACs, IPs, services, disks) matched anything this time. An API that answers
// 200 with empty lists (a permissions change, a broken proxy, a guest agent stopped
// everywhere, a restore in progress) is far likelier than a whole kind of object vanishing in
// one step, so such a source is treated as failed for orphaning: it marks nothing stale and
// deletes nothing, and the plan says why. p.ran is replaced, never modified: it is the
// caller's map.
//
// The guard names only the sources whose own counts dropped. A machine counts for a source
// while the source still reports the native id it saw it under, whether or not the machine
// matched (a failed source's machine may go unmatched, seen by the others as a bare host); a
// child counts only where no source that failed or dropped also saw it.
func (p *planner) guardSuddenZero() {
	owned := map[string]int{} // source -> owned, not stale objects it saw
	seen := map[string]int{}  // "source|endpoint" -> owned, not stale objects it saw
	still := map[string]int{} // "source|endpoint" -> of those, still reported or matched
	count := func(eps []string, skip func(ownerRecord) bool, stillThere func(ep string, o Object, s ownerSource) bool) {
		for _, ep := range eps {
			for _, o := range p.s.objs[ep] {
				rec, ok := p.ownRecord(o) // another agent instance's objects say nothing of this one's sources
				if !ok || rec.StaleSince != "" || skip(rec) {
					continue
				}
				for _, s := range rec.Sources {
					if !p.ran[s.Source] {
						continue
					}
					owned[s.Source]++
					seen[s.Source+"|"+ep]++
					if stillThere(ep, o, s) {
						still[s.Source+"|"+ep]++
					}
				}
			}
		}
	}
	why := map[string]string{}
	judge := func(eps []string) {
		for s, n := range owned {
			if why[s] != "" {
				continue
			}
			if !p.present[s] {
				why[s] = fmt.Sprintf("ran successfully but returned nothing, while NetBox holds %d objects it saw before", n)
				continue
			}
			for _, ep := range eps {
				if n := seen[s+"|"+ep]; n > 0 && still[s+"|"+ep] == 0 {
					why[s] = fmt.Sprintf("ran successfully but saw none of the %d %s it saw before", n, plural(typeOf(ep)))
					break
				}
			}
		}
	}
	machines := []string{epDevices, epVMs}
	count(machines, func(ownerRecord) bool { return false }, func(ep string, o Object, s ownerSource) bool {
		return p.presentRefs[s.Source+"|"+s.NativeID] || p.claimed[objKey(ep, objID(o))] != ""
	})
	judge(machines)
	children := []string{epInterfaces, epVMInterfaces, epMACs, epIPs, epServices, epVirtualDisks}
	clear(owned)
	count(children, func(rec ownerRecord) bool {
		return slices.ContainsFunc(rec.Sources, func(s ownerSource) bool { return !p.ran[s.Source] || why[s.Source] != "" })
	}, func(ep string, o Object, _ ownerSource) bool { return p.claimed[objKey(ep, objID(o))] != "" })
	judge(children)
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
