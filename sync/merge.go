package sync

import (
	"cmp"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"maps"
	"net/netip"
	"runtime"
	"slices"
	"strings"
	gosync "sync"

	"github.com/netbox-agent/netbox-agent/sources"
)

// MergeConfig says which source wins each field when sources disagree.
type MergeConfig struct {
	// Default lists sources, by instance name or adapter name, most trusted first.
	Default []string `yaml:"default"`
	// Fields overrides the order for single fields: name, fqdn, serial, system_uuid,
	// manufacturer, model, platform, role, site, location, status, vcpus, memory_mb, disk_mb,
	// os, description, cluster, interfaces, services, disks, attributes.
	Fields map[string][]string `yaml:"fields"`
	// Overlapping lists sources, by instance name or adapter name, whose records may describe
	// one machine twice (hand-written lists, leases, hosts files, scans): their native ids do
	// not denote distinct machines, so two of their records join like records of two sources.
	// WithSources fills it from the adapters' own declarations; a config may add to it.
	Overlapping []string `yaml:"overlapping"`
}

// WithSources returns c with every source that does not enumerate distinct machines (see
// sources.EnumeratesMachines) added to Overlapping.
func (c MergeConfig) WithSources(srcs []sources.Source) MergeConfig {
	out := c
	out.Overlapping = slices.Clone(c.Overlapping)
	for _, s := range srcs {
		if !sources.EnumeratesMachines(s) && !slices.Contains(out.Overlapping, s.Name()) {
			out.Overlapping = append(out.Overlapping, s.Name())
		}
	}
	return out
}

// enumerates reports whether o's source says that two of its native ids are two machines.
func (c MergeConfig) enumerates(o *sources.Observation) bool {
	return !slices.Contains(c.Overlapping, o.Source) && (o.Adapter == "" || !slices.Contains(c.Overlapping, o.Adapter))
}

// DefaultMergeConfig trusts what a person wrote (inventory files) first, then the systems that
// run the machine (hypervisor, NAS), then what merely sees it (Home Assistant, the network).
// Hardware facts prefer the machine's own firmware as TrueNAS and Home Assistant report it.
func DefaultMergeConfig() MergeConfig {
	hw := []string{"inventory", "truenas", "homeassistant", "proxmox", "netscan"}
	return MergeConfig{
		Default: []string{"inventory", "proxmox", "truenas", "homeassistant", "netscan"},
		Fields:  map[string][]string{"manufacturer": hw, "model": hw, "serial": hw},
	}
}

// MergeFields are the field names MergeConfig.Fields accepts.
var mergeFields = []string{"name", "fqdn", "serial", "system_uuid", "manufacturer", "model",
	"platform", "role", "site", "location", "status", "vcpus", "memory_mb", "disk_mb", "os",
	"description", "cluster", "interfaces", "services", "disks", "attributes"}

// Validate names unknown fields.
func (c MergeConfig) Validate() []error {
	var errs []error
	for _, f := range slices.Sorted(maps.Keys(c.Fields)) {
		if !slices.Contains(mergeFields, f) {
			errs = append(errs, fmt.Errorf("fields.%s: unknown field (want one of %s)", f, strings.Join(mergeFields, ", ")))
		}
	}
	return errs
}

// MergeResult is the merge's output: entities sorted by ID and the conflicts it refused to guess.
type MergeResult struct {
	Entities  []Entity   `json:"entities"`
	Conflicts []Conflict `json:"conflicts,omitempty"`
	// PossibleMatches are weak joins the merge refused (the two sides' MACs or IPs disagree)
	// or could not decide (one name, several candidates), with their evidence. The engine's
	// Plan takes them with the conflicts (Kind KindPossibleMatch) and shows them apart.
	PossibleMatches []Conflict `json:"possible_matches,omitempty"`
}

