package inventory

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"
)

// fuzzParse feeds data to one parser and checks what any input must give: no panic, unique
// NativeIDs under the file's prefix, and warnings that name the file.
func fuzzParse(f *testing.F, format Format, file string, seeds ...string) {
	f.Helper()
	if data, err := os.ReadFile(fixturePath(f, file)); err == nil {
		f.Add(data)
	} else {
		f.Fatal(err)
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		res, err := Parse(context.Background(), bytes.NewReader(data), file, format, "inv", testNow)
		if err != nil {
			if len(res.Observations) != 0 {
				t.Fatal("an error with observations")
			}
			return
		}
		seen := map[string]bool{}
		for _, o := range res.Observations {
			if !strings.HasPrefix(o.NativeID, "inv/"+file+"/") || len(o.NativeID) == len("inv/"+file+"/") {
				t.Fatalf("native id %q", o.NativeID)
			}
			if seen[o.NativeID] {
				t.Fatalf("duplicate native id %q", o.NativeID)
			}
			seen[o.NativeID] = true
		}
		for _, w := range res.Warnings {
			if !strings.HasPrefix(w.Item, file) {
				t.Fatalf("warning %q does not name the file", w.Item)
			}
		}
	})
}

func FuzzCSV(f *testing.F) {
	fuzzParse(f, FormatCSV, "hosts.csv", "name,ip\na,10.0.0.1\na,10.0.0.2\n", "ip;mac\n10.0.0.1;00:11:22:33:44:55\n", "name\n\"unterminated\n", "serial\n\n\n")
}

func FuzzAnsibleINI(f *testing.F) {
	fuzzParse(f, FormatAnsibleINI, "inventory.ini", "[a:children]\nb\n[b:children]\na\n[b]\nh[1:3]\n", "h ansible_host=10.0.0.1 x='y z'\n", "[g:vars]\n=\n", "h[a:z][0:9]\n")
}

func FuzzAnsibleYAML(f *testing.F) {
	fuzzParse(f, FormatAnsibleYAML, "inventory.yml", "all:\n  children:\n    a:\n      children:\n        a: {}\n", "x: &a {children: {y: *a}}\n", "all:\n  hosts:\n    h[1:2]:\n      ansible_host: 10.0.0.1\n")
}

func FuzzAnsibleJSON(f *testing.F) {
	fuzzParse(f, FormatAnsibleJSON, "inventory.json", `{"_meta":{"hostvars":{"h":{"ansible_host":"10.0.0.1"}}},"g":["h","i"]}`, `{"a":{"children":["a"]}}`, `[]`)
}

func FuzzDnsmasq(f *testing.F) {
	fuzzParse(f, FormatDnsmasq, "dnsmasq.leases", "0 aa:bb:cc:dd:ee:ff 10.0.0.1 h *\n0 aa:bb:cc:dd:ee:ff 10.0.0.2 h *\n", "duid 00:01\n0 1 fd00::1 * *\n")
}

func FuzzKea(f *testing.F) {
	fuzzParse(f, FormatKea, "kea-leases4.csv", "address,hwaddr,valid_lifetime,expire,state\n10.0.0.1,,4294967295,0,0\n", "address\n::1\n")
}

func FuzzDhcpd(f *testing.F) {
	fuzzParse(f, FormatDhcpd, "dhcpd.leases", "lease 10.0.0.1 { binding state active; hardware ethernet 52:54:00:00:00:01; }", "lease 10.0.0.1 {\"", "}}}{{{lease", "lease 10.0.0.1 { lease 10.0.0.2 { } }")
}

func FuzzHosts(f *testing.F) {
	fuzzParse(f, FormatHosts, "hosts", "10.0.0.1 a a.b\n10.0.0.2 a\n", "::ffff:10.0.0.1 x\n")
}
