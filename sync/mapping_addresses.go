package sync

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"unicode/utf8"
)

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
		if n := utf8.RuneCountInString(name); n > interfaceNameLimit {
			// NetBox would refuse the interface; a cut name could be another interface's
			why := fmt.Sprintf("interface name %q is %d characters, longer than NetBox's %d", name, n, interfaceNameLimit)
			p.note(machine, "interfaces", "%s: not written", why)
			if ifc.MAC != "" {
				p.notWritten(e, machine, FactMAC, string(ifc.MAC), why)
			}
			for _, pfx := range ifc.IPs {
				p.notWritten(e, machine, FactIP, pfx.String(), why)
			}
			continue
		}
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
