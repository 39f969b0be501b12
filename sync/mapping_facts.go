package sync

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/netbox-agent/netbox-agent/sources"
)

// keyInterfaceName names the interface that takes the addresses no source placed on an
// interface, on a machine with more than one interface (docs/facts.md).
const keyInterfaceName = "mgmt0"

// macInterfaceName names the interface of a MAC no source named ("mac-bc24112ec54a").
func macInterfaceName(m sources.MAC) string {
	return "mac-" + strings.ToLower(strings.ReplaceAll(string(m), ":", ""))
}

// placeInterfaces returns the interfaces the agent writes for a machine, with every MAC and
// IP address of the entity on one of them. Sources often know a key without its interface:
// an offline Proxmox node's address from /cluster/status, an /etc/hosts line, a Home
// Assistant MAC connection. The rule, the same for every source:
//   - an interface without a name is named after its MAC (macInterfaceName);
//   - a second interface with a name already taken and a different MAC is named after its MAC;
//     one without a MAC joins the first of that name;
//   - a MAC on no interface gets its own interface named after it;
//   - addresses on no interface (and those of interfaces with neither name nor MAC) go to the
//     machine's only interface when it has exactly one, else to keyInterfaceName.
func placeInterfaces(e *Entity) []EntityInterface {
	out := make([]EntityInterface, 0, len(e.Interfaces)+1)
	byName := map[string]int{}
	var loose []netip.Prefix
	add := func(ifc EntityInterface) {
		byName[ifc.Name.V] = len(out)
		out = append(out, ifc)
	}
	for _, ifc := range e.Interfaces {
		ifc.IPs = slices.Clone(ifc.IPs)
		ifc.Sources = slices.Clone(ifc.Sources)
		if ifc.Name.V == "" && ifc.MAC != "" {
			ifc.Name = Value[string]{V: macInterfaceName(ifc.MAC)}
		}
		if ifc.Name.V == "" {
			loose = append(loose, ifc.IPs...)
			continue
		}
		if j, dup := byName[ifc.Name.V]; dup {
			if ifc.MAC != "" && out[j].MAC != "" && ifc.MAC != out[j].MAC {
				ifc.Name = Value[string]{V: macInterfaceName(ifc.MAC)}
				if _, taken := byName[ifc.Name.V]; !taken {
					add(ifc)
					continue
				}
			}
			j = byName[ifc.Name.V]
			out[j].MAC = cmp.Or(out[j].MAC, ifc.MAC)
			out[j].IPs = appendPrefixes(out[j].IPs, ifc.IPs...)
			out[j].Sources = appendNew(out[j].Sources, ifc.Sources...)
			continue
		}
		add(ifc)
	}
	entitySources := make([]string, 0, len(e.Sources))
	for _, s := range e.Sources {
		entitySources = appendNew(entitySources, s.Source)
	}
	for _, m := range e.MACs {
		if !slices.ContainsFunc(out, func(i EntityInterface) bool { return i.MAC == m }) {
			add(EntityInterface{Name: Value[string]{V: macInterfaceName(m)}, MAC: m, Sources: entitySources})
		}
	}
	placed := func(a netip.Addr) bool {
		return slices.ContainsFunc(out, func(i EntityInterface) bool {
			return slices.ContainsFunc(i.IPs, func(p netip.Prefix) bool { return p.Addr() == a })
		})
	}
	var rest []netip.Prefix
	for _, p := range loose {
		if !placed(p.Addr()) {
			rest = appendPrefixes(rest, p)
		}
	}
	for _, a := range e.IPs {
		if !placed(a) {
			rest = appendPrefixes(rest, netip.PrefixFrom(a, a.BitLen()))
		}
	}
	if len(rest) > 0 {
		j, ok := byName[keyInterfaceName]
		switch {
		case len(out) == 1:
			j = 0
		case !ok:
			add(EntityInterface{Name: Value[string]{V: keyInterfaceName}, Sources: entitySources})
			j = len(out) - 1
		}
		out[j].IPs = appendPrefixes(out[j].IPs, rest...)
	}
	for i := range out {
		slices.SortFunc(out[i].IPs, func(a, b netip.Prefix) int { return a.Addr().Compare(b.Addr()) })
		slices.Sort(out[i].Sources)
	}
	return out
}

// appendPrefixes adds the prefixes whose address is not there yet; a prefix that says more
// than a bare address (/24 rather than /32) replaces it.
func appendPrefixes(to []netip.Prefix, ps ...netip.Prefix) []netip.Prefix {
	for _, p := range ps {
		j := slices.IndexFunc(to, func(q netip.Prefix) bool { return q.Addr() == p.Addr() })
		switch {
		case j < 0:
			to = append(to, p)
		case to[j].IsSingleIP() && !p.IsSingleIP():
			to[j] = p
		}
	}
	return to
}

