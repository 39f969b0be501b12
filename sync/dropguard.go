package sync

import (
	"maps"
	"slices"
)

// guardSuddenZero takes out of p.ran every source that ran successfully but contributed no
// entity to this plan while NetBox holds owned, not yet stale objects it saw before. An API
// that answers 200 with an empty list (a permissions change, a broken proxy, a restore in
// progress) is far likelier than an estate that vanished in one step, so such a source is
// treated as failed for orphaning: it marks nothing stale and deletes nothing, and the plan
// says why. p.ran is replaced, never modified: it is the caller's map.
func (p *planner) guardSuddenZero() {
	owned := map[string]int{} // source -> owned objects it saw that are not stale yet
	for _, ep := range []string{epDevices, epVMs, epInterfaces, epVMInterfaces, epMACs, epIPs, epServices, epVirtualDisks} {
		for _, o := range p.s.objs[ep] {
			rec, ok := ownership(o, p.cfg.CustomField)
			if !ok || rec.StaleSince != "" {
				continue
			}
			for _, s := range rec.Sources {
				if p.ran[s.Source] {
					owned[s.Source]++
				}
			}
		}
	}
	var silent []string
	for s, n := range owned {
		if _, contributed := p.adapters[s]; !contributed && n > 0 {
			silent = append(silent, s)
		}
	}
	if len(silent) == 0 {
		return
	}
	slices.Sort(silent)
	ran := maps.Clone(p.ran)
	for _, s := range silent {
		delete(ran, s)
		p.note("source "+s, "", "suspicious: ran successfully but returned nothing, while NetBox holds %d objects it saw before; treated as failed: nothing it saw is marked stale or deleted", owned[s])
		p.e.log.Warn("source returned nothing but saw objects before: suspicious, it orphans nothing", "source", s, "objects", owned[s])
	}
	p.ran = ran
}
