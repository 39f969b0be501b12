package sync

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Outage stability and matching across kinds: the planner's part of the identity rules.
//
// A source that contributes nothing to this run (it failed, or it was not run) is absent.
// An object an absent source saw (its ownership record lists that source) is frozen for the
// run: each field the agent wrote before keeps the value it last wrote, whatever the sources
// that did run say now, unless one of those is authoritative for the field. The failed source
// would have said what it always said; the weaker sources' view replacing it for one run and
// flipping back the next (a role Hypervisor -> Unknown -> Hypervisor, an IP moving and moving
// back) is two wrong writes per field per outage. Changes the other sources report are
// written on the first run where every source that saw the object answers.

// presentSources lists the source instances that contributed an observation to the
// entities, and each "source|native id" they reported.
func presentSources(ents []Entity) (srcs, refs map[string]bool) {
	srcs, refs = map[string]bool{}, map[string]bool{}
	for i := range ents {
		for _, s := range ents[i].Sources {
			srcs[s.Source] = true
			refs[s.Source+"|"+s.NativeID] = true
		}
	}
	return srcs, refs
}

// frozenBy returns an absent source that saw cur (by cur's ownership record), or "".
func (p *planner) frozenBy(cur Object) string {
	if cur == nil || p.present == nil {
		return ""
	}
	rec, ok := ownership(cur, p.cfg.CustomField)
	if !ok {
		return ""
	}
	for _, s := range rec.Sources {
		if !p.present[s.Source] {
			return s.Source
		}
	}
	return ""
}

// noteFrozen says, once per absent source, how many field changes it held back.
func (p *planner) noteFrozen() {
	for _, s := range slices.Sorted(maps.Keys(p.frozen)) {
		p.note("source "+s, "", "did not report this run: %d field changes on objects it saw are held back, their last written values stand until it reports again", p.frozen[s])
	}
}

// matchOtherKind looks for the entity among the objects of the other machine kind (devices
// for a VM, VMs for a device) by the identity the agent stored, system UUID, serial and
// universally administered MAC. A hit is never a second object: when a source that gave the
// object its kind is absent this run, the entity is that object seen without it and a note
// says so; otherwise the kinds disagree and it is a conflict.
func (p *planner) matchOtherKind(e *Entity, ep string) (*Conflict, bool) {
	other := epVMs
	if ep == epVMs {
		other = epDevices
	}
	s := p.s
	var ids []int
	how := ""
	try := func(h string, found []int) {
		if how == "" && len(found) > 0 {
			how, ids = h, uniqueInts(found)
		}
	}
	var stored []int
	stored = append(stored, s.byEntity[other][e.ID]...)
	for _, src := range e.Sources {
		stored = append(stored, s.bySource[other][src.Source+"|"+src.NativeID]...)
	}
	try("stored identity", stored)
	if e.SystemUUID.V != "" {
		try("system uuid", s.byUUID[other][e.SystemUUID.V])
	}
	if other == epDevices && e.Serial.V != "" {
		try("serial", s.bySerial[strings.ToLower(e.Serial.V)])
	}
	var byMAC []int
	for _, mac := range e.MACs {
		if mac.IsLocal() {
			continue
		}
		for _, ifk := range s.macParents[string(mac)] {
			if parent := s.interfaceParent(ifk); strings.HasPrefix(parent, other+":") {
				byMAC = append(byMAC, toInt(parent[len(other)+1:]))
			}
		}
	}
	try("mac", byMAC)
	if how == "" {
		return nil, false
	}
	kind := strings.TrimSuffix(typeOf(ep), "s")
	if len(ids) == 1 {
		o := s.byID[other][ids[0]]
		if absent := p.frozenBy(o); absent != "" {
			p.note(cmpOr(e.Name.V, e.ID), "", "seen as a %s, but it is %s by %s, and source %s that saw it did not report this run: left as it is",
				kind, describe(o, other), how, absent)
			return nil, true
		}
	}
	c := p.matchConflict(e, other, how, ids, fmt.Sprintf(
		"the sources describe a %s, but it matches %s by %s: the kinds disagree; not creating a second object",
		kind, describeAll(s, other, ids), how))
	return c, true
}

func describeAll(s *snapshot, ep string, ids []int) string {
	var parts []string
	for _, id := range ids {
		parts = append(parts, describe(s.byID[ep][id], ep))
	}
	return strings.Join(parts, " and ")
}
