package sources

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"strings"
)

// Normalize puts an observation in canonical form in place: keys cleaned, lists deduplicated
// and sorted, interface MACs copied into Keys.MACs and interface IPs into Keys.IPs. Adapters
// call it before returning and add the warnings to their result; the merge engine calls it
// again so nothing depends on that.
//
// A MAC that does not parse (see ParseMAC) is dropped, never repaired, and each one is
// returned as a warning naming the observation and the interface it came from.
func (o *Observation) Normalize() []Warning {
	var warns []Warning
	item := cmp.Or(o.NativeID, o.Name)
	refuse := func(where, raw string) {
		_, err := ParseMAC(raw)
		warns = append(warns, Warning{Item: item + where, Reason: ReasonMalformedMAC,
			Message: fmt.Sprintf("MAC refused (not used as a key): %v", err)})
	}
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
		} else if m != "" {
			refuse(" keys.macs", string(m))
		}
	}
	ips := append([]netip.Addr(nil), o.Keys.IPs...)
	for i := range o.Interfaces {
		ifc := &o.Interfaces[i]
		raw := ifc.MAC
		ifc.MAC = NormalizeMAC(string(raw))
		if ifc.MAC == "" && raw != "" {
			refuse(" interface "+cmp.Or(ifc.Name, fmt.Sprint(i)), string(raw))
		}
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
	slices.SortFunc(o.Services, CompareServices)
	return warns
}

// CompareServices orders services by protocol, ports, then name.
func CompareServices(a, b Service) int {
	return cmp.Or(strings.Compare(a.Protocol, b.Protocol), slices.Compare(a.Ports, b.Ports), strings.Compare(a.Name, b.Name))
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
