package netboxtest

import (
	"fmt"
	"net/netip"
	"regexp"
	"strings"
)

// syncVMDisk keeps a VM's disk equal to the sum of its virtual disks, as NetBox's signal
// does (a queryset update: last_updated is not touched).
func (w *writeCtx) syncVMDisk(disks ...*object) {
	vms := w.s.tables[pathVMs]
	dt := w.s.tables[pathVirtualDisks]
	seen := map[int]bool{}
	for _, d := range disks {
		if d == nil {
			continue
		}
		vmID := intField(d, "virtual_machine")
		if seen[vmID] || vms.byID[vmID] == nil {
			continue
		}
		seen[vmID] = true
		total, n := 0, 0
		for _, id := range dt.referrers("virtual_machine", vmID) {
			s, _ := toInt(dt.byID[id].f["size"])
			total += s
			n++
		}
		c := vms.byID[vmID].clone()
		if n == 0 {
			c.f["disk"] = nil
		} else {
			c.f["disk"] = total
		}
		w.tx.put(c)
	}
}

func afterInterfaceWrite(ct string) func(w *writeCtx, o, old *object) {
	return func(w *writeCtx, o, old *object) {
		mac, ok := w.pendingMAC[o]
		if !ok {
			return
		}
		delete(w.pendingMAC, o)
		c := w.s.tables[o.ep.path].byID[o.id].clone()
		if mac == nil {
			delete(c.f, "primary_mac_address")
			w.tx.put(c)
			return
		}
		macs := w.s.tables[pathMACs]
		for _, id := range macs.referrers("gfk:"+ct, o.id) {
			if strField(macs.byID[id], "mac_address") == *mac {
				c.f["primary_mac_address"] = id
				w.tx.put(c)
				return
			}
		}
		m := &object{ep: macs.ep, id: macs.nextID, f: map[string]any{
			"mac_address": *mac, "assigned_object_type": ct, "assigned_object_id": o.id, "description": "", "comments": "",
		}, cf: map[string]any{}, created: w.now, updated: w.now}
		macs.nextID++
		w.tx.put(m)
		c.f["primary_mac_address"] = m.id
		w.tx.put(c)
	}
}

var hexDigits = regexp.MustCompile(`^[0-9a-fA-F]{12}$`)

// normalizeMAC writes a MAC address as NetBox stores it (AA:BB:CC:DD:EE:FF).
func normalizeMAC(s string) (string, bool) {
	h := strings.NewReplacer(":", "", "-", "", ".", "").Replace(strings.TrimSpace(s))
	if !hexDigits.MatchString(h) {
		return "", false
	}
	h = strings.ToUpper(h)
	parts := make([]string, 6)
	for i := range parts {
		parts[i] = h[2*i : 2*i+2]
	}
	return strings.Join(parts, ":"), true
}

// checkGFK checks a generic reference (content type + id).
func (w *writeCtx) checkGFK(g *gfkDef, o *object, errs fieldErrors) {
	ct := strField(o, g.typeField)
	id := intField(o, g.idField)
	if ct == "" && id == 0 {
		delete(o.f, g.typeField)
		delete(o.f, g.idField)
		return
	}
	target, ok := g.targets[ct]
	if !ok {
		errs.add(g.typeField, fmt.Sprintf("Invalid content type: %s", ct))
		return
	}
	if w.s.tables[target].byID[id] == nil {
		errs.add(g.idField, invalidPK(id))
	}
}

func parentOfIface(w *writeCtx, ct string, id int) (string, int) {
	switch ct {
	case "dcim.interface":
		if i := w.s.tables[pathInterfaces].byID[id]; i != nil {
			return pathDevices, intField(i, "device")
		}
	case "virtualization.vminterface":
		if i := w.s.tables[pathVMInterfaces].byID[id]; i != nil {
			return pathVMs, intField(i, "virtual_machine")
		}
	}
	return "", 0
}

