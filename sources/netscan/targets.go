package netscan

import (
	"fmt"
	"math/bits"
	"net/netip"
	"strconv"
	"strings"
)

// TargetSet is a scan request's targets after parsing and checking: every piece is a prefix
// inside the allowed networks, written back by net/netip so nothing the user typed reaches
// nmap's command line verbatim.
type TargetSet struct {
	// Prefixes are what nmap is asked to scan, in the order given (a single address is a /32 or /128).
	Prefixes []netip.Prefix
	// Count is the number of addresses in all prefixes (duplicates counted twice, as nmap would).
	Count int
	// IPv6 is true when the targets are IPv6 (nmap scans one family a run).
	IPv6 bool
}

// Args returns the targets as nmap arguments: canonical addresses and CIDRs only.
func (t TargetSet) Args() []string {
	out := make([]string, len(t.Prefixes))
	for i, p := range t.Prefixes {
		if p.IsSingleIP() {
			out[i] = p.Addr().String()
		} else {
			out[i] = p.String()
		}
	}
	return out
}

// ParseTargets parses targets (addresses, CIDRs, or ranges "198.18.0.1-20" and
// "198.18.0.1-198.18.0.20"), refuses anything else, and checks that every address lies in
// allowed and that there are at most maxHosts addresses in all.
func ParseTargets(targets []string, allowed []netip.Prefix, maxHosts int) (TargetSet, error) {
	var set TargetSet
	if len(targets) == 0 {
		return set, fmt.Errorf("no targets given")
	}
	families := map[bool]bool{}
	for _, raw := range targets {
		pieces, err := parseTarget(raw)
		if err != nil {
			return TargetSet{}, err
		}
		for _, p := range pieces {
			families[p.Addr().Is6()] = true
			n := prefixSize(p)
			if n > maxHosts || set.Count+n > maxHosts {
				return TargetSet{}, fmt.Errorf("target %q: more than max_hosts (%d) addresses in all", raw, maxHosts)
			}
			set.Count += n
			covered, ok := coverWithin(p, allowed)
			if !ok {
				return TargetSet{}, fmt.Errorf("target %q: %s is outside allowed_networks %s", raw, p, prefixList(allowed))
			}
			set.Prefixes = append(set.Prefixes, covered...)
		}
	}
	if len(families) > 1 {
		return TargetSet{}, fmt.Errorf("targets mix IPv4 and IPv6: scan each family separately")
	}
	set.IPv6 = families[true]
	return set, nil
}

// parseTarget turns one target into prefixes. Characters outside those an address, CIDR or
// range can hold are refused before any parsing, so option-like or shell-like input
// ("-oN x", "a;rm", "a b") never gets near nmap.
func parseTarget(raw string) ([]netip.Prefix, error) {
	if raw == "" {
		return nil, fmt.Errorf("target %q: empty", raw)
	}
	if strings.HasPrefix(raw, "-") {
		return nil, fmt.Errorf("target %q: looks like an nmap option, not an address", raw)
	}
	for _, r := range raw {
		if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'f' || r >= 'A' && r <= 'F' || r == '.' || r == ':' || r == '/' || r == '-') {
			return nil, fmt.Errorf("target %q: character %q is not allowed in an IP address, CIDR or range", raw, r)
		}
	}
	switch {
	case strings.Contains(raw, "/"):
		p, err := netip.ParsePrefix(raw)
		if err != nil {
			return nil, fmt.Errorf("target %q: not a CIDR: %w", raw, err)
		}
		if p.Addr().Is4In6() {
			return nil, fmt.Errorf("target %q: IPv4-mapped IPv6 prefix: write it as IPv4", raw)
		}
		return []netip.Prefix{p.Masked()}, nil
	case strings.Contains(raw, "-"):
		return parseRange(raw)
	default:
		a, err := netip.ParseAddr(raw)
		if err != nil {
			return nil, fmt.Errorf("target %q: not an IP address: %w", raw, err)
		}
		a = a.Unmap()
		return []netip.Prefix{netip.PrefixFrom(a, a.BitLen())}, nil
	}
}

