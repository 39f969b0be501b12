package sync

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/netbox-agent/netbox-agent/sources"
)

// Status values NetBox accepts; anything else from a source is left out.
var (
	deviceStatuses = []string{"offline", "active", "planned", "staged", "failed", "inventory", "decommissioning"}
	vmStatuses     = []string{"offline", "active", "planned", "staged", "failed", "decommissioning", "paused"}
	// interface types the agent passes through; others become "other".
	interfaceTypes = []string{"virtual", "bridge", "lag", "other", "100base-tx", "1000base-t", "2.5gbase-t",
		"5gbase-t", "10gbase-t", "10gbase-x-sfpp", "25gbase-x-sfp28", "40gbase-x-qsfpp", "100gbase-x-qsfp28",
		"ieee802.11a", "ieee802.11g", "ieee802.11n", "ieee802.11ac", "ieee802.11ax"}
)

// planEntity plans one entity: a device, a virtual machine, or (hosts seen only on the
// network) IP addresses.
func (p *planner) planEntity(e *Entity) {
	for _, s := range e.Sources {
		p.adapters[s.Source] = s.Adapter
	}
	switch e.Kind {
	case sources.KindVM:
		p.planVM(e)
	case sources.KindDevice:
		p.planDevice(e, false)
	default:
		if p.cfg.Hosts == "device" {
			p.planDevice(e, true)
		} else {
			p.planHost(e)
		}
	}
}

func entityName(e *Entity) string {
	if e.Name.V != "" {
		return e.Name.V
	}
	short, _ := sources.SplitFQDN(e.FQDN.V)
	return short
}

func (p *planner) conflict(c *Conflict) { p.plan.Conflicts = append(p.plan.Conflicts, *c) }

// writableName is the entity's name, or false (noted, and every fact of the entity not
// written) when NetBox cannot take it: none, or longer than NetBox's 64 characters.
func (p *planner) writableName(e *Entity, kind string) (string, bool) {
	name := entityName(e)
	if name == "" {
		p.note(e.ID, "name", "no source names this %s: not written", kind)
		p.entityNotWritten(e, e.ID, "no source names this "+kind)
		return "", false
	}
	if utf8.RuneCountInString(name) > machineNameLimit { // NetBox counts characters, not bytes
		p.note(e.ID, "name", "name %q is longer than NetBox's %d characters: not written", name, machineNameLimit)
		p.entityNotWritten(e, e.ID, fmt.Sprintf("the %s's name is longer than NetBox's %d characters", kind, machineNameLimit))
		return "", false
	}
	return name, true
}

func (p *planner) planDevice(e *Entity, host bool) {
	name, ok := p.writableName(e, "device")
	if !ok {
		return
	}
	site, siteName := p.site(e)
	m, c := p.match(e, epDevices, idOf(site))
	if c != nil {
		p.conflict(c)
		p.entityNotWritten(e, name, "match conflict: "+c.Reason)
		return
	}
	sid, _ := site.(int64)
	if m.skip {
		return
	}
	if why := p.nameTaken(e, epDevices, fmt.Sprint(site), name, m.obj, func(o Object) bool { return int64(refID(o, "site")) == sid }); why != "" {
		p.note(e.ID, "name", "%s: not written", why)
		p.entityNotWritten(e, name, why)
		return
	}
	mfr := p.manufacturerName(e.Manufacturer.V)
	model := cmpOr(strings.TrimSpace(e.Model.V), p.cfg.UnknownModel)
	var dt any
	if e.Model.V != "" || m.obj == nil {
		dt = p.deviceType(mfr, model)
	}
	roleName := p.roleName(e, host)
	var role any
	if roleName != "" {
		role = p.ensureShared(epDeviceRoles, levelRoles, "device role", roleName, nil, roleName,
			map[string]any{"name": roleName, "color": "9e9e9e", "vm_role": true})
	}
	var location any
	if ln := strings.TrimSpace(e.Location.V); ln != "" && p.cfg.Locations {
		sid, existing := site.(int64)
		location = p.ensureShared(epLocations, levelLocations, "location", ln,
			func(o Object) bool { return existing && int64(refID(o, "site")) == sid }, siteName+"/"+ln,
			map[string]any{"name": ln, "slug": slugify(ln), "site": site, "status": "active"})
	}
	fields := []want{
		{field: "name", value: name, source: e.Name.Source},
		{field: "location", value: location, source: e.Location.Source, display: e.Location.V},
		{field: "device_type", value: dt, source: e.Model.Source, display: mfr + " " + model},
		{field: "role", value: role, source: e.Role.Source, display: roleName},
		{field: "site", value: site, display: siteName},
		{field: "cluster", value: p.deviceCluster(e, site), source: e.Cluster.Source, display: e.Cluster.V},
		{field: "platform", value: p.platform(e), source: e.Platform.Source, display: platformName(e.Platform.V)},
		{field: "serial", value: strOrNil(e.Serial.V), source: e.Serial.Source},
		{field: "status", value: statusOrNil(e.Status.V, deviceStatuses), source: e.Status.Source},
		{field: "description", value: strOrNil(e.Description.V), source: e.Description.Source},
	}
	p.planMachine(e, m, epDevices, name, fields)
}