// Merge joins observations of the same thing into entities. Strong keys (source-native id,
// system UUID, a serial that is not junk, a universally administered MAC) join observations;
// weak keys (name, FQDN, IP, locally administered MAC) join only where every observation they
// would join agrees on everything strong and, pair by pair, no two sides both report MACs
// (or IPs) with none in common. Observations that share a strong key but disagree (two
// serials, two UUIDs, two native ids of one enumerating source, two clusters) stay apart and
// become a conflict; a refused or ambiguous weak join becomes a possible match. The output
// depends only on the set of observations, not on their order. See identity.go for the
// invariant this keeps.
func Merge(in []sources.Observation, cfg MergeConfig) MergeResult {
	m := newMerger(in, cfg)
	m.joinByKeys()
	return m.result()
}

type merger struct {
	cfg    MergeConfig
	obs    []sources.Observation
	parent []int
	groups []groupState // by root index
	// evidence per root: the keys that joined its members
	evidence  map[int][]Evidence
	conflicts map[string]*Conflict
	// refused are the weak keys whose join was refused; possible matches are made of them once
	// the grouping is final.
	refused []refusal
}

// groupState holds what must agree inside one entity.
type groupState struct {
	serial, uuid, cluster string
	native                []nativeID // at most one per enumerating source
	// every MAC and usable IP the group's observations report, sorted: a weak join between
	// two groups that both report some and share none is refused.
	macs  []sources.MAC
	ips   []netip.Addr
	names []string // the short names, as keyName compares them
}

type nativeID struct{ source, id string }

func newMerger(in []sources.Observation, cfg MergeConfig) *merger {
	fp := map[int]string{}
	fingerprint := func(i int) string {
		if f, ok := fp[i]; ok {
			return f
		}
		b, _ := json.Marshal(in[i])
		sum := sha256.Sum256(b)
		fp[i] = string(sum[:])
		return fp[i]
	}
	idx := make([]int, len(in))
	for i := range idx {
		idx[i] = i
	}
	slices.SortFunc(idx, func(a, b int) int {
		x, y := &in[a], &in[b]
		if c := cmp.Compare(x.Source, y.Source); c != 0 {
			return c
		}
		if c := cmp.Compare(x.NativeID, y.NativeID); c != 0 {
			return c
		}
		return cmp.Compare(fingerprint(a), fingerprint(b))
	})
	m := &merger{
		cfg:       cfg,
		obs:       make([]sources.Observation, len(in)),
		parent:    make([]int, len(in)),
		groups:    make([]groupState, len(in)),
		evidence:  map[int][]Evidence{},
		conflicts: map[string]*Conflict{},
	}
	names := make([]string, len(in))
	parallel(len(idx), func(i int) {
		m.obs[i] = in[idx[i]]
		o := &m.obs[i]
		// Deep-copy the slices Normalize rewrites so the caller's observations stay untouched.
		o.Keys.MACs = slices.Clone(o.Keys.MACs)
		o.Keys.IPs = slices.Clone(o.Keys.IPs)
		o.Facts.Tags = slices.Clone(o.Facts.Tags)
		o.Services = slices.Clone(o.Services)
		if len(o.Interfaces) > 0 {
			ifs := make([]sources.Interface, len(o.Interfaces))
			for k, ifc := range o.Interfaces {
				ifc.IPs = slices.Clone(ifc.IPs)
				ifs[k] = ifc
			}
			o.Interfaces = ifs
		}
		o.Normalize()
		m.parent[i] = i
		g := groupState{serial: o.Keys.Serial, uuid: o.Keys.SystemUUID, macs: o.Keys.MACs, ips: usableAddrs(o.Keys.IPs)}
		if o.Parent != nil {
			g.cluster = strings.ToLower(o.Parent.Cluster)
		}
		if n := nameKey(o); n != "" {
			names[i] = n
			g.names = names[i : i+1 : i+1] // one backing array for all: a join copies
		}
		if o.NativeID != "" && cfg.enumerates(o) {
			g.native = []nativeID{{o.Source, o.NativeID}}
		}
		m.groups[i] = g
	})
	return m
}

// parallel runs f(0..n-1) on every core: normalising observations and building entities are
// independent per item and dominate the merge's time.
func parallel(n int, f func(i int)) {
	workers := min(runtime.GOMAXPROCS(0), max(1, n/1000))
	var wg gosync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += workers {
				f(i)
			}
		}()
	}
	wg.Wait()
}

