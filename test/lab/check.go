package lab

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// NetBox endpoints the check reads.
const (
	epDevices = "/api/dcim/devices/"
	epVMs     = "/api/virtualization/virtual-machines/"
	epIPs     = "/api/ipam/ip-addresses/"
)

// CheckNetBox compares the lab's NetBox with Expected and returns every difference, nil when
// it holds exactly the expected devices and VMs, in the right site and cluster, with the
// right status, each merged machine naming all its sources in its custom fields, and the
// network-only hosts as unassigned IP addresses. It reads the simulator's state directly, so
// it checks what was written, not what the agent reports. Expected assumes every source ran:
// after a run with a failing source, the merged machines name only the sources that answered.
func (l *Lab) CheckNetBox() []error {
	e := l.exp
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	devices := byName(l.netbox.Objects(epDevices))
	vms := byName(l.netbox.Objects(epVMs))
	errs = append(errs, sameNames("device", e.Devices, devices)...)
	errs = append(errs, sameNames("virtual machine", e.VMs, vms)...)

	for _, name := range e.Devices {
		d, ok := devices[name]
		if !ok {
			continue
		}
		if site := nestedName(d["site"]); site != e.Site {
			bad("device %s: site %q, want %q", name, site, e.Site)
		}
	}
	for _, name := range e.VMs {
		vm, ok := vms[name]
		if !ok {
			continue
		}
		if c := nestedName(vm["cluster"]); c != e.Cluster {
			bad("virtual machine %s: cluster %q, want %q", name, c, e.Cluster)
		}
		want := "active"
		if slices.Contains(e.StoppedVMs, name) {
			want = "offline"
		}
		if st := choiceValue(vm["status"]); st != want {
			bad("virtual machine %s: status %q, want %q", name, st, want)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(e.Merged)) {
		obj, ok := devices[name]
		if !ok {
			obj, ok = vms[name]
		}
		if !ok {
			continue // reported as missing above
		}
		cf, _ := json.Marshal(obj["custom_fields"])
		for _, src := range e.Merged[name] {
			if !strings.Contains(string(cf), `"source":`+q(src)) {
				bad("%s: its custom fields do not name source %q (seen by %s): %.300s", name, src, strings.Join(e.Merged[name], " and "), cf)
			}
		}
	}
	ips := map[string]map[string]any{}
	for _, ip := range l.netbox.Objects(epIPs) {
		addr, _, _ := strings.Cut(fmt.Sprint(ip["address"]), "/")
		ips[addr] = ip
	}
	for _, addr := range e.HostIPs {
		ip, ok := ips[addr]
		switch {
		case !ok:
			bad("ip address %s: missing", addr)
		case ip["assigned_object_type"] != nil:
			bad("ip address %s: assigned to a %v, want a bare address (a host seen only on the network)", addr, ip["assigned_object_type"])
		}
	}
	errs = append(errs, l.checkKeyOnly(devices)...)
	return errs
}

// checkKeyOnly finds each key-only MAC and address on the interface it must land on.
func (l *Lab) checkKeyOnly(devices map[string]map[string]any) []error {
	var errs []error
	ifaces := l.netbox.Objects("/api/dcim/interfaces/")
	macs := l.netbox.Objects("/api/dcim/mac-addresses/")
	ips := l.netbox.Objects("/api/ipam/ip-addresses/")
	for _, k := range l.exp.KeyOnly {
		d, ok := devices[k.Device]
		if !ok {
			continue // reported as missing
		}
		var ifc map[string]any
		for _, o := range ifaces {
			if nestedID(o["device"]) == toID(d["id"]) && o["name"] == k.Interface {
				ifc = o
			}
		}
		if ifc == nil {
			errs = append(errs, fmt.Errorf("device %s: no interface %s for its key-only facts", k.Device, k.Interface))
			continue
		}
		on := func(objs []map[string]any, field, want string) bool {
			for _, o := range objs {
				v, _, _ := strings.Cut(fmt.Sprint(o[field]), "/")
				if o["assigned_object_type"] == "dcim.interface" && toID(o["assigned_object_id"]) == toID(ifc["id"]) && strings.EqualFold(v, want) {
					return true
				}
			}
			return false
		}
		if k.MAC != "" && !on(macs, "mac_address", k.MAC) {
			errs = append(errs, fmt.Errorf("device %s: MAC %s is not on %s", k.Device, k.MAC, k.Interface))
		}
		if k.IP != "" && !on(ips, "address", k.IP) {
			errs = append(errs, fmt.Errorf("device %s: address %s is not on %s", k.Device, k.IP, k.Interface))
		}
		if k.IP != "" {
			if p, _, _ := strings.Cut(fmt.Sprint(displayOrAddress(d["primary_ip4"])), "/"); p != k.IP {
				errs = append(errs, fmt.Errorf("device %s: primary IPv4 %q, want %s (its one address)", k.Device, p, k.IP))
			}
		}
	}
	return errs
}

func nestedID(v any) int {
	m, _ := v.(map[string]any)
	return toID(m["id"])
}

func toID(v any) int {
	switch x := v.(type) {
	case float64:
		return int(x)
	case int:
		return x
	case int64:
		return int(x)
	case json.Number:
		n, _ := x.Int64()
		return int(n)
	}
	return 0
}

func displayOrAddress(v any) any {
	m, _ := v.(map[string]any)
	if a, ok := m["address"]; ok {
		return a
	}
	return m["display"]
}

func byName(objs []map[string]any) map[string]map[string]any {
	m := make(map[string]map[string]any, len(objs))
	for _, o := range objs {
		if name, ok := o["name"].(string); ok {
			m[name] = o
		}
	}
	return m
}

// sameNames reports names expected but absent and present but unexpected (duplicates too).
func sameNames(kind string, want []string, got map[string]map[string]any) []error {
	var errs []error
	var missing, extra []string
	for _, n := range want {
		if _, ok := got[n]; !ok {
			missing = append(missing, n)
		}
	}
	for _, n := range slices.Sorted(maps.Keys(got)) {
		if _, found := slices.BinarySearch(want, n); !found {
			extra = append(extra, n)
		}
	}
	if len(missing) > 0 {
		errs = append(errs, fmt.Errorf("%d of %d %ss missing: %s", len(missing), len(want), kind, clipList(missing)))
	}
	if len(extra) > 0 {
		errs = append(errs, fmt.Errorf("%d unexpected %ss: %s", len(extra), kind, clipList(extra)))
	}
	return errs
}

func clipList(names []string) string {
	if len(names) > 20 {
		return strings.Join(names[:20], ", ") + fmt.Sprintf(", ... (%d more)", len(names)-20)
	}
	return strings.Join(names, ", ")
}

func nestedName(v any) string {
	m, _ := v.(map[string]any)
	s, _ := m["name"].(string)
	return s
}

func choiceValue(v any) string {
	m, _ := v.(map[string]any)
	s, _ := m["value"].(string)
	return s
}