// cluster returns the entity's cluster (planning it and its type when NetBox has none), or
// nil when no source places the entity in one.
func (p *planner) cluster(e *Entity) any {
	cn := strings.TrimSpace(e.Cluster.V)
	if cn == "" {
		return nil
	}
	ctName := cmpOr(strings.TrimSpace(e.ClusterType.V), p.cfg.DefaultClusterType)
	ct := p.ensureShared(epClusterTypes, levelClusterTypes, "cluster type", ctName, nil, ctName, map[string]any{"name": ctName})
	return p.ensureShared(epClusters, levelClusters, "cluster", cn, nil, cn,
		map[string]any{"name": cn, "type": ct, "status": "active"})
}

// deviceCluster is the cluster a device (a hypervisor node) belongs to, or nil. NetBox refuses
// a device in a cluster scoped to another site: then the device stays out of it, with a note.
func (p *planner) deviceCluster(e *Entity, site any) any {
	cluster := p.cluster(e)
	if cluster == nil {
		return nil
	}
	if co := p.s.byID[epClusters][idOf(cluster)]; co != nil && objStr(co, "scope_type") == "dcim.site" &&
		toInt(co["scope_id"]) != 0 && toInt(co["scope_id"]) != idOf(site) {
		p.note(e.ID, "cluster", "cluster %q is scoped to another site than the device's: not assigned", e.Cluster.V)
		return nil
	}
	return cluster
}

func (p *planner) planVM(e *Entity) {
	name, ok := p.writableName(e, "virtual machine")
	if !ok {
		return
	}
	var cluster any
	scope := 0
	site, siteName := p.site(e)
	if cluster = p.cluster(e); cluster != nil {
		scope = idOf(cluster)
		if co := p.s.byID[epClusters][scope]; co != nil && objStr(co, "scope_type") == "dcim.site" && toInt(co["scope_id"]) != 0 {
			site = int64(toInt(co["scope_id"])) // a VM must sit in its cluster's site
			siteName = fmt.Sprint(displayOf(co["scope"]))
		}
	}
	m, c := p.match(e, epVMs, scope)
	if c != nil {
		p.conflict(c)
		p.entityNotWritten(e, name, "match conflict: "+c.Reason)
		return
	}
	if m.skip {
		return
	}
	if why := p.nameTaken(e, epVMs, fmt.Sprint(cluster), name, m.obj, func(o Object) bool { return refID(o, "cluster") == scope }); why != "" {
		p.note(e.ID, "name", "%s: not written", why)
		p.entityNotWritten(e, name, why)
		return
	}
	var role any
	if rn := p.roleName(e, false); rn != "" {
		role = p.ensureShared(epDeviceRoles, levelRoles, "device role", rn, nil, rn,
			map[string]any{"name": rn, "color": "9e9e9e", "vm_role": true})
	}
	var disk any
	if len(e.Disks) == 0 && e.DiskMB.V > 0 { // with virtual disks NetBox sums them itself
		disk = e.DiskMB.V
	}
	var vcpus, mem any
	if e.VCPUs.V > 0 {
		vcpus = e.VCPUs.V
	}
	if e.MemoryMB.V > 0 {
		mem = e.MemoryMB.V
	}
	fields := []want{
		{field: "name", value: name, source: e.Name.Source},
		{field: "cluster", value: cluster, source: e.Cluster.Source, display: e.Cluster.V},
		{field: "site", value: site, display: siteName},
		{field: "role", value: role, source: e.Role.Source},
		{field: "platform", value: p.platform(e), source: e.Platform.Source, display: platformName(e.Platform.V)},
		{field: "status", value: statusOrNil(e.Status.V, vmStatuses), source: e.Status.Source},
		{field: "vcpus", value: vcpus, source: e.VCPUs.Source},
		{field: "memory", value: mem, source: e.MemoryMB.Source},
		{field: "disk", value: disk, source: e.DiskMB.Source},
		{field: "description", value: strOrNil(e.Description.V), source: e.Description.Source},
	}
	p.planMachine(e, m, epVMs, name, fields)
}