// Findings returns the conflicts and the possible matches, for Engine.Plan.
func (r MergeResult) Findings() []Conflict {
	return append(slices.Clone(r.Conflicts), r.PossibleMatches...)
}

func (m *merger) find(i int) int {
	for m.parent[i] != i {
		m.parent[i] = m.parent[m.parent[i]]
		i = m.parent[i]
	}
	return i
}

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

// rank orders observations for one field: configured precedence, then source and native id.
func (m *merger) rank(field string, o *sources.Observation) int {
	order, ok := m.cfg.Fields[field]
	if !ok {
		order = m.cfg.Default
	}
	for i, s := range order {
		if s == o.Source || s == o.Adapter {
			return i
		}
	}
	return len(order)
}

func (m *merger) result() MergeResult {
	// Group observation indices by root, keeping each group in observation order.
	start := make([]int, len(m.obs)+1)
	for i := range m.obs {
		start[m.find(i)+1]++
	}
	var roots []int
	for r := range m.obs {
		if start[r+1] > 0 {
			roots = append(roots, r)
		}
		start[r+1] += start[r]
	}
	members := make([]int, len(m.obs))
	fill := slices.Clone(start)
	for i := range m.obs {
		r := m.find(i)
		members[fill[r]] = i
		fill[r]++
	}
	// Order the groups by entity ID first, then build each entity in its final place: entities
	// are large, and sorting or copying them costs more than building them.
	ids := make([]string, len(m.obs))
	for _, r := range roots {
		ids[r] = m.entityID(members[start[r]:start[r+1]])
	}
	slices.SortFunc(roots, func(a, b int) int { return cmp.Compare(ids[a], ids[b]) })
	res := MergeResult{Entities: make([]Entity, len(roots))}
	parallel(len(roots), func(n int) {
		r := roots[n]
		res.Entities[n] = m.entity(members[start[r]:start[r+1]], m.evidence[r])
	})
	for _, id := range slices.Sorted(maps.Keys(m.conflicts)) {
		res.Conflicts = append(res.Conflicts, *m.conflicts[id])
	}
	res.PossibleMatches = m.possibleMatches(ids, func(r int) []int { return members[start[r]:start[r+1]] })
	return res
}

// pick returns the value of the best-ranked observation that has one.
func pick[T comparable](m *merger, field string, obs []*sources.Observation, get func(*sources.Observation) T) Value[T] {
	var zero T
	best, bestRank := -1, 0
	for i, o := range obs {
		if get(o) == zero {
			continue
		}
		if r := m.rank(field, o); best < 0 || r < bestRank {
			best, bestRank = i, r
		}
	}
	if best < 0 {
		return Value[T]{}
	}
	return Value[T]{V: get(obs[best]), Source: obs[best].Source}
}

// byRank returns the observations ordered for one field, best first (stable on input order).
func (m *merger) byRank(field string, obs []*sources.Observation) []*sources.Observation {
	if len(obs) < 2 {
		return obs
	}
	out := slices.Clone(obs)
	slices.SortStableFunc(out, func(a, b *sources.Observation) int { return cmp.Compare(m.rank(field, a), m.rank(field, b)) })
	return out
}

// entityID names an entity after its best-ranked observation for the name field: unique,
// because each observation belongs to one entity, and stable while that source sees it.
func (m *merger) entityID(idx []int) string {
	best := &m.obs[idx[0]]
	for _, j := range idx[1:] {
		if o := &m.obs[j]; m.rank("name", o) < m.rank("name", best) {
			best = o
		}
	}
	return best.Source + ":" + best.NativeID
}

