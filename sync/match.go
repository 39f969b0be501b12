package sync

import (
	"fmt"
	"slices"
	"strings"

	"github.com/netbox-agent/netbox-agent/sources"
)

// matchResult is the NetBox object an entity matched, and how.
type matchResult struct {
	obj    Object // nil: no match, create
	how    string // "stored identity", "serial", "system uuid", "mac", "name"
	strong bool
	skip   bool // plan nothing for the entity (it is an object of the other kind)
}

// match finds the entity's object in ep: first by the identity the agent stored on it (its
// entity id or one of its source-native ids), then serial, system UUID and universally
// administered MAC, then name within scope (site id for devices, cluster id for VMs; 0 when
// the scope does not exist yet). More than one candidate at a stage, or a candidate another
// entity already matched, is a conflict. A name match on an object the agent did not create
// is a conflict too: objects are adopted only on a strong match.
func (p *planner) match(e *Entity, ep string, scope int) (matchResult, *Conflict) {
	s := p.s
	stage := func(how string, ids []int) (matchResult, *Conflict, bool) {
		ids = uniqueInts(ids)
		switch len(ids) {
		case 0:
			return matchResult{}, nil, false
		case 1:
			key := objKey(ep, ids[0])
			if other, taken := p.claimed[key]; taken && other != e.ID {
				return matchResult{}, p.matchConflict(e, ep, how, ids,
					fmt.Sprintf("matches %s by %s, but entity %s already matched it", describe(s.byID[ep][ids[0]], ep), how, other)), true
			}
			if c := p.foreignMatch(e, ep, ids[0]); c != nil { // another agent instance owns it
				return matchResult{}, c, true
			}
			return matchResult{obj: s.byID[ep][ids[0]], how: how, strong: how != "name"}, nil, true
		default:
			return matchResult{}, p.matchConflict(e, ep, how, ids,
				fmt.Sprintf("%d NetBox objects match by %s; the agent does not guess", len(ids), how)), true
		}
	}
	var stored []int
	stored = append(stored, s.byEntity[ep][e.ID]...)
	for _, src := range e.Sources {
		stored = append(stored, s.bySource[ep][src.Source+"|"+src.NativeID]...)
	}
	if m, c, done := stage("stored identity", stored); done {
		return m, c
	}
	if ep == epDevices && e.Serial.V != "" {
		if m, c, done := stage("serial", s.bySerial[strings.ToLower(e.Serial.V)]); done {
			return m, c
		}
	}
	if e.SystemUUID.V != "" {
		if m, c, done := stage("system uuid", s.byUUID[ep][e.SystemUUID.V]); done {
			return m, c
		}
	}
	var byMAC []int
	for _, mac := range e.MACs {
		if mac.IsLocal() {
			continue
		}
		for _, ifk := range s.macParents[string(mac)] {
			parent := s.interfaceParent(ifk)
			if strings.HasPrefix(parent, ep+":") {
				byMAC = append(byMAC, toInt(parent[len(ep)+1:]))
			}
		}
	}
	if m, c, done := stage("mac", byMAC); done {
		return m, c
	}
	// Stored identity and strong keys are looked up among the other kind too: a kind that
	// differs is never a second object (identity_plan.go).
	if c, found := p.matchOtherKind(e, ep); found {
		return matchResult{skip: true}, c
	}
	if e.Name.V != "" && scope != 0 {
		ids := uniqueInts(s.byName[ep][fmt.Sprintf("%s|%d", strings.ToLower(e.Name.V), scope)])
		if m, c, done := stage("name", ids); done {
			if c == nil {
				if _, owned := ownership(m.obj, p.cfg.CustomField); !owned {
					return matchResult{}, p.matchConflict(e, ep, "name", ids, fmt.Sprintf(
						"%s has the same name but was not created by the agent and no strong key (serial, system UUID, MAC) matches: not adopting, not creating a duplicate", describe(m.obj, ep)))
				}
			}
			return m, c
		}
	}
	return matchResult{}, nil
}

func (p *planner) matchConflict(e *Entity, ep, how string, ids []int, reason string) *Conflict {
	var ref SourceRef
	if len(e.Sources) > 0 {
		ref = e.Sources[0]
	}
	c := &Conflict{Kind: "match", Key: e.ID, Reason: fmt.Sprintf("%s: %s", cmpOr(e.Name.V, e.ID), reason)}
	for _, id := range ids {
		o := p.s.byID[ep][id]
		c.Evidence = append(c.Evidence, ConflictSide{Ref: ref, Name: objStr(o, "name"),
			Values: map[string]string{"netbox": fmt.Sprintf("%s/%d", ep, id), "matched_by": how}})
	}
	return c
}

func describe(o Object, ep string) string {
	return fmt.Sprintf("%s %q (id %d)", strings.TrimSuffix(typeOf(ep), "s"), objStr(o, "name"), objID(o))
}

func typeOf(ep string) string {
	switch ep {
	case epDevices:
		return "device"
	case epVMs:
		return "virtual machine"
	case epInterfaces:
		return "interface"
	case epVMInterfaces:
		return "vm interface"
	case epMACs:
		return "mac address"
	case epIPs:
		return "ip address"
	case epServices:
		return "service"
	case epVirtualDisks:
		return "virtual disk"
	case epLocations:
		return "location"
	}
	return ep
}

func uniqueInts(in []int) []int {
	out := slices.Clone(in)
	slices.Sort(out)
	return slices.Compact(out)
}

// strongMACs lists an entity's universally administered MACs.
func strongMACs(e *Entity) []string {
	var out []string
	for _, m := range e.MACs {
		if !m.IsLocal() {
			out = append(out, string(m))
		}
	}
	return out
}

var _ = sources.KindHost
