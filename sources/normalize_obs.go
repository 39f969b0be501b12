package sources

import (
	"net/netip"
	"slices"
	"strings"
)

// Normalize puts an observation in canonical form in place: keys cleaned, lists deduplicated
// and sorted, interface MACs copied into Keys.MACs and interface IPs into Keys.IPs. Adapters
// call it before returning; the merge engine calls it again so nothing depends on that.
func (o *Observation) Normalize() {
	o.Name = strings.TrimSpace(o.Name)
	o.Keys.Serial = CleanSerial(o.Keys.Serial)
	o.Keys.SystemUUID = CleanSystemUUID(o.Keys.SystemUUID)
	if o.Keys.FQDN != "" {
		if h, err := NormalizeHostname(o.Keys.FQDN); err == nil && strings.Contains(h, ".") {
			o.Keys.FQDN = h
		} else {
			o.Keys.FQDN = ""
		}
	}
	macs := make([]MAC, 0, len(o.Keys.MACs)+len(o.Interfaces))
	for _, m := range o.Keys.MACs {
		if n := NormalizeMAC(string(m)); n != "" {
			macs = append(macs, n)
		}
	}
	ips := append([]netip.Addr(nil), o.Keys.IPs...)
	for i := range o.Interfaces {
		ifc := &o.Interfaces[i]
		ifc.MAC = NormalizeMAC(string(ifc.MAC))
		if ifc.MAC != "" {
			macs = append(macs, ifc.MAC)
		}
		ifc.IPs = sortedUniquePrefixes(ifc.IPs)
		for _, p := range ifc.IPs {
			ips = append(ips, p.Addr())
		}
	}
	slices.Sort(macs)
	o.Keys.MACs = slices.Compact(macs)
	o.Keys.IPs = sortedUniqueAddrs(ips)
	slices.Sort(o.Facts.Tags)
	o.Facts.Tags = slices.Compact(o.Facts.Tags)
	slices.SortFunc(o.Services, func(a, b Service) int {
		if c := strings.Compare(a.Protocol, b.Protocol); c != 0 {
			return c
		}
		if c := slices.Compare(a.Ports, b.Ports); c != 0 {
			return c
		}
		return strings.Compare(a.Name, b.Name)
	})
}

func sortedUniqueAddrs(in []netip.Addr) []netip.Addr {
	out := make([]netip.Addr, 0, len(in))
	for _, a := range in {
		if a.IsValid() && !a.IsUnspecified() {
			out = append(out, a.Unmap().WithZone(""))
		}
	}
	slices.SortFunc(out, func(a, b netip.Addr) int { return a.Compare(b) })
	return slices.Compact(out)
}

func sortedUniquePrefixes(in []netip.Prefix) []netip.Prefix {
	out := make([]netip.Prefix, 0, len(in))
	for _, p := range in {
		if p.IsValid() {
			out = append(out, p)
		}
	}
	slices.SortFunc(out, func(a, b netip.Prefix) int {
		if c := a.Addr().Compare(b.Addr()); c != 0 {
			return c
		}
		return a.Bits() - b.Bits()
	})
	return slices.Compact(out)
}
