package sync

import (
	"cmp"
	"net/netip"
	"slices"
	"strings"
	gosync "sync"

	"github.com/netbox-agent/netbox-agent/sources"
)

type keyClass int

// Key classes in the order they are applied: strong keys first, most specific first.
const (
	keyNative keyClass = iota
	keyUUID
	keySerial
	keyMAC
	keyFQDN
	keyName
	keyLocalMAC
	keyIP
)

var keyPrefix = [...]string{"native:", "uuid:", "serial:", "mac:", "fqdn:", "name:", "mac:", "ip:"}

func (k keyClass) strong() bool { return k <= keyMAC }

// identityKey is comparable without building strings: native ids keep source and id apart,
// IPs stay addresses.
type identityKey struct {
	class  keyClass
	value  string
	source string // keyNative only
	addr   netip.Addr
}

func (k identityKey) String() string {
	switch k.class {
	case keyNative:
		return keyPrefix[k.class] + k.source + "/" + k.value
	case keyIP:
		return keyPrefix[k.class] + k.addr.String()
	}
	return keyPrefix[k.class] + k.value
}

func keysOf(o *sources.Observation, ks []identityKey) []identityKey {
	ks = ks[:0]
	if o.NativeID != "" {
		ks = append(ks, identityKey{class: keyNative, value: o.NativeID, source: o.Source})
	}
	if o.Keys.SystemUUID != "" {
		ks = append(ks, identityKey{class: keyUUID, value: o.Keys.SystemUUID})
	}
	if o.Keys.Serial != "" {
		ks = append(ks, identityKey{class: keySerial, value: o.Keys.Serial})
	}
	for _, mac := range o.Keys.MACs {
		if mac.IsLocal() {
			ks = append(ks, identityKey{class: keyLocalMAC, value: string(mac)})
		} else {
			ks = append(ks, identityKey{class: keyMAC, value: string(mac)})
		}
	}
	if o.Keys.FQDN != "" {
		ks = append(ks, identityKey{class: keyFQDN, value: o.Keys.FQDN})
	}
	if n := nameKey(o); n != "" {
		ks = append(ks, identityKey{class: keyName, value: n})
	}
	for _, ip := range o.Keys.IPs {
		if usableIP(ip) { // 127.0.0.1 or fe80::1 on every machine says nothing of which one
			ks = append(ks, identityKey{class: keyIP, addr: ip})
		}
	}
	return ks
}

// nameKey is the name as the name key compares it: the short name, lower case.
func nameKey(o *sources.Observation) string {
	if short, _ := sources.SplitFQDN(o.Name); short != "" {
		return short
	}
	return strings.ToLower(strings.TrimSpace(o.Name))
}

func (m *merger) joinByKeys() {
	// Two goroutines index the keys, split by class so that each key has one home: hardware
	// and network keys (MACs, IPs) on one side, the rest on the other. Most keys have one
	// holder: each side remembers the first holder only and keeps lists for shared keys.
	type sharedKey struct {
		key     identityKey
		members []int
	}
	network := func(c keyClass) bool { return c == keyMAC || c == keyLocalMAC || c == keyIP }
	var halves [2][]sharedKey
	var wg gosync.WaitGroup
	for half := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			first := make(map[identityKey]int, len(m.obs)*2)
			shared := map[identityKey][]int{}
			var buf []identityKey
			for i := range m.obs {
				buf = keysOf(&m.obs[i], buf)
				for _, k := range buf {
					if network(k.class) != (half == 1) {
						continue
					}
					j, seen := first[k]
					if !seen {
						first[k] = i
						continue
					}
					if _, ok := shared[k]; !ok {
						shared[k] = []int{j}
					}
					shared[k] = append(shared[k], i)
				}
			}
			out := make([]sharedKey, 0, len(shared))
			for k, members := range shared {
				out = append(out, sharedKey{k, members})
			}
			halves[half] = out
		}()
	}
	wg.Wait()
	keys := append(halves[0], halves[1]...)
	slices.SortFunc(keys, func(x, y sharedKey) int {
		a, b := &x.key, &y.key
		if c := cmp.Compare(a.class, b.class); c != 0 {
			return c
		}
		if c := cmp.Compare(a.source, b.source); c != 0 {
			return c
		}
		if c := cmp.Compare(a.value, b.value); c != 0 {
			return c
		}
		return a.addr.Compare(b.addr)
	})
	for _, sk := range keys {
		m.join(sk.key, sk.members)
	}
}

// join merges every group holding key k, or none of them: a key shared by groups that cannot
// all be one entity joins nothing (and, for a strong key, is a conflict).
func (m *merger) join(k identityKey, members []int) {
	var roots []int
	for _, i := range members {
		r := m.find(i)
		if !slices.Contains(roots, r) {
			roots = append(roots, r)
		}
	}
	if len(roots) < 2 {
		return
	}
	slices.Sort(roots)
	state := m.groups[roots[0]]
	for _, r := range roots[1:] {
		if why := hardConflict(state, m.groups[r]); why != "" {
			if k.class.strong() {
				m.conflict(k, why, roots)
			} else {
				m.refuse(k, members)
			}
			return
		}
		state = combine(state, m.groups[r])
	}
	if !k.class.strong() {
		// Pair by pair, not against the running union: whether A{m1}, B{m1,m2}, C{m2} join
		// must not depend on the order the roots come in.
		for x, a := range roots {
			for _, b := range roots[x+1:] {
				if weakConflict(m.groups[a], m.groups[b], k.class == keyIP) != "" {
					m.refuse(k, members)
					return
				}
			}
		}
	}
	root := roots[0]
	ev := Evidence{Key: k.String(), Strong: k.class.strong()}
	for _, i := range members {
		ev.Sources = append(ev.Sources, m.ref(i))
	}
	evs := []Evidence{ev}
	for _, r := range roots {
		evs = append(evs, m.evidence[r]...)
		delete(m.evidence, r)
		m.parent[r] = root
	}
	m.groups[root] = state
	m.evidence[root] = evs
}

func (m *merger) ref(i int) SourceRef {
	o := &m.obs[i]
	return SourceRef{Source: o.Source, Adapter: o.Adapter, NativeID: o.NativeID}
}

// conflict records one conflict per set of disagreeing groups, listing every key they share.
func (m *merger) conflict(k identityKey, why string, roots []int) {
	var sides []ConflictSide
	var ids []string
	for _, r := range roots {
		for i := range m.obs {
			if m.find(i) != r {
				continue
			}
			o := &m.obs[i]
			vals := map[string]string{}
			if o.Keys.SystemUUID != "" {
				vals["system_uuid"] = o.Keys.SystemUUID
			}
			if o.Keys.Serial != "" {
				vals["serial"] = o.Keys.Serial
			}
			if o.Parent != nil && o.Parent.Cluster != "" {
				vals["cluster"] = o.Parent.Cluster
			}
			sides = append(sides, ConflictSide{Ref: m.ref(i), Name: o.Name, Values: vals})
			ids = append(ids, o.Source+"/"+o.NativeID)
		}
	}
	id := strings.Join(ids, "|")
	key := k.String()
	if c, ok := m.conflicts[id]; ok {
		c.Key += ", " + key
		return
	}
	m.conflicts[id] = &Conflict{Kind: "identity", Key: key,
		Reason:   "these observations share " + key + " but have " + why + ": they are kept apart",
		Evidence: sides}
}