// parseRange parses "first-last" where last is a full address or, for IPv4, the last octet.
func parseRange(raw string) ([]netip.Prefix, error) {
	lo, hi, ok := strings.Cut(raw, "-")
	if !ok || strings.Contains(hi, "-") {
		return nil, fmt.Errorf("target %q: a range is FIRST-LAST", raw)
	}
	first, err := netip.ParseAddr(lo)
	if err != nil {
		return nil, fmt.Errorf("target %q: range start: %w", raw, err)
	}
	first = first.Unmap()
	var last netip.Addr
	if first.Is4() && !strings.ContainsAny(hi, ".:") {
		n, err := strconv.Atoi(hi)
		if err != nil || n < 0 || n > 255 {
			return nil, fmt.Errorf("target %q: range end %q is not an octet 0-255", raw, hi)
		}
		b := first.As4()
		b[3] = byte(n)
		last = netip.AddrFrom4(b)
	} else {
		last, err = netip.ParseAddr(hi)
		if err != nil {
			return nil, fmt.Errorf("target %q: range end: %w", raw, err)
		}
		last = last.Unmap()
	}
	if first.Is4() != last.Is4() {
		return nil, fmt.Errorf("target %q: range mixes IPv4 and IPv6", raw)
	}
	if last.Less(first) {
		return nil, fmt.Errorf("target %q: range end is before its start", raw)
	}
	return rangeToPrefixes(first, last), nil
}

// rangeToPrefixes returns the fewest prefixes that cover first..last exactly.
func rangeToPrefixes(first, last netip.Addr) []netip.Prefix {
	var out []netip.Prefix
	for {
		// Grow the prefix at first while it stays aligned and ends at or before last.
		bitsLen := first.BitLen()
		p := netip.PrefixFrom(first, bitsLen)
		for b := bitsLen - 1; b >= 0; b-- {
			cand := netip.PrefixFrom(first, b).Masked()
			if cand.Addr() != first || lastAddr(cand).Compare(last) > 0 {
				break
			}
			p = cand
		}
		out = append(out, p)
		end := lastAddr(p)
		if end.Compare(last) >= 0 {
			return out
		}
		first = end.Next()
	}
}

// lastAddr returns the highest address of p.
func lastAddr(p netip.Prefix) netip.Addr {
	a := p.Masked().Addr()
	b := a.AsSlice()
	for i := p.Bits(); i < len(b)*8; i++ {
		b[i/8] |= 1 << (7 - uint(i%8))
	}
	out, _ := netip.AddrFromSlice(b)
	return out
}

// prefixSize is the number of addresses in p, saturated to a large int.
func prefixSize(p netip.Prefix) int {
	host := p.Addr().BitLen() - p.Bits()
	if host >= bits.UintSize-2 {
		return int(^uint(0) >> 1)
	}
	return 1 << host
}

// coverWithin splits p into pieces that each lie inside one allowed network, so a target
// spanning two adjacent allowed networks is accepted; ok is false when any address of p is in
// none of them.
func coverWithin(p netip.Prefix, allowed []netip.Prefix) ([]netip.Prefix, bool) {
	for _, a := range allowed {
		if a.Addr().BitLen() == p.Addr().BitLen() && a.Bits() <= p.Bits() && a.Contains(p.Addr()) {
			return []netip.Prefix{p}, true
		}
	}
	overlaps := false
	for _, a := range allowed {
		if a.Overlaps(p) {
			overlaps = true
			break
		}
	}
	if !overlaps || p.Bits() >= p.Addr().BitLen() {
		return nil, false
	}
	lowerHalf := netip.PrefixFrom(p.Addr(), p.Bits()+1)
	upperHalf := netip.PrefixFrom(lastAddr(p), p.Bits()+1).Masked()
	lo, ok := coverWithin(lowerHalf, allowed)
	if !ok {
		return nil, false
	}
	hi, ok := coverWithin(upperHalf, allowed)
	if !ok {
		return nil, false
	}
	return append(lo, hi...), true
}

func prefixList(ps []netip.Prefix) string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = p.String()
	}
	return "[" + strings.Join(s, " ") + "]"
}
