package sync

// Identity invariant (DESIGN.md, "Merge"): no entity ever holds two observations that
// contradict each other. Two observations (or two groups of already joined observations)
// contradict each other when
//
//   - they report different system UUIDs, or different real serials (junk serials are
//     dropped by sources.CleanSerial before they get here), or different clusters;
//   - they carry two native ids of one source that enumerates distinct machines (a Proxmox
//     cluster, a TrueNAS system, a Home Assistant device registry: two ids are two machines).
//     Sources that do not (inventory files, leases, hosts files, scans: MergeConfig.Overlapping)
//     may list one machine twice, so their records join like records of two sources;
//   - the join rests on weak keys alone (name, FQDN, IP, locally administered MAC) and both
//     sides report MACs with none in common, or both report IPs with none in common (the agent
//     writes every address into NetBox's global table, so that is the one VRF it compares in).
//
// Strong keys (native id, system UUID, real serial, universally administered MAC) join
// unless a hard contradiction (the first two points) stands against them; then the key is a
// conflict. Weak keys join all the groups that hold them or none; a refused or ambiguous weak
// join whose sides are not provably distinct is a possible match, shown in the plan with its
// evidence, never a silent split and never a guess.

import (
	"cmp"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strings"

	"github.com/netbox-agent/netbox-agent/sources"
)

// KindPossibleMatch is the Conflict.Kind of a possible match: the merge's refused or
// ambiguous weak joins. Plan moves them from its conflicts to Plan.PossibleMatches.
const KindPossibleMatch = "possible_match"

// hardConflict says why two groups are provably two machines, or "".
func hardConflict(a, b groupState) string {
	switch {
	case a.uuid != "" && b.uuid != "" && a.uuid != b.uuid:
		return "different system UUIDs"
	case a.serial != "" && b.serial != "" && a.serial != b.serial:
		return "different serials"
	case a.cluster != "" && b.cluster != "" && a.cluster != b.cluster:
		return "different clusters"
	}
	for _, x := range a.native {
		for _, y := range b.native {
			if x.source == y.source && x.id != y.id {
				return fmt.Sprintf("source %s reports them as two things", x.source)
			}
		}
	}
	return ""
}

// weakConflict says why a join resting on weak keys alone must not join two groups, or "".
// An address alone (byIP) is the weakest key of all (DHCP hands it on, two sites reuse it):
// it does not join two groups that both carry names and share none.
func weakConflict(a, b groupState, byIP bool) string {
	if len(a.macs) > 0 && len(b.macs) > 0 && !sortedIntersect(a.macs, b.macs, cmp.Compare[sources.MAC]) {
		return "both report MACs and none is in common"
	}
	if len(a.ips) > 0 && len(b.ips) > 0 && !sortedIntersect(a.ips, b.ips, netip.Addr.Compare) {
		return "both report IP addresses and none is in common"
	}
	if byIP && len(a.names) > 0 && len(b.names) > 0 && !sortedIntersect(a.names, b.names, strings.Compare) {
		return "they share an address but not a name"
	}
	return ""
}

// combine is the state of the union of two groups.
func combine(a, b groupState) groupState {
	g := groupState{serial: cmp.Or(a.serial, b.serial), uuid: cmp.Or(a.uuid, b.uuid),
		cluster: cmp.Or(a.cluster, b.cluster), native: slices.Clone(a.native),
		macs: sortedUnion(a.macs, b.macs, cmp.Compare[sources.MAC]), ips: sortedUnion(a.ips, b.ips, netip.Addr.Compare),
		names: sortedUnion(a.names, b.names, strings.Compare)}
	for _, y := range b.native {
		if !slices.Contains(g.native, y) {
			g.native = append(g.native, y)
		}
	}
	return g
}

func sortedIntersect[T any](a, b []T, c func(T, T) int) bool {
	for i, j := 0, 0; i < len(a) && j < len(b); {
		switch d := c(a[i], b[j]); {
		case d == 0:
			return true
		case d < 0:
			i++
		default:
			j++
		}
	}
	return false
}

// sortedUnion returns the sorted union; it returns a or b itself when the other adds nothing
// (group states share their observations' slices until a join needs a new one).
func sortedUnion[T any](a, b []T, c func(T, T) int) []T {
	if len(b) == 0 {
		return a
	}
	if len(a) == 0 {
		return b
	}
	out := make([]T, 0, len(a)+len(b))
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		switch d := c(a[i], b[j]); {
		case d == 0:
			out = append(out, a[i])
			i, j = i+1, j+1
		case d < 0:
			out = append(out, a[i])
			i++
		default:
			out = append(out, b[j])
			j++
		}
	}
	out = append(out, a[i:]...)
	return append(out, b[j:]...)
}