// planMachine plans a device or VM with its interfaces, MACs, IPs, services and disks.
func (p *planner) planMachine(e *Entity, m matchResult, ep, name string, fields []want) {
	typ := typeOf(ep)
	key := p.uniqueKey(strings.ReplaceAll(typ, " ", "-") + ":" + e.ID)
	var mref any = ref(key)
	rec := ownerRecord{ID: e.ID, Keys: ownerKeys{Serial: e.Serial.V, SystemUUID: e.SystemUUID.V, MACs: strongMACs(e)}}
	for _, s := range e.Sources {
		rec.Sources = append(rec.Sources, ownerSource{Source: s.Source, NativeID: s.NativeID})
	}
	if m.obj != nil {
		mref = int64(objID(m.obj))
		if old, ok := ownership(m.obj, p.cfg.CustomField); ok {
			rec.Created, rec.Written = old.Created, old.Written
			rec.Sources = p.keepUnrunSources(old.Sources, rec.Sources)
		}
		p.claimed[objKey(ep, objID(m.obj))] = e.ID
		p.seenMachines[objKey(ep, objID(m.obj))] = true
	}
	v4, v6 := p.planInterfaces(e, ep, m.obj, mref, name)
	// both always listed: without a value the record keeps what the agent last wrote
	late := []want{{field: "primary_ip4"}, {field: "primary_ip6"}}
	if v4 != nil {
		late[0] = *v4
	}
	if v6 != nil {
		late[1] = *v6
	}
	p.upsert(upsert{key: key, ep: ep, typ: typ, name: name, entity: e.ID, level: levelMachines,
		lateLevel: levelPrimary, cur: m.obj, rec: rec, fields: fields, late: late})
	p.planServices(e, ep, m.obj, mref, name)
	if ep == epVMs {
		p.planDisks(e, m.obj, mref, name)
	} else {
		p.disksNotWritten(e, name, "NetBox has virtual disks for virtual machines only; a device's disks are not written")
	}
}

func firstOf(s []string) string {
	if len(s) > 0 {
		return s[0]
	}
	return ""
}

func sourceNames(names []string) []ownerSource {
	out := make([]ownerSource, 0, len(names))
	for _, n := range names {
		out = append(out, ownerSource{Source: n})
	}
	return out
}