func (m *merger) entity(idx []int, evidence []Evidence) Entity {
	obs := make([]*sources.Observation, len(idx))
	for i, j := range idx {
		obs[i] = &m.obs[j]
	}
	e := Entity{Kind: sources.KindHost}
	for _, o := range obs {
		e.Sources = append(e.Sources, SourceRef{Source: o.Source, Adapter: o.Adapter, NativeID: o.NativeID})
		switch {
		case o.Kind == sources.KindVM:
			e.Kind = sources.KindVM
		case o.Kind == sources.KindDevice && e.Kind == sources.KindHost:
			e.Kind = sources.KindDevice
		}
	}
	e.Name = pick(m, "name", obs, func(o *sources.Observation) string {
		if o.Name != "" {
			return o.Name
		}
		short, _ := sources.SplitFQDN(o.Keys.FQDN)
		return short
	})
	e.ID = m.entityID(idx)
	e.FQDN = pick(m, "fqdn", obs, func(o *sources.Observation) string { return o.Keys.FQDN })
	e.Serial = pick(m, "serial", obs, func(o *sources.Observation) string { return o.Keys.Serial })
	e.SystemUUID = pick(m, "system_uuid", obs, func(o *sources.Observation) string { return o.Keys.SystemUUID })
	e.Manufacturer = pick(m, "manufacturer", obs, func(o *sources.Observation) string { return o.Facts.Manufacturer })
	e.Model = pick(m, "model", obs, func(o *sources.Observation) string { return o.Facts.Model })
	e.Platform = pick(m, "platform", obs, func(o *sources.Observation) string { return o.Facts.Platform })
	e.Role = pick(m, "role", obs, func(o *sources.Observation) string { return o.Facts.Role })
	e.Site = pick(m, "site", obs, func(o *sources.Observation) string { return o.Facts.Site })
	e.Location = pick(m, "location", obs, func(o *sources.Observation) string { return o.Facts.Location })
	e.Status = pick(m, "status", obs, func(o *sources.Observation) string { return o.Facts.Status })
	e.VCPUs = pick(m, "vcpus", obs, func(o *sources.Observation) float64 { return o.Facts.VCPUs })
	e.MemoryMB = pick(m, "memory_mb", obs, func(o *sources.Observation) int64 { return o.Facts.MemoryMB })
	e.DiskMB = pick(m, "disk_mb", obs, func(o *sources.Observation) int64 { return o.Facts.DiskMB })
	e.OS = pick(m, "os", obs, func(o *sources.Observation) string { return o.Facts.OS })
	e.Description = pick(m, "description", obs, func(o *sources.Observation) string { return o.Facts.Description })
	parentField := func(f func(*sources.Parent) string) func(*sources.Observation) string {
		return func(o *sources.Observation) string {
			if o.Parent == nil {
				return ""
			}
			return f(o.Parent)
		}
	}
	e.Cluster = pick(m, "cluster", obs, parentField(func(p *sources.Parent) string { return p.Cluster }))
	e.ClusterType = pick(m, "cluster", obs, parentField(func(p *sources.Parent) string { return p.ClusterType }))
	e.Node = pick(m, "cluster", obs, parentField(func(p *sources.Parent) string { return p.Node }))

	var macs []sources.MAC
	var ips []netip.Addr
	for _, o := range obs {
		macs = append(macs, o.Keys.MACs...)
		ips = append(ips, o.Keys.IPs...)
		e.Tags = append(e.Tags, o.Facts.Tags...)
	}
	slices.Sort(macs)
	e.MACs = slices.Compact(macs)
	slices.SortFunc(ips, func(a, b netip.Addr) int { return a.Compare(b) })
	e.IPs = slices.Compact(ips)
	slices.Sort(e.Tags)
	e.Tags = slices.Compact(e.Tags)

	for _, o := range m.byRank("attributes", obs) {
		for k, v := range o.Facts.Attributes {
			if _, seen := e.Attributes[k]; !seen && v != "" {
				if e.Attributes == nil {
					e.Attributes = map[string]Value[string]{}
				}
				e.Attributes[k] = Value[string]{V: v, Source: o.Source}
			}
		}
	}
	e.Interfaces = mergeInterfaces(m.byRank("interfaces", obs))
	e.Services = mergeServices(m.byRank("services", obs))
	for _, o := range m.byRank("disks", obs) {
		if len(o.Disks) > 0 {
			for _, d := range o.Disks {
				e.Disks = append(e.Disks, EntityDisk{Disk: d, Source: o.Source})
			}
			slices.SortFunc(e.Disks, func(a, b EntityDisk) int { return cmp.Compare(a.Name, b.Name) })
			break
		}
	}
	slices.SortFunc(evidence, func(a, b Evidence) int { return cmp.Compare(a.Key, b.Key) })
	e.Evidence = evidence
	return e
}