// usableAddrs drops the addresses every machine has (loopback, link-local, unspecified):
// they say nothing of which machine this is. It returns in itself when nothing is dropped.
func usableAddrs(in []netip.Addr) []netip.Addr {
	if !slices.ContainsFunc(in, func(a netip.Addr) bool { return !usableIP(a) }) {
		return in
	}
	return slices.DeleteFunc(slices.Clone(in), func(a netip.Addr) bool { return !usableIP(a) })
}

// refusal is a weak key whose join the merge refused, with the observations holding it.
type refusal struct {
	key     identityKey
	members []int
}

func (m *merger) refuse(k identityKey, members []int) {
	m.refused = append(m.refused, refusal{key: k, members: slices.Clone(members)})
}

// possibleMatches turns the refused weak joins into possible matches, once the grouping is
// final: a refusal whose observations ended up in one entity anyway (joined by another key)
// is dropped, and so is one whose entities are provably distinct pair by pair (two VMs of
// one cluster both named "test" are two VMs, not a question). ids maps roots to entity ids.
func (m *merger) possibleMatches(ids []string, membersOf func(root int) []int) []Conflict {
	type pm struct {
		keys  []string
		why   string
		roots []int
	}
	byRoots := map[string]*pm{}
	for _, rf := range m.refused {
		var roots []int
		for _, i := range rf.members {
			if r := m.find(i); !slices.Contains(roots, r) {
				roots = append(roots, r)
			}
		}
		if len(roots) < 2 {
			continue
		}
		slices.SortFunc(roots, func(a, b int) int { return cmp.Compare(ids[a], ids[b]) })
		why, open := "", false
		for x, a := range roots {
			for _, b := range roots[x+1:] {
				if hardConflict(m.groups[a], m.groups[b]) != "" {
					continue
				}
				open = true
				if w := weakConflict(m.groups[a], m.groups[b], rf.key.class == keyIP); w != "" && why == "" {
					why = fmt.Sprintf("%s and %s: %s", ids[a], ids[b], w)
				}
			}
		}
		if !open {
			continue
		}
		if why == "" {
			why = fmt.Sprintf("%d entities hold it and they cannot all be one machine: the agent does not pick one", len(roots))
		}
		id := ""
		for _, r := range roots {
			id += ids[r] + "|"
		}
		if p, ok := byRoots[id]; ok {
			if k := rf.key.String(); !slices.Contains(p.keys, k) {
				p.keys = append(p.keys, k)
			}
			continue
		}
		byRoots[id] = &pm{keys: []string{rf.key.String()}, why: why, roots: roots}
	}
	var out []Conflict
	for _, id := range slices.Sorted(maps.Keys(byRoots)) {
		p := byRoots[id]
		slices.Sort(p.keys)
		keys := strings.Join(p.keys, ", ")
		c := Conflict{Kind: KindPossibleMatch, Key: keys,
			Reason: "these entities share " + keys + " but were not joined (" + p.why + "); if they are one machine, " +
				"make the sources agree (a MAC, serial or system UUID in common), otherwise rename one"}
		for _, r := range p.roots {
			c.Evidence = append(c.Evidence, m.side(r, ids[r], membersOf(r)))
		}
		out = append(out, c)
	}
	return out
}

// side describes one entity of a possible match: the values a person needs to decide.
func (m *merger) side(root int, id string, members []int) ConflictSide {
	g := m.groups[root]
	var names, srcs []string
	for _, i := range members {
		o := &m.obs[i]
		if o.Name != "" && !slices.Contains(names, o.Name) {
			names = append(names, o.Name)
		}
		srcs = append(srcs, o.Source+"/"+o.NativeID)
	}
	vals := map[string]string{"entity": id, "observations": strings.Join(srcs, ", ")}
	if len(g.macs) > 0 {
		ms := make([]string, len(g.macs))
		for i, mac := range g.macs {
			ms[i] = string(mac)
		}
		vals["macs"] = strings.Join(ms, ", ")
	}
	if len(g.ips) > 0 {
		is := make([]string, len(g.ips))
		for i, a := range g.ips {
			is[i] = a.String()
		}
		vals["ips"] = strings.Join(is, ", ")
	}
	for k, v := range map[string]string{"serial": g.serial, "system_uuid": g.uuid, "cluster": g.cluster} {
		if v != "" {
			vals[k] = v
		}
	}
	return ConflictSide{Ref: m.ref(members[0]), Name: strings.Join(names, ", "), Values: vals}
}