func cleanIP(w *writeCtx, o, old *object) fieldErrors {
	errs := fieldErrors{}
	addr := strField(o, "address")
	if !strings.Contains(addr, "/") {
		if strings.Contains(addr, ":") {
			addr += "/128"
		} else {
			addr += "/32"
		}
	}
	p, err := netip.ParsePrefix(addr)
	if err != nil {
		errs.add("address", "Enter a valid IPv4 or IPv6 address with optional mask.")
		return errs
	}
	if p.Bits() == 0 {
		errs.add("address", "Cannot create IP address with /0 mask.")
		return errs
	}
	o.f["address"] = p.String()
	w.checkGFK(o.ep.gfk, o, errs)
	if len(errs) > 0 {
		return errs
	}
	// IPAddress.clean(): a network ID (or an IPv4 broadcast) may not sit on an interface,
	// except in /31, /32, /127 and /128.
	if strField(o, "assigned_object_type") != "" && intField(o, "assigned_object_id") != 0 {
		ip, bits := p.Addr(), p.Bits()
		if ip == p.Masked().Addr() && ((ip.Is4() && bits < 31) || (ip.Is6() && bits < 127)) {
			errs.add("__all__", ip.String()+" is a network ID, which may not be assigned to an interface.")
			return errs
		}
		if ip.Is4() && bits < 31 && ip == broadcast4(p) {
			errs.add("__all__", ip.String()+" is a broadcast address, which may not be assigned to an interface.")
			return errs
		}
	}
	// ENFORCE_GLOBAL_UNIQUE (on by default): one host once in the global table (the
	// simulator has no VRFs), unless every copy has a non-unique role (anycast, VIP, ...).
	nonUnique := func(role string) bool {
		switch role {
		case "anycast", "vip", "vrrp", "hsrp", "glbp", "carp":
			return true
		}
		return false
	}
	ips := w.s.tables[pathIPs]
	host := p.Addr().String()
	for _, id := range ips.ids {
		d := ips.byID[id]
		if d == nil || id == o.id || hostOf(strField(d, "address")) != host {
			continue
		}
		if !nonUnique(strField(o, "role")) || !nonUnique(strField(d, "role")) {
			errs.add("address", fmt.Sprintf("Duplicate IP address found in global table: %s", strField(d, "address")))
			return errs
		}
	}
	if strField(o, "status") == "slaac" && p.Addr().Is4() {
		errs.add("status", "Only IPv6 addresses can be assigned SLAAC status")
		return errs
	}
	if old != nil {
		oldCT, oldID := strField(old, "assigned_object_type"), intField(old, "assigned_object_id")
		if oldCT != strField(o, "assigned_object_type") || oldID != intField(o, "assigned_object_id") {
			if pt, pid := parentOfIface(w, oldCT, oldID); pid != 0 {
				// Moving to another interface of the same device or VM is allowed: NetBox
				// refuses only a change of parent object.
				npt, npid := parentOfIface(w, strField(o, "assigned_object_type"), intField(o, "assigned_object_id"))
				if parent := w.s.tables[pt].byID[pid]; parent != nil && (npt != pt || npid != pid) &&
					(intField(parent, "primary_ip4") == o.id || intField(parent, "primary_ip6") == o.id) {
					errs.add("__all__", "Cannot reassign IP address while it is designated as the primary IP for the parent object")
				}
			}
		}
	}
	return errs
}

