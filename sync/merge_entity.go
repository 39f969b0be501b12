package sync

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"

	"github.com/netbox-agent/netbox-agent/sources"
)

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
	slices.SortFunc(out, func(a, b EntityService) int { return sources.CompareServices(a.Service, b.Service) })
	return out
}