func appendNew(to []string, vs ...string) []string {
	for _, v := range vs {
		if !slices.Contains(to, v) {
			to = append(to, v)
		}
	}
	return to
}

// nameTaken says why e cannot have name in its scope (a site for devices, a cluster for
// VMs, where NetBox wants names unique): another entity of this run took it first, or NetBox
// has another object of that name the entity did not match. "" when the name is free; the
// name is then taken for e. Two machines of one name are a conflict, never a guess.
func (p *planner) nameTaken(e *Entity, ep, scope, name string, mobj Object, inScope func(Object) bool) string {
	k := ep + "|" + scope + "|" + strings.ToLower(name)
	if other, ok := p.names[k]; ok && other != e.ID {
		return fmt.Sprintf("name conflict: entity %s of this run is also named %q", other, name)
	}
	if mobj == nil || !strings.EqualFold(objStr(mobj, "name"), name) {
		if o := p.s.findByName(ep, name, inScope); o != nil && (mobj == nil || objID(o) != objID(mobj)) {
			return fmt.Sprintf("name conflict: NetBox has another %s named %q (id %d) that this entity did not match", typeOf(ep), name, objID(o))
		}
	}
	p.names[k] = e.ID
	return ""
}

// notWritten records a fact of e that the plan leaves out.
func (p *planner) notWritten(e *Entity, object, fact, value, reason string, args ...any) {
	if len(args) > 0 {
		reason = fmt.Sprintf(reason, args...)
	}
	p.plan.NotWritten = append(p.plan.NotWritten, NotWritten{Entity: e.ID, Object: object, Fact: fact, Value: value, Reason: reason})
}

// entityNotWritten records every MAC, IP address, service and disk of an entity the plan
// writes nothing for (no name, a match conflict).
func (p *planner) entityNotWritten(e *Entity, object, reason string) {
	for _, m := range e.MACs {
		p.notWritten(e, object, FactMAC, string(m), reason)
	}
	for _, a := range entityAddrs(e) {
		p.notWritten(e, object, FactIP, a.String(), reason)
	}
	p.servicesNotWritten(e, object, reason)
	p.disksNotWritten(e, object, reason)
}

func (p *planner) servicesNotWritten(e *Entity, object, reason string) {
	for _, s := range e.Services {
		p.notWritten(e, object, FactService, serviceValue(s.Service), reason)
	}
}

func (p *planner) disksNotWritten(e *Entity, object, reason string) {
	for _, d := range e.Disks {
		p.notWritten(e, object, FactDisk, diskValue(d.Disk), reason)
	}
}

// diskValue names a disk in NotWritten: its name, or its size when it has none.
func diskValue(d sources.Disk) string {
	if d.Name == "" {
		return fmt.Sprintf("(%d MB)", d.SizeMB)
	}
	return d.Name
}

// entityAddrs is every address of the entity, from its interfaces and its keys.
func entityAddrs(e *Entity) []netip.Addr {
	out := slices.Clone(e.IPs)
	for _, ifc := range e.Interfaces {
		for _, p := range ifc.IPs {
			out = append(out, p.Addr())
		}
	}
	slices.SortFunc(out, func(a, b netip.Addr) int { return a.Compare(b) })
	return slices.Compact(out)
}

// serviceValue names a service in NotWritten: "tcp/443 https".
func serviceValue(s sources.Service) string {
	ports := make([]string, len(s.Ports))
	for i, n := range s.Ports {
		ports[i] = fmt.Sprint(n)
	}
	v := s.Protocol + "/" + strings.Join(ports, ",")
	if s.Name != "" {
		v += " " + s.Name
	}
	return v
}

// writableIP reports whether an address may be written, and records it as not written when
// it may not: loopback, link-local, multicast and unspecified addresses identify nothing
// outside the machine. The one call site of usableIP.
func (p *planner) writableIP(e *Entity, object string, pfx netip.Prefix) bool {
	a := pfx.Addr()
	if usableIP(a) {
		return true
	}
	why := "not a usable address"
	switch {
	case a.IsLoopback():
		why = "loopback address"
	case a.IsLinkLocalUnicast():
		why = "link-local address"
	case a.IsMulticast():
		why = "multicast address"
	}
	p.notWritten(e, object, FactIP, pfx.String(), "%s: identifies nothing outside the machine", why)
	return false
}
