package sources

import (
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
)

// MAC is a normalised hardware address: six octets, upper case, colon separated
// ("BC:24:11:2E:C5:4A"), the form NetBox shows.
type MAC string

// ParseMAC accepts the usual spellings of a hardware address and nothing else: six octets of
// one or two hex digits separated by ":" or "-" (one separator throughout; "0:1b:..." as BSD
// and macOS print it), three groups of four separated by "." (Cisco), or twelve hex digits.
// Any case; surrounding space is trimmed. It rejects addresses that identify no single
// interface: multicast, broadcast and all-zero.
//
// A MAC is a strong merge key, so a malformed one is refused rather than repaired: reading
// "b:c2:41:12:ec:54a" as the twelve digits it contains would give another machine's address.
func ParseMAC(s string) (MAC, error) {
	t := strings.TrimSpace(s)
	var groups []string
	switch {
	case strings.Contains(t, ":") && !strings.ContainsAny(t, "-."):
		groups = strings.Split(t, ":")
	case strings.Contains(t, "-") && !strings.ContainsAny(t, ":."):
		groups = strings.Split(t, "-")
	case strings.Contains(t, ".") && !strings.ContainsAny(t, ":-"):
		groups = strings.Split(t, ".")
	case strings.ContainsAny(t, ":-."):
		return "", fmt.Errorf("mac %q: mixed separators", s)
	default:
		groups = []string{t}
	}
	var hexDigits string
	switch len(groups) {
	case 6:
		for _, g := range groups {
			if len(g) < 1 || len(g) > 2 {
				return "", fmt.Errorf("mac %q: octet %q is not one or two hex digits", s, g)
			}
			if len(g) == 1 {
				g = "0" + g
			}
			hexDigits += g
		}
	case 3:
		for _, g := range groups {
			if len(g) != 4 {
				return "", fmt.Errorf("mac %q: group %q is not four hex digits", s, g)
			}
			hexDigits += g
		}
	case 1:
		if len(t) != 12 {
			return "", fmt.Errorf("mac %q: want 6 octets or 12 hex digits", s)
		}
		hexDigits = t
	default:
		return "", fmt.Errorf("mac %q: %d groups, want 6 octets (or 3 groups of 4)", s, len(groups))
	}
	var b [6]byte
	if _, err := hex.Decode(b[:], []byte(hexDigits)); err != nil {
		return "", fmt.Errorf("mac %q: not hexadecimal", s)
	}
	switch {
	case allBytes(b[:], 0x00):
		return "", fmt.Errorf("mac %q: all-zero address", s)
	case allBytes(b[:], 0xff):
		return "", fmt.Errorf("mac %q: broadcast address", s)
	case b[0]&0x01 != 0:
		return "", fmt.Errorf("mac %q: multicast address", s)
	}
	const digits = "0123456789ABCDEF"
	out := make([]byte, 0, 17)
	for i, o := range b {
		if i > 0 {
			out = append(out, ':')
		}
		out = append(out, digits[o>>4], digits[o&0x0f])
	}
	return MAC(out), nil
}

// NormalizeMAC returns the normalised MAC or "" when s is not a usable address.
func NormalizeMAC(s string) MAC {
	m, err := ParseMAC(s)
	if err != nil {
		return ""
	}
	return m
}

// IsLocal reports a locally administered address (second-lowest bit of the first octet):
// phones' private Wi-Fi addresses and many VM, container and veth MACs. Such a MAC is only a
// weak identity key.
func (m MAC) IsLocal() bool {
	if len(m) < 2 {
		return false
	}
	b, err := hex.DecodeString(string(m[:2]))
	return err == nil && b[0]&0x02 != 0
}

func allBytes(b []byte, v byte) bool {
	for _, x := range b {
		if x != v {
			return false
		}
	}
	return true
}

// ParseIP parses an address (IPv4-mapped IPv6 unmapped, zones dropped) and rejects the
// unspecified address.
func ParseIP(s string) (netip.Addr, error) {
	a, err := netip.ParseAddr(strings.TrimSpace(s))
	if err != nil {
		return netip.Addr{}, fmt.Errorf("ip %q: %w", s, err)
	}
	a = a.Unmap().WithZone("")
	if a.IsUnspecified() {
		return netip.Addr{}, fmt.Errorf("ip %q: unspecified address", s)
	}
	return a, nil
}

// ParseInterfaceIP parses "addr/len" (or a bare address, given the host length) into the
// host-address-with-prefix form NetBox stores for an IP address.
func ParseInterfaceIP(s string) (netip.Prefix, error) {
	s = strings.TrimSpace(s)
	if !strings.Contains(s, "/") {
		a, err := ParseIP(s)
		if err != nil {
			return netip.Prefix{}, err
		}
		return netip.PrefixFrom(a, a.BitLen()), nil
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("ip %q: %w", s, err)
	}
	a := p.Addr().Unmap()
	bits := p.Bits()
	if p.Addr().Is4In6() {
		bits -= 96
	}
	if a.IsUnspecified() {
		return netip.Prefix{}, fmt.Errorf("ip %q: unspecified address", s)
	}
	if bits == 0 {
		return netip.Prefix{}, fmt.Errorf("ip %q: a /0 is not an interface address", s)
	}
	return netip.PrefixFrom(a, bits), nil
}