// mergeInterfaces joins interfaces across sources by MAC, then by a shared IP, then by name;
// obs come best first, so the best source names the interface.
func mergeInterfaces(obs []*sources.Observation) []EntityInterface {
	var out []EntityInterface
	find := func(ifc sources.Interface) int {
		if ifc.MAC != "" {
			for i := range out {
				if out[i].MAC == ifc.MAC {
					return i
				}
			}
		}
		for i := range out {
			if ifc.MAC != "" && out[i].MAC != "" {
				continue // two different MACs are two interfaces
			}
			for _, p := range ifc.IPs {
				if slices.ContainsFunc(out[i].IPs, func(q netip.Prefix) bool { return q.Addr() == p.Addr() }) {
					return i
				}
			}
		}
		if ifc.Name != "" {
			for i := range out {
				if out[i].Name.V == ifc.Name && (ifc.MAC == "" || out[i].MAC == "") {
					return i
				}
			}
		}
		return -1
	}
	for _, o := range obs {
		for _, ifc := range o.Interfaces {
			i := find(ifc)
			if i < 0 {
				out = append(out, EntityInterface{MAC: ifc.MAC, VLAN: ifc.VLAN, Bridge: ifc.Bridge, Type: ifc.Type, Enabled: ifc.Enabled})
				i = len(out) - 1
			}
			cur := &out[i]
			if cur.Name.V == "" && ifc.Name != "" {
				cur.Name = Value[string]{V: ifc.Name, Source: o.Source}
			}
			if cur.MAC == "" {
				cur.MAC = ifc.MAC
			}
			cur.VLAN = cmp.Or(cur.VLAN, ifc.VLAN)
			cur.Bridge = cmp.Or(cur.Bridge, ifc.Bridge)
			cur.Type = cmp.Or(cur.Type, ifc.Type)
			if cur.Enabled == nil {
				cur.Enabled = ifc.Enabled
			}
			for _, p := range ifc.IPs {
				j := slices.IndexFunc(cur.IPs, func(q netip.Prefix) bool { return q.Addr() == p.Addr() })
				switch {
				case j < 0:
					cur.IPs = append(cur.IPs, p)
				case cur.IPs[j].IsSingleIP() && !p.IsSingleIP():
					// A bare address (an inventory line, a DHCP lease) says nothing of the
					// subnet: the prefix a system reports for its own interface wins.
					cur.IPs[j] = p
				}
			}
			if !slices.Contains(cur.Sources, o.Source) {
				cur.Sources = append(cur.Sources, o.Source)
			}
		}
	}
	for i := range out {
		slices.SortFunc(out[i].IPs, func(a, b netip.Prefix) int { return a.Addr().Compare(b.Addr()) })
		slices.Sort(out[i].Sources)
	}
	slices.SortFunc(out, func(a, b EntityInterface) int {
		if c := cmp.Compare(a.Name.V, b.Name.V); c != 0 {
			return c
		}
		return cmp.Compare(a.MAC, b.MAC)
	})
	return out
}

// mergeServices joins services by protocol and ports; obs come best first, so the best source
// names the service.
func mergeServices(obs []*sources.Observation) []EntityService {
	type svcKey struct{ proto, ports string }
	byKey := map[svcKey]*EntityService{}
	for _, o := range obs {
		for _, s := range o.Services {
			k := svcKey{s.Protocol, fmt.Sprint(s.Ports)}
			es, ok := byKey[k]
			if !ok {
				es = &EntityService{Service: s}
				es.Ports = slices.Clone(s.Ports)
				byKey[k] = es
			}
			if !slices.Contains(es.Sources, o.Source) {
				es.Sources = append(es.Sources, o.Source)
			}
		}
	}
	out := make([]EntityService, 0, len(byKey))
	for _, es := range byKey {
		slices.Sort(es.Sources)
		out = append(out, *es)
	}
	slices.SortFunc(out, func(a, b EntityService) int {
		if c := cmp.Compare(a.Protocol, b.Protocol); c != 0 {
			return c
		}
		if c := slices.Compare(a.Ports, b.Ports); c != 0 {
			return c
		}
		return cmp.Compare(a.Name, b.Name)
	})
	return out
}
