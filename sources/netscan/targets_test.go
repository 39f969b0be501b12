package netscan

import (
	"net/netip"
	"slices"
	"strings"
	"testing"
)

func mustPrefixes(t testing.TB, ss ...string) []netip.Prefix {
	t.Helper()
	out := make([]netip.Prefix, len(ss))
	for i, s := range ss {
		out[i] = netip.MustParsePrefix(s)
	}
	return out
}

func TestParseTargetsAccepts(t *testing.T) {
	allowed := mustPrefixes(t, "198.18.0.0/24", "127.0.0.0/8", "fd00:db8::/120")
	tests := []struct {
		name    string
		targets []string
		args    []string
		count   int
		ipv6    bool
	}{
		{"single address", []string{"198.18.0.7"}, []string{"198.18.0.7"}, 1, false},
		{"cidr", []string{"198.18.0.0/29"}, []string{"198.18.0.0/29"}, 8, false},
		{"cidr with host bits is masked", []string{"198.18.0.5/29"}, []string{"198.18.0.0/29"}, 8, false},
		{"last-octet range", []string{"198.18.0.1-6"}, []string{"198.18.0.1", "198.18.0.2/31", "198.18.0.4/31", "198.18.0.6"}, 6, false},
		{"full range", []string{"198.18.0.8-198.18.0.15"}, []string{"198.18.0.8/29"}, 8, false},
		{"range of one", []string{"198.18.0.9-9"}, []string{"198.18.0.9"}, 1, false},
		{"several", []string{"127.0.0.1", "198.18.0.0/30"}, []string{"127.0.0.1", "198.18.0.0/30"}, 5, false},
		{"ipv6", []string{"fd00:db8::1", "fd00:db8::10-fd00:db8::11"}, []string{"fd00:db8::1", "fd00:db8::10/127"}, 3, true},
		{"ipv4-mapped unmapped", []string{"::ffff:198.18.0.3"}, []string{"198.18.0.3"}, 1, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			set, err := ParseTargets(tt.targets, allowed, 1024)
			if err != nil {
				t.Fatalf("ParseTargets(%q): %v", tt.targets, err)
			}
			if got := set.Args(); !slices.Equal(got, tt.args) {
				t.Errorf("args = %q, want %q", got, tt.args)
			}
			if set.Count != tt.count {
				t.Errorf("count = %d, want %d", set.Count, tt.count)
			}
			if set.IPv6 != tt.ipv6 {
				t.Errorf("ipv6 = %v, want %v", set.IPv6, tt.ipv6)
			}
		})
	}
}

func TestParseTargetsSplitsAcrossAdjacentAllowedNetworks(t *testing.T) {
	allowed := mustPrefixes(t, "198.18.0.0/25", "198.18.0.128/25")
	set, err := ParseTargets([]string{"198.18.0.0/24"}, allowed, 1024)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"198.18.0.0/25", "198.18.0.128/25"}; !slices.Equal(set.Args(), want) {
		t.Errorf("args = %q, want %q", set.Args(), want)
	}
}

