package sync

import (
	"fmt"
	"net/netip"
)

// NetBox's own model checks on an IP address (ipam.models.IPAddress.clean, the same in 4.3
// and 4.6), done before planning so the agent never sends an address NetBox must refuse:
// a refused create fails its whole bulk batch, and the next run would send it again.
//
//   - no address may have a /0 mask;
//   - an address assigned to an interface may not be its prefix's network ID (IPv4 except
//     /31 and /32, IPv6 except /127 and /128) nor, for IPv4, its broadcast address (except
//     /31 and /32).
//
// Duplicates in the global table (ENFORCE_GLOBAL_UNIQUE, on by default) are avoided by the
// planner itself: an address is matched to the existing object holding it and claimed by one
// entity per run.

// addressProblem says why NetBox refuses pfx as an IP address anywhere ("" if it does not).
func addressProblem(pfx netip.Prefix) string {
	if pfx.IsValid() && pfx.Bits() == 0 {
		return fmt.Sprintf("%s has a /0 mask, which NetBox refuses for an IP address", pfx)
	}
	return ""
}

// interfaceIPProblem says why NetBox refuses pfx assigned to an interface ("" if it does not).
func interfaceIPProblem(pfx netip.Prefix) string {
	if why := addressProblem(pfx); why != "" {
		return why
	}
	a, bits := pfx.Addr(), pfx.Bits()
	if !pfx.IsValid() || bits >= a.BitLen()-1 { // /31 and /32, /127 and /128: every address is usable
		return ""
	}
	if a == pfx.Masked().Addr() {
		return fmt.Sprintf("%s is the network ID of %s, which NetBox does not allow on an interface", a, pfx.Masked())
	}
	if a.Is4() && a == broadcast4(pfx) {
		return fmt.Sprintf("%s is the broadcast address of %s, which NetBox does not allow on an interface", a, pfx.Masked())
	}
	return ""
}

// broadcast4 is the last address of an IPv4 prefix.
func broadcast4(pfx netip.Prefix) netip.Addr {
	b := pfx.Masked().Addr().As4()
	host := uint32(1)<<(32-pfx.Bits()) - 1
	v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3]) | host
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}