func broadcast4(p netip.Prefix) netip.Addr {
	a := p.Masked().Addr().As4()
	host := uint32(1)<<(32-p.Bits()) - 1
	v := uint32(a[0])<<24 | uint32(a[1])<<16 | uint32(a[2])<<8 | uint32(a[3])
	v |= host
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

func cleanMAC(w *writeCtx, o, old *object) fieldErrors {
	errs := fieldErrors{}
	mac, ok := normalizeMAC(strField(o, "mac_address"))
	if !ok {
		errs.add("mac_address", "Invalid MAC address format: "+strField(o, "mac_address"))
		return errs
	}
	o.f["mac_address"] = mac
	w.checkGFK(o.ep.gfk, o, errs)
	if len(errs) > 0 {
		return errs
	}
	if old != nil {
		oldCT, oldID := strField(old, "assigned_object_type"), intField(old, "assigned_object_id")
		if oldCT != strField(o, "assigned_object_type") || oldID != intField(o, "assigned_object_id") {
			if target := ifaceTargets[oldCT]; target != "" {
				if iface := w.s.tables[target].byID[oldID]; iface != nil && intField(iface, "primary_mac_address") == o.id {
					errs.add("__all__", "Cannot unassign MAC Address while it is designated as the primary MAC for an object")
				}
			}
		}
	}
	return errs
}

func cleanInterface(parentField string) func(w *writeCtx, o, old *object) fieldErrors {
	return func(w *writeCtx, o, old *object) fieldErrors {
		errs := fieldErrors{}
		t := w.s.tables[o.ep.path]
		parent := intField(o, parentField)
		for _, f := range []string{"parent", "bridge", "lag"} {
			id := intField(o, f)
			if id == 0 {
				continue
			}
			other := t.byID[id]
			if old != nil && id == old.id {
				errs.add(f, "An interface cannot be its own "+f+".")
			} else if other != nil && intField(other, parentField) != parent {
				errs.add(f, fmt.Sprintf("The selected %s interface (%s) belongs to a different %s.", f, strField(other, "name"),
					strings.ReplaceAll(parentField, "_", " ")))
			}
		}
		if id := intField(o, "primary_mac_address"); id != 0 {
			m := w.s.tables[pathMACs].byID[id]
			if old == nil || m == nil || strField(m, "assigned_object_type") != o.ep.objectType || intField(m, "assigned_object_id") != old.id {
				errs.add("primary_mac_address", fmt.Sprintf("MAC address %s is not assigned to this interface.", strField(m, "mac_address")))
			}
		}
		return errs
	}
}

// checkPrimaryIPs enforces that primary IPs are of the right family and assigned to one
// of the object's interfaces.
func checkPrimaryIPs(w *writeCtx, o *object, fields []string, ifaceCT, parentField, what string, errs fieldErrors) {
	ips := w.s.tables[pathIPs]
	for _, f := range fields {
		id := intField(o, f)
		if id == 0 {
			continue
		}
		ip := ips.byID[id]
		addr := strField(ip, "address")
		v6 := strings.Contains(addr, ":")
		if f == "primary_ip4" && v6 {
			errs.add(f, addr+" is not an IPv4 address.")
			continue
		}
		if f == "primary_ip6" && !v6 {
			errs.add(f, addr+" is not an IPv6 address.")
			continue
		}
		ok := false
		// Device.clean() also accepts the NAT outside address of an IP of the device.
		for _, cand := range []*object{ip, ips.byID[intField(ip, "nat_inside")]} {
			if cand != nil && strField(cand, "assigned_object_type") == ifaceCT {
				if _, pid := parentOfIface(w, ifaceCT, intField(cand, "assigned_object_id")); pid != 0 && pid == o.id {
					ok = true
				}
			}
		}
		if !ok {
			errs.add(f, fmt.Sprintf("The specified IP address (%s) is not assigned to this %s.", addr, what))
		}
	}
}

func cleanDevice(w *writeCtx, o, old *object) fieldErrors {
	errs := fieldErrors{}
	if loc := intField(o, "location"); loc != 0 {
		l := w.s.tables[pathLocations].byID[loc]
		if intField(l, "site") != intField(o, "site") {
			site := w.s.tables[pathSites].byID[intField(o, "site")]
			errs.add("location", fmt.Sprintf("Location \"%s\" does not belong to site \"%s\".", strField(l, "name"), strField(site, "name")))
		}
	}
	if n := strField(o, "name"); n == "" {
		if _, ok := o.f["name"]; ok {
			o.f["name"] = nil // NetBox stores a blank name as NULL
		}
	}
	if at, ok := o.f["asset_tag"].(string); ok && at == "" {
		o.f["asset_tag"] = nil
	}
	// Device.clean(): a cluster scoped to a site must be the device's site.
	if cl := w.s.tables[pathClusters].byID[intField(o, "cluster")]; cl != nil && strField(cl, "scope_type") == "dcim.site" &&
		intField(cl, "scope_id") != intField(o, "site") {
		site := w.s.tables[pathSites].byID[intField(o, "site")]
		errs.add("cluster", fmt.Sprintf("The assigned cluster belongs to a different site (%s)", strField(site, "name")))
	}
	checkPrimaryIPs(w, o, []string{"primary_ip4", "primary_ip6", "oob_ip"}, "dcim.interface", "device", "device", errs)
	return errs
}

func cleanVM(w *writeCtx, o, old *object) fieldErrors {
	errs := fieldErrors{}
	// VirtualMachine.clean(): a VM takes its cluster's site; a different site, or a host
	// device outside the cluster, is refused.
	if cl := w.s.tables[pathClusters].byID[intField(o, "cluster")]; cl != nil {
		clSite := 0
		if strField(cl, "scope_type") == "dcim.site" {
			clSite = intField(cl, "scope_id")
		}
		if clSite != 0 && intField(o, "site") == 0 {
			o.f["site"] = clSite
		} else if clSite != 0 && intField(o, "site") != clSite {
			site := w.s.tables[pathSites].byID[intField(o, "site")]
			errs.add("cluster", fmt.Sprintf("The selected cluster (%s) is not assigned to this site (%s).", strField(cl, "name"), strField(site, "name")))
		}
		if dev := w.s.tables[pathDevices].byID[intField(o, "device")]; dev != nil && intField(dev, "cluster") != cl.id {
			errs.add("device", fmt.Sprintf("The selected device (%s) is not assigned to this cluster (%s).", strField(dev, "name"), strField(cl, "name")))
		}
	}
	if intField(o, "site") == 0 && intField(o, "cluster") == 0 {
		if !w.profile.standaloneVMs() {
			errs.add("cluster", "A virtual machine must be assigned to a site and/or cluster.")
		} else if intField(o, "device") == 0 {
			errs.add("__all__", "A virtual machine must be assigned to a site, cluster or device.")
		}
	}
	if old != nil {
		dt := w.s.tables[pathVirtualDisks]
		total := 0
		for _, id := range dt.referrers("virtual_machine", o.id) {
			s, _ := toInt(dt.byID[id].f["size"])
			total += s
		}
		disk, hasDisk := toInt(o.f["disk"])
		if total != 0 && o.f["disk"] == nil {
			o.f["disk"] = total
		} else if total != 0 && (!hasDisk || disk != total) {
			errs.add("disk", fmt.Sprintf("The specified disk size (%s) must match the aggregate size of assigned virtual disks (%d).",
				toString(o.f["disk"]), total))
		}
	}
	checkPrimaryIPs(w, o, []string{"primary_ip4", "primary_ip6"}, "virtualization.vminterface", "virtual_machine", "VM", errs)
	return errs
}

func cleanLocation(w *writeCtx, o, old *object) fieldErrors {
	errs := fieldErrors{}
	if p := intField(o, "parent"); p != 0 {
		parent := w.s.tables[pathLocations].byID[p]
		if intField(parent, "site") != intField(o, "site") {
			errs.add("parent", fmt.Sprintf("Parent location (%s) must belong to the same site (%d).", strField(parent, "name"), intField(o, "site")))
		}
	}
	return errs
}

func cleanService(w *writeCtx, o, old *object) fieldErrors {
	errs := fieldErrors{}
	w.checkGFK(o.ep.gfk, o, errs)
	return errs
}
