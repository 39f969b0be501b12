package sync

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"unicode"

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

func (p *planner) planDevice(e *Entity, host bool) {
	name := entityName(e)
	if name == "" {
		p.note(e.ID, "name", "no source names this device: not written")
		p.entityNotWritten(e, e.ID, "no source names this device")
		return
	}
	if len(name) > 64 {
		p.note(e.ID, "name", "name %q is longer than NetBox's 64 characters: not written", name)
		p.entityNotWritten(e, e.ID, "the device's name is longer than NetBox's 64 characters")
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
	name := entityName(e)
	if name == "" {
		p.note(e.ID, "name", "no source names this virtual machine: not written")
		p.entityNotWritten(e, e.ID, "no source names this virtual machine")
		return
	}
	if len(name) > 64 {
		p.note(e.ID, "name", "name %q is longer than NetBox's 64 characters: not written", name)
		p.entityNotWritten(e, e.ID, "the virtual machine's name is longer than NetBox's 64 characters")
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

// planInterfaces plans the machine's interfaces with their MACs (primary MAC) and IPs, and
// returns the primary IPv4 and IPv6 the machine should point to.
func (p *planner) planInterfaces(e *Entity, mep string, mobj Object, mref any, machine string) (v4, v6 *want) {
	ifep, parentField, atype := epInterfaces, "device", "dcim.interface"
	if mep == epVMs {
		ifep, parentField, atype = epVMInterfaces, "virtual_machine", "virtualization.vminterface"
	}
	var existing []Object
	if mobj != nil {
		existing = p.s.ifacesOf[objKey(mep, objID(mobj))]
	}
	for _, ifc := range placeInterfaces(e) {
		name := ifc.Name.V
		var cur Object
		for _, o := range existing {
			if objStr(o, "name") == name && p.claimed[objKey(ifep, objID(o))] == "" {
				cur = o
				break
			}
		}
		if cur == nil && ifc.MAC != "" {
			for _, o := range existing {
				if p.claimed[objKey(ifep, objID(o))] != "" {
					continue
				}
				for _, mo := range p.s.macsOf[objKey(ifep, objID(o))] {
					if strings.EqualFold(objStr(mo, "mac_address"), string(ifc.MAC)) {
						cur = o
					}
				}
			}
		}
		ifName := machine + " " + name
		key := p.uniqueKey(strings.ReplaceAll(typeOf(ifep), " ", "-") + ":" + e.ID + "/" + name)
		var ifref any = ref(key)
		ifk := ""
		rec := ownerRecord{ID: name, Sources: sourceNames(ifc.Sources)}
		if cur != nil {
			ifref = int64(objID(cur))
			ifk = objKey(ifep, objID(cur))
			p.claimed[ifk] = e.ID
			if old, ok := ownership(cur, p.cfg.CustomField); ok {
				rec.Created, rec.Written = old.Created, old.Written
			}
		}
		late := []want{{field: "primary_mac_address"}}
		if ifc.MAC != "" {
			macRef := p.planMAC(e, ifc, ifep, ifk, ifref, atype, ifName)
			late[0] = want{field: "primary_mac_address", value: macRef, source: firstOf(ifc.Sources), display: string(ifc.MAC)}
		}
		fields := []want{
			{field: "name", value: name, source: ifc.Name.Source},
			{field: parentField, value: mref, createOnly: true},
		}
		if ifep == epInterfaces {
			t := "other"
			if slices.Contains(interfaceTypes, ifc.Type) {
				t = ifc.Type
			}
			fields = append(fields, want{field: "type", value: t, createOnly: true})
		}
		if ifc.Enabled != nil {
			fields = append(fields, want{field: "enabled", value: boolStr(*ifc.Enabled), source: firstOf(ifc.Sources)})
		}
		p.upsert(upsert{key: key, ep: ifep, typ: typeOf(ifep), name: ifName, entity: e.ID, level: levelInterfaces,
			lateLevel: levelPrimary, cur: cur, rec: rec, fields: fields, late: late})
		for _, pfx := range ifc.IPs {
			if !p.writableIP(e, machine, pfx) {
				continue
			}
			if why := interfaceIPProblem(pfx); why != "" { // ipvalid.go
				p.note(ifName, "ip", "%s: left out", why)
				p.notWritten(e, machine, FactIP, pfx.String(), why)
				continue
			}
			ipRef := p.planIP(e, pfx, ifk, ifref, atype, sourceNames(ifc.Sources), ifName, machine)
			if ipRef == nil {
				continue
			}
			w := &want{value: ipRef, display: pfx.String()}
			if pfx.Addr().Is4() && v4 == nil {
				w.field = "primary_ip4"
				v4 = w
			} else if pfx.Addr().Is6() && v6 == nil && !pfx.Addr().IsLinkLocalUnicast() {
				w.field = "primary_ip6"
				v6 = w
			}
		}
	}
	return v4, v6
}

// boolStr keeps booleans comparable with norm (which passes bools through).
func boolStr(b bool) any { return b }

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

func (p *planner) planMAC(e *Entity, ifc EntityInterface, ifep, ifk string, ifref any, atype, ifName string) any {
	var cur Object
	if ifk != "" {
		for _, mo := range p.s.macsOf[ifk] {
			if strings.EqualFold(objStr(mo, "mac_address"), string(ifc.MAC)) {
				cur = mo
				break
			}
		}
	}
	key := p.uniqueKey("mac-address:" + e.ID + "/" + string(ifc.MAC))
	rec := ownerRecord{ID: string(ifc.MAC), Sources: sourceNames(ifc.Sources)}
	if cur != nil {
		if old, ok := ownership(cur, p.cfg.CustomField); ok {
			rec.Created, rec.Written = old.Created, old.Written
		}
	}
	return p.upsert(upsert{key: key, ep: epMACs, typ: "mac address", name: string(ifc.MAC) + " on " + ifName, entity: e.ID,
		level: levelMACs, cur: cur, rec: rec, fields: []want{
			{field: "mac_address", value: string(ifc.MAC)},
			{field: "assigned_object_type", value: atype, createOnly: true},
			{field: "assigned_object_id", value: ifref, createOnly: true},
		}})
}

// planIP plans an IP address assigned to an interface. An IP NetBox already has elsewhere is
// taken over only when it is unassigned, or the agent's own and not a primary IP; otherwise
// it is left where it is and a note says so (no duplicates, no guesses).
func (p *planner) planIP(e *Entity, pfx netip.Prefix, ifk string, ifref any, atype string, srcs []ownerSource, ifName, machine string) any {
	addr := pfx.Addr()
	if owner, taken := p.addrs[addr.String()]; taken {
		if owner != e.ID {
			p.note(ifName, "ip", "%s is also claimed by entity %s in this run: assigned to neither twice", pfx, owner)
			p.notWritten(e, machine, FactIP, pfx.String(), "conflict: also claimed by entity %s in this run (written for the first only)", owner)
		}
		return nil
	}
	var cur Object
	force := false
	if ifk != "" {
		for _, o := range p.s.ipsOf[ifk] {
			if a, err := netip.ParsePrefix(objStr(o, "address")); err == nil && a.Addr() == addr {
				cur = o
			}
		}
	}
	if cur == nil {
		var cands []Object
		for _, o := range p.s.ipsByAddr[addr] {
			if p.claimed[objKey(epIPs, objID(o))] == "" {
				cands = append(cands, o)
			}
		}
		switch len(cands) {
		case 0:
		case 1:
			o := cands[0]
			ak := assignedKey(o)
			rec, owned := ownership(o, p.cfg.CustomField)
			switch {
			case ak == "":
				cur = o
			case owned && rec.Created && !p.isPrimaryIP(o):
				cur, force = o, true
			default:
				p.note(ifName, "ip", "%s is already assigned to another interface in NetBox (ip address id %d): left there", pfx, objID(o))
				p.notWritten(e, machine, FactIP, pfx.String(), "conflict: assigned to another interface in NetBox (ip address id %d), left there", objID(o))
				return nil
			}
		default:
			p.note(ifName, "ip", "%s exists %d times in NetBox: the agent does not guess which one is %s's", pfx, len(cands), ifName)
			p.notWritten(e, machine, FactIP, pfx.String(), "conflict: the address exists %d times in NetBox; the agent does not guess", len(cands))
			return nil
		}
	}
	p.addrs[addr.String()] = e.ID
	key := p.uniqueKey("ip-address:" + e.ID + "/" + addr.String())
	rec := ownerRecord{ID: addr.String(), Sources: srcs}
	if cur != nil {
		if old, ok := ownership(cur, p.cfg.CustomField); ok {
			rec.Created, rec.Written = old.Created, old.Written
		}
	}
	return p.upsert(upsert{key: key, ep: epIPs, typ: "ip address", name: pfx.String() + " on " + ifName, entity: e.ID,
		level: levelIPs, cur: cur, rec: rec, fields: []want{
			{field: "address", value: pfx.String()},
			{field: "status", value: "active"},
			{field: "assigned_object_type", value: atype, force: force},
			{field: "assigned_object_id", value: ifref, force: force},
		}})
}

func (p *planner) isPrimaryIP(ip Object) bool {
	parent := p.s.interfaceParent(assignedKey(ip))
	var ep string
	var id int
	if _, err := fmt.Sscanf(strings.Replace(parent, ":", " ", 1), "%s %d", &ep, &id); err != nil {
		return false
	}
	o := p.s.byID[ep][id]
	return o != nil && (refID(o, "primary_ip4") == objID(ip) || refID(o, "primary_ip6") == objID(ip))
}

func usableIP(a netip.Addr) bool {
	return a.IsValid() && !a.IsUnspecified() && !a.IsLoopback() && !a.IsLinkLocalUnicast() && !a.IsMulticast()
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

// planHost plans an entity no source called a device or VM (nmap, DHCP): by default its IP
// addresses only, unassigned, with the name as description and the FQDN as DNS name. An IP
// NetBox already has on some interface is left alone: it is a known machine's address.
func (p *planner) planHost(e *Entity) {
	var pfxs []netip.Prefix
	for _, ifc := range e.Interfaces {
		pfxs = append(pfxs, ifc.IPs...)
	}
	for _, a := range e.IPs {
		if !slices.ContainsFunc(pfxs, func(q netip.Prefix) bool { return q.Addr() == a }) {
			pfxs = append(pfxs, netip.PrefixFrom(a, a.BitLen()))
		}
	}
	srcs := make([]ownerSource, 0, len(e.Sources))
	for _, s := range e.Sources {
		srcs = append(srcs, ownerSource{Source: s.Source, NativeID: s.NativeID})
	}
	object := cmpOr(entityName(e), e.ID)
	const ipOnly = "hosts: ip (the default for things seen only on the network) writes IP addresses only; hosts: device writes a device with its interfaces"
	for _, m := range e.MACs {
		p.notWritten(e, object, FactMAC, string(m), ipOnly)
	}
	p.servicesNotWritten(e, object, ipOnly)
	p.disksNotWritten(e, object, ipOnly)
	for _, pfx := range pfxs {
		addr := pfx.Addr()
		if !p.writableIP(e, object, pfx) {
			continue
		}
		if why := addressProblem(pfx); why != "" { // ipvalid.go
			p.note(entityName(e), "ip", "%s: left out", why)
			p.notWritten(e, object, FactIP, pfx.String(), why)
			continue
		}
		if owner, taken := p.addrs[addr.String()]; taken {
			if owner != e.ID {
				p.notWritten(e, object, FactIP, pfx.String(), "on entity %s, a machine of this run that has the address", owner)
			}
			continue
		}
		var cands []Object
		for _, o := range p.s.ipsByAddr[addr] {
			if p.claimed[objKey(epIPs, objID(o))] == "" {
				cands = append(cands, o)
			}
		}
		var cur Object
		switch len(cands) {
		case 0:
		case 1:
			if assignedKey(cands[0]) != "" {
				// a machine's address (owned or not): a host entity never rewrites it
				if _, owned := ownership(cands[0], p.cfg.CustomField); !owned {
					p.notWritten(e, object, FactIP, pfx.String(), "already on an interface in NetBox (ip address id %d): a known machine's address, left there", objID(cands[0]))
				}
				continue
			}
			cur = cands[0]
		default:
			p.conflict(&Conflict{Kind: "match", Key: e.ID, Reason: fmt.Sprintf("%s exists %d times in NetBox; the agent does not guess", pfx, len(cands))})
			p.notWritten(e, object, FactIP, pfx.String(), "conflict: the address exists %d times in NetBox; the agent does not guess", len(cands))
			continue
		}
		p.addrs[addr.String()] = e.ID
		rec := ownerRecord{ID: e.ID, Sources: srcs, Keys: ownerKeys{MACs: strongMACs(e)}}
		if cur != nil {
			if old, ok := ownership(cur, p.cfg.CustomField); ok {
				rec.Created, rec.Written = old.Created, old.Written
				rec.Sources = p.keepUnrunSources(old.Sources, rec.Sources)
			}
		}
		name := pfx.String()
		if n := entityName(e); n != "" {
			name += " (" + n + ")"
		}
		p.upsert(upsert{key: p.uniqueKey("ip-address:" + e.ID + "/" + addr.String()), ep: epIPs, typ: "ip address",
			name: name, entity: e.ID, level: levelIPs, cur: cur, rec: rec, fields: []want{
				{field: "address", value: pfx.String()},
				{field: "status", value: "active"},
				{field: "dns_name", value: strOrNil(e.FQDN.V), source: e.FQDN.Source},
				{field: "description", value: strOrNil(entityName(e)), source: e.Name.Source},
			}})
	}
}

// site picks the entity's site: per source, per subnet, the source's hint if allowed, else
// the one default site.
func (p *planner) site(e *Entity) (any, string) {
	name := ""
	for _, s := range e.Sources {
		if n, ok := p.cfg.SitePerSource[s.Source]; ok && name == "" {
			name = n
		} else if n, ok := p.cfg.SitePerSource[s.Adapter]; ok && name == "" {
			name = n
		}
	}
	if name == "" {
		for _, r := range p.cfg.SitePerSubnet {
			pfx, err := netip.ParsePrefix(r.Prefix)
			if err == nil && slices.ContainsFunc(e.IPs, pfx.Contains) {
				name = r.Site
				break
			}
		}
	}
	if name == "" && p.cfg.UseSiteHints {
		name = strings.TrimSpace(e.Site.V)
	}
	name = cmpOr(name, p.cfg.Site)
	return p.ensureShared(epSites, levelSites, "site", name, nil, name, map[string]any{"name": name, "status": "active"}), name
}

func (p *planner) manufacturerName(raw string) string {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return p.cfg.UnknownManufacturer
	}
	l := strings.ToLower(raw)
	for k, v := range p.cfg.ManufacturerAliases {
		if strings.ToLower(k) == l {
			return v
		}
	}
	if v, ok := builtinManufacturerAliases[l]; ok {
		return v
	}
	return raw
}

func (p *planner) deviceType(mfr, model string) any {
	mref := p.ensureShared(epManufacturers, levelManufacturers, "manufacturer", mfr, nil, mfr, map[string]any{"name": mfr})
	mid, existing := mref.(int64)
	filter := func(o Object) bool { return existing && int64(refID(o, "manufacturer")) == mid }
	return p.ensureShared(epDeviceTypes, levelDeviceTypes, "device type", model, filter, mfr+"/"+model,
		map[string]any{"manufacturer": mref, "model": model, "slug": slugify(model)})
}

// roleName applies the role rules; a hint without a rule is title-cased; devices without a
// hint get the default role, VMs none.
func (p *planner) roleName(e *Entity, host bool) string {
	kind := string(e.Kind)
	for _, r := range p.cfg.Roles {
		if r.Hint != "" && !strings.EqualFold(r.Hint, e.Role.V) {
			continue
		}
		if r.Kind != "" && r.Kind != kind {
			continue
		}
		if r.Source != "" && !slices.ContainsFunc(e.Sources, func(s SourceRef) bool { return s.Source == r.Source || s.Adapter == r.Source }) {
			continue
		}
		return r.Role
	}
	if h := strings.TrimSpace(e.Role.V); h != "" {
		return roleCase(h)
	}
	switch {
	case host:
		return p.cfg.HostRole
	case e.Kind == sources.KindDevice:
		return p.cfg.DefaultRole
	}
	return ""
}

// roleAcronyms are role words NetBox users write in capitals.
var roleAcronyms = map[string]string{"nas": "NAS", "san": "SAN", "ups": "UPS", "pdu": "PDU", "nvr": "NVR", "dvr": "DVR",
	"ap": "AP", "iot": "IoT", "kvm": "KVM", "dns": "DNS", "dhcp": "DHCP", "vpn": "VPN", "nfs": "NFS", "smb": "SMB",
	"tv": "TV", "voip": "VoIP", "plc": "PLC", "cctv": "CCTV", "vm": "VM", "lb": "LB", "bmc": "BMC", "ipmi": "IPMI"}

// roleCase writes a role hint the way NetBox users name roles: words capitalised, known
// acronyms in capitals, "_" and "-" as spaces ("nas" -> "NAS", "hypervisor" -> "Hypervisor",
// "access_point" -> "Access Point"). A role NetBox already has under another case is reused
// as it is (ensureShared matches names case-insensitively).
func roleCase(s string) string {
	words := strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == '_' || r == '-' })
	for i, w := range words {
		if a, ok := roleAcronyms[strings.ToLower(w)]; ok {
			words[i] = a
			continue
		}
		r := []rune(w)
		r[0] = unicode.ToUpper(r[0])
		words[i] = string(r)
	}
	return strings.Join(words, " ")
}

// platformName drops version numbers: "Proxmox VE 8.2.4" -> "Proxmox VE", so that every
// upgrade does not create a platform.
func platformName(raw string) string {
	var keep []string
	for _, f := range strings.Fields(raw) {
		if f[0] >= '0' && f[0] <= '9' || f[0] == '(' {
			break
		}
		keep = append(keep, f)
	}
	return strings.Join(keep, " ")
}

func (p *planner) platform(e *Entity) any {
	name := platformName(e.Platform.V)
	if name == "" {
		return nil
	}
	return p.ensureShared(epPlatforms, levelPlatforms, "platform", name, nil, name, map[string]any{"name": name})
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
