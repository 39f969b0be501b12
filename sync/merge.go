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