// PrefixFromMask builds an interface prefix from an address and a dotted or numeric mask
// ("255.255.255.0" or "24").
func PrefixFromMask(addr, mask string) (netip.Prefix, error) {
	mask = strings.TrimSpace(mask)
	if m, err := netip.ParseAddr(mask); err == nil && m.Is4() {
		b := m.As4()
		ones := 0
		seenZero := false
		for _, o := range b {
			for i := 7; i >= 0; i-- {
				if o&(1<<i) != 0 {
					if seenZero {
						return netip.Prefix{}, fmt.Errorf("netmask %q: not contiguous", mask)
					}
					ones++
				} else {
					seenZero = true
				}
			}
		}
		mask = fmt.Sprint(ones)
	}
	return ParseInterfaceIP(strings.TrimSpace(addr) + "/" + mask)
}

// junkSerials are placeholders firmware vendors ship instead of a serial number.
var junkSerials = []string{
	"to be filled by o.e.m.", "to be filled by oem", "default string", "system serial number",
	"chassis serial number", "not specified", "not applicable", "none", "n/a", "na", "unknown",
	"0123456789", "123456789", "1234567890", "serial", "oem", "invalid", "null", "empty",
	"not available", "base board serial number", "sn", "xxxxxxxxxx",
}

// CleanSerial trims a serial and returns "" for the junk that cannot identify a machine.
func CleanSerial(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return ""
	}
	if slices.Contains(junkSerials, strings.ToLower(s)) {
		return ""
	}
	// Serials made of one repeated character ("00000000", "FFFFFFFF", "........").
	if strings.Count(s, s[:1]) == len(s) {
		return ""
	}
	return s
}

// CleanSystemUUID returns the canonical lower-case form of an SMBIOS system UUID, or "" for a
// value that identifies nothing (invalid, all zeros, all F).
func CleanSystemUUID(s string) string {
	h := make([]byte, 0, 32)
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9' || c >= 'a' && c <= 'f':
			h = append(h, c)
		case c >= 'A' && c <= 'F':
			h = append(h, c+('a'-'A'))
		case c == '-' || c == '{' || c == '}' || c == ' ':
		default:
			return ""
		}
	}
	if len(h) != 32 {
		return ""
	}
	hs := string(h)
	if strings.Count(hs, "0") == 32 || strings.Count(hs, "f") == 32 {
		return ""
	}
	return hs[0:8] + "-" + hs[8:12] + "-" + hs[12:16] + "-" + hs[16:20] + "-" + hs[20:32]
}

var errEmptyHostname = errors.New("empty hostname")

// NormalizeHostname lower-cases a host name or FQDN, drops a trailing dot and checks each label
// (letters, digits, hyphen and underscore; 1..63 characters; 253 in all).
func NormalizeHostname(s string) (string, error) {
	h := strings.TrimSuffix(strings.ToLower(strings.TrimSpace(s)), ".")
	if h == "" {
		return "", errEmptyHostname
	}
	if len(h) > 253 {
		return "", fmt.Errorf("hostname %q: longer than 253 characters", s)
	}
	for _, label := range strings.Split(h, ".") {
		if label == "" || len(label) > 63 {
			return "", fmt.Errorf("hostname %q: bad label %q", s, label)
		}
		for _, r := range label {
			if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
				return "", fmt.Errorf("hostname %q: bad character %q", s, r)
			}
		}
		if label[0] == '-' || label[len(label)-1] == '-' {
			return "", fmt.Errorf("hostname %q: label %q starts or ends with '-'", s, label)
		}
	}
	return h, nil
}

// SplitFQDN returns the short host name and, when s has a domain, the FQDN.
// Invalid names give empty strings.
func SplitFQDN(s string) (short, fqdn string) {
	h, err := NormalizeHostname(s)
	if err != nil {
		return "", ""
	}
	if i := strings.IndexByte(h, '.'); i > 0 {
		return h[:i], h
	}
	return h, ""
}

// SplitList splits a list kept in one text field (tags: "a;b", "a, b") on any rune of seps,
// trimming each item and dropping empty ones.
func SplitList(s, seps string) []string {
	var out []string
	for _, t := range strings.FieldsFunc(s, func(r rune) bool { return strings.ContainsRune(seps, r) }) {
		if t = strings.TrimSpace(t); t != "" {
			out = append(out, t)
		}
	}
	return out
}