func (p *planner) planServices(e *Entity, mep string, mobj Object, mref any, machine string) {
	var existing []Object
	if mobj != nil {
		existing = p.s.servicesOf[objKey(mep, objID(mobj))]
	}
	ptype := "dcim.device"
	if mep == epVMs {
		ptype = "virtualization.virtualmachine"
	}
	for _, svc := range e.Services {
		if len(svc.Ports) == 0 {
			p.notWritten(e, machine, FactService, serviceValue(svc.Service), "no port: NetBox services need at least one")
			continue
		}
		if svc.Protocol != "tcp" && svc.Protocol != "udp" && svc.Protocol != "sctp" {
			p.notWritten(e, machine, FactService, serviceValue(svc.Service), "protocol %q: NetBox services are tcp, udp or sctp", svc.Protocol)
			continue
		}
		name := cmpOr(svc.Name, fmt.Sprintf("%s/%d", svc.Protocol, svc.Ports[0]))
		var cur Object
		for _, o := range existing {
			if strings.EqualFold(objStr(o, "name"), name) && objStr(o, "protocol") == svc.Protocol && p.claimed[objKey(epServices, objID(o))] == "" {
				cur = o
				break
			}
		}
		key := p.uniqueKey("service:" + e.ID + "/" + svc.Protocol + "/" + name)
		rec := ownerRecord{ID: svc.Protocol + "/" + name, Sources: sourceNames(svc.Sources)}
		if cur != nil {
			if old, ok := ownership(cur, p.cfg.CustomField); ok {
				rec.Created, rec.Written = old.Created, old.Written
			}
		}
		ports := slices.Clone(svc.Ports)
		slices.Sort(ports)
		p.upsert(upsert{key: key, ep: epServices, typ: "service", name: name + " on " + machine, entity: e.ID,
			level: levelServices, cur: cur, rec: rec, fields: []want{
				{field: "name", value: name},
				{field: "protocol", value: svc.Protocol},
				{field: "ports", value: ports, source: firstOf(svc.Sources)},
				{field: "description", value: strOrNil(svc.Description), source: firstOf(svc.Sources)},
				{field: "parent_object_type", value: ptype, createOnly: true},
				{field: "parent_object_id", value: mref, createOnly: true},
			}})
	}
}

func (p *planner) planDisks(e *Entity, mobj Object, mref any, machine string) {
	var existing []Object
	if mobj != nil {
		existing = p.s.disksOf[objID(mobj)]
	}
	for _, d := range e.Disks {
		if d.Name == "" {
			p.notWritten(e, machine, FactDisk, fmt.Sprintf("(%d MB)", d.SizeMB), "no name: NetBox virtual disks need one")
			continue
		}
		if d.SizeMB <= 0 {
			p.notWritten(e, machine, FactDisk, d.Name, "size %d MB: NetBox virtual disks need a positive size", d.SizeMB)
			continue
		}
		var cur Object
		for _, o := range existing {
			if objStr(o, "name") == d.Name {
				cur = o
			}
		}
		key := p.uniqueKey("virtual-disk:" + e.ID + "/" + d.Name)
		rec := ownerRecord{ID: d.Name, Sources: sourceNames([]string{d.Source})}
		if cur != nil {
			if old, ok := ownership(cur, p.cfg.CustomField); ok {
				rec.Created, rec.Written = old.Created, old.Written
			}
		}
		p.upsert(upsert{key: key, ep: epVirtualDisks, typ: "virtual disk", name: d.Name + " on " + machine, entity: e.ID,
			level: levelDisks, cur: cur, rec: rec, fields: []want{
				{field: "name", value: d.Name},
				{field: "size", value: d.SizeMB, source: d.Source},
				{field: "virtual_machine", value: mref, createOnly: true},
			}})
	}
}

func idOf(v any) int {
	if id, ok := v.(int64); ok {
		return int(id)
	}
	return 0
}

func strOrNil(s string) any {
	if s = strings.TrimSpace(s); s != "" {
		return s
	}
	return nil
}

func statusOrNil(s string, allowed []string) any {
	s = strings.ToLower(strings.TrimSpace(s))
	if slices.Contains(allowed, s) {
		return s
	}
	return nil
}

// keepUnrunSources keeps, in an object's record, the sources that saw it before and did not
// run this time (failed, or not selected): what they last said still stands. Without it a
// source's outage would rewrite the record of everything it sees, and a later run could take
// an object it still sees for one nobody sees.
func (p *planner) keepUnrunSources(old, cur []ownerSource) []ownerSource {
	out := cur
	for _, s := range old {
		if !p.ran[s.Source] && !slices.Contains(out, s) {
			if len(out) == len(cur) {
				out = slices.Clone(cur)
			}
			out = append(out, s)
		}
	}
	if len(out) != len(cur) {
		slices.SortFunc(out, func(a, b ownerSource) int {
			return cmp.Or(cmp.Compare(a.Source, b.Source), cmp.Compare(a.NativeID, b.NativeID))
		})
	}
	return out
}