func TestParseTargetsRefuses(t *testing.T) {
	allowed := mustPrefixes(t, "198.18.0.0/24", "127.0.0.0/8")
	tests := []struct {
		name    string
		targets []string
		wantErr string // a fragment the error must contain, naming the problem
	}{
		{"nothing", nil, "no targets"},
		{"empty string", []string{""}, `target ""`},
		{"outside allowlist", []string{"192.0.2.1"}, `target "192.0.2.1": 192.0.2.1/32 is outside allowed_networks`},
		{"cidr partly outside", []string{"198.18.0.0/23"}, "outside allowed_networks"},
		{"range partly outside", []string{"198.18.0.250-198.18.1.3"}, "outside allowed_networks"},
		{"range too large", []string{"127.0.0.0-127.0.8.0"}, "more than max_hosts (1024)"},
		{"cidr too large", []string{"127.0.0.0/16"}, "more than max_hosts"},
		{"sum too large", []string{"127.0.0.0/22", "198.18.0.1"}, `target "198.18.0.1": more than max_hosts`},
		{"option -oN", []string{"-oN /tmp/x"}, `target "-oN /tmp/x": looks like an nmap option`},
		{"option --help", []string{"--help"}, `target "--help": looks like an nmap option`},
		{"option -iL", []string{"-iL"}, "looks like an nmap option"},
		{"trailing script option", []string{"127.0.0.1 --script x"}, `target "127.0.0.1 --script x": character ' '`},
		{"shell separator", []string{"198.18.0.1;rm"}, `target "198.18.0.1;rm": character ';'`},
		{"newline", []string{"198.18.0.1\n-oN"}, `character '\n'`},
		{"hostname", []string{"example.com"}, `character 'x'`},
		{"hex-only hostname", []string{"dead.beef"}, `target "dead.beef": not an IP address`},
		{"nmap octet range syntax", []string{"198.18.0-1.1"}, "range start"},
		{"wildcard", []string{"198.18.0.*"}, `character '*'`},
		{"zone", []string{"fe80::1%eth0"}, `character '%'`},
		{"reversed range", []string{"198.18.0.9-3"}, "range end is before its start"},
		{"octet out of range", []string{"198.18.0.1-300"}, "not an octet"},
		{"double range", []string{"198.18.0.1-2-3"}, "FIRST-LAST"},
		{"mixed families", []string{"198.18.0.1", "::1"}, "outside allowed_networks"},
		{"bad cidr", []string{"198.18.0.0/33"}, "not a CIDR"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			set, err := ParseTargets(tt.targets, allowed, 1024)
			if err == nil {
				t.Fatalf("ParseTargets(%q) = %q, want an error", tt.targets, set.Args())
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error %q does not contain %q", err, tt.wantErr)
			}
		})
	}
}

func TestParseTargetsRefusesMixedFamilies(t *testing.T) {
	_, err := ParseTargets([]string{"198.18.0.1", "::1"}, mustPrefixes(t, "198.18.0.0/24", "::1/128"), 10)
	if err == nil || !strings.Contains(err.Error(), "mix IPv4 and IPv6") {
		t.Fatalf("err = %v, want mixed-family refusal", err)
	}
}

func FuzzParseTargets(f *testing.F) {
	for _, s := range []string{"198.18.0.1", "198.18.0.0/24", "198.18.0.1-20", "198.18.0.1-198.18.0.20",
		"-oN /tmp/x", "127.0.0.1 --script x", "--help", "198.18.0.1;rm", "::1", "fd00::/120", "0.0.0.0/0",
		"198.18.0.255-198.18.1.0", "::ffff:198.18.0.1/120"} {
		f.Add(s)
	}
	allowed := mustPrefixes(f, "198.18.0.0/24", "127.0.0.0/8", "fd00::/120")
	f.Fuzz(func(t *testing.T, s string) {
		set, err := ParseTargets(strings.Split(s, ","), allowed, 512)
		if err != nil {
			return
		}
		if set.Count > 512 {
			t.Fatalf("%q: count %d over the limit", s, set.Count)
		}
		n := 0
		for i, arg := range set.Args() {
			if strings.HasPrefix(arg, "-") || strings.ContainsAny(arg, " \t\n;|&$`'\"") {
				t.Fatalf("%q: unsafe nmap argument %q", s, arg)
			}
			p := set.Prefixes[i]
			n += prefixSize(p)
			inside := false
			for _, a := range allowed {
				if a.Addr().BitLen() == p.Addr().BitLen() && a.Bits() <= p.Bits() && a.Contains(p.Addr()) {
					inside = true
				}
			}
			if !inside {
				t.Fatalf("%q: piece %s outside the allowlist", s, p)
			}
		}
		if n != set.Count {
			t.Fatalf("%q: pieces hold %d addresses, count says %d", s, n, set.Count)
		}
	})
}
