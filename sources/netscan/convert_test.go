package netscan

import (
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/Ullaakut/nmap/v3"

	"github.com/netbox-agent/netbox-agent/sources"
)

func fixture(t testing.TB, name string) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join("..", "..", "testdata", "netscan", name))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func newTestSource(t testing.TB, cfg Config) *Source {
	t.Helper()
	if cfg.Name == "" {
		cfg.Name = "lab-scan"
	}
	if cfg.AllowedNetworks == nil {
		cfg.AllowedNetworks = []string{"127.0.0.0/8", "198.18.0.0/24", "192.168.10.0/24"}
	}
	s, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	s.now = func() time.Time { return time.Date(2025, 11, 22, 10, 5, 0, 0, time.UTC) }
	return s
}

func TestConvertRecordedScan(t *testing.T) {
	data, err := os.ReadFile(fixture(t, "homelab-os.xml"))
	if err != nil {
		t.Fatal(err)
	}
	var run nmap.Run
	if err := nmap.Parse(data, &run); err != nil {
		t.Fatal(err)
	}
	s := newTestSource(t, Config{})
	res := s.Convert(&run)
	if len(res.Warnings) != 0 {
		t.Errorf("warnings: %+v", res.Warnings)
	}
	byID := map[string]sources.Observation{}
	for _, o := range res.Observations {
		byID[o.NativeID] = o
	}
	if len(byID) != 4 {
		t.Fatalf("got %d observations (%v), want the 4 hosts that are up", len(byID), keys(byID))
	}
	if _, ok := byID["lab-scan/192.168.10.11"]; ok {
		t.Error("a host that is down became an observation")
	}

	pve := byID["lab-scan/192.168.10.2"]
	if pve.Kind != sources.KindHost || pve.Source != "lab-scan" || pve.Adapter != "netscan" {
		t.Errorf("identity fields: %+v", pve)
	}
	if pve.Name != "pve1" || pve.Keys.FQDN != "pve1.home.arpa" {
		t.Errorf("name %q fqdn %q, want pve1 / pve1.home.arpa from the PTR", pve.Name, pve.Keys.FQDN)
	}
	if !slices.Equal(pve.Keys.MACs, []sources.MAC{"BC:24:11:2E:C5:4A"}) {
		t.Errorf("macs = %v", pve.Keys.MACs)
	}
	if !slices.Equal(pve.Keys.IPs, []netip.Addr{netip.MustParseAddr("192.168.10.2")}) {
		t.Errorf("ips = %v", pve.Keys.IPs)
	}
	if got := pve.Facts.Attributes["netscan.mac_vendor"]; got != "Proxmox Server Solutions GmbH" {
		t.Errorf("mac vendor = %q", got)
	}
	if pve.Facts.Manufacturer != "" {
		t.Errorf("the NIC vendor must not become the device manufacturer, got %q", pve.Facts.Manufacturer)
	}
	if pve.Facts.OS != "Linux 4.15 - 5.8" || pve.Facts.Attributes["netscan.os_accuracy"] != "100" {
		t.Errorf("os = %q (%s)", pve.Facts.OS, pve.Facts.Attributes["netscan.os_accuracy"])
	}
	wantSvcs := []sources.Service{
		{Name: "ssh", Protocol: "tcp", Ports: []int{22}, Description: "OpenSSH 9.2p1 Debian 2+deb12u3 protocol 2.0"},
		{Name: "https", Protocol: "tcp", Ports: []int{8006}, Description: "pve-api-daemon"}, // tunnel="ssl" in the recording
	}
	if !slices.EqualFunc(pve.Services, wantSvcs, serviceEqual) {
		t.Errorf("services = %+v, want only the open ports %+v", pve.Services, wantSvcs)
	}
	if pve.Facts.Status != "active" || !pve.SeenAt.Equal(time.Date(2025, 11, 22, 10, 5, 0, 0, time.UTC)) {
		t.Errorf("status %q seen %v", pve.Facts.Status, pve.SeenAt)
	}

	ha := byID["lab-scan/192.168.10.9"]
	if ha.Name != "" || ha.Facts.OS != "" || ha.Facts.Attributes["netscan.mac_vendor"] != "" {
		t.Errorf("host without PTR, OS or vendor got %q %q %v", ha.Name, ha.Facts.OS, ha.Facts.Attributes)
	}
	if len(ha.Keys.MACs) != 1 || !ha.Keys.MACs[0].IsLocal() {
		t.Errorf("locally administered MAC lost: %v", ha.Keys.MACs)
	}
	self := byID["lab-scan/192.168.10.10"]
	if len(self.Keys.MACs) != 0 || self.Name != "agent" {
		t.Errorf("scanner's own address: %+v", self)
	}
}

func serviceEqual(a, b sources.Service) bool {
	return a.Name == b.Name && a.Protocol == b.Protocol && slices.Equal(a.Ports, b.Ports) && a.Description == b.Description
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func TestConvertBadAddressIsAWarning(t *testing.T) {
	run := &nmap.Run{Hosts: []nmap.Host{
		{Status: nmap.Status{State: "up"}, Addresses: []nmap.Address{{Addr: "not-an-ip", AddrType: "ipv4"}}},
		{Status: nmap.Status{State: "up"}, Addresses: []nmap.Address{{Addr: "198.18.0.2", AddrType: "ipv4"}, {Addr: "zz", AddrType: "mac"}}},
	}}
	res := newTestSource(t, Config{}).Convert(run)
	if len(res.Observations) != 1 || res.Observations[0].NativeID != "lab-scan/198.18.0.2" {
		t.Fatalf("observations = %+v, want the good host kept", res.Observations)
	}
	if len(res.Warnings) != 1 {
		t.Fatalf("warnings = %+v, want one for the host without a usable IP", res.Warnings)
	}
}

func FuzzNmapXML(f *testing.F) {
	for _, name := range []string{"homelab-os.xml", "netns-services-os.xml"} {
		data, err := os.ReadFile(fixture(f, name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(`<nmaprun><host><status state="up"/><address addr="198.18.0.1" addrtype="ipv4"/><address addr="02:00:00:00:00:01" addrtype="mac" vendor="x"/><hostnames><hostname name="a.b" type="PTR"/></hostnames></host></nmaprun>`))
	f.Add([]byte(`<nmaprun><host><status state="up"/><address addr="::1" addrtype="ipv6"/><ports><port protocol="udp" portid="53"><state state="open"/></port></ports></host></nmaprun>`))
	s := newTestSource(f, Config{})
	f.Fuzz(func(t *testing.T, b []byte) {
		var run nmap.Run
		if err := nmap.Parse(b, &run); err != nil {
			return
		}
		res := s.Convert(&run)
		seen := map[string]bool{}
		for _, o := range res.Observations {
			if o.NativeID == "" || seen[o.NativeID] {
				t.Fatalf("observation without a unique native id: %+v", o)
			}
			seen[o.NativeID] = true
			if len(o.Keys.IPs) == 0 {
				t.Fatalf("observation without IPs: %+v", o)
			}
			for _, svc := range o.Services {
				if svc.Name == "" || len(svc.Ports) != 1 {
					t.Fatalf("bad service %+v", svc)
				}
			}
		}
	})
}

// TestConvertRealNetnsRecording converts XML that nmap 7.93 wrote for `nmap -n -sV -O -p
// 22,80,8080 --stats-every 500ms -oX FILE 198.18.0.240/29` as root against two network
// namespaces on a bridge (one running an SSH banner and an HTTP server).
func TestConvertRealNetnsRecording(t *testing.T) {
	data, err := os.ReadFile(fixture(t, "netns-services-os.xml"))
	if err != nil {
		t.Fatal(err)
	}
	var run nmap.Run
	if err := nmap.Parse(data, &run); err != nil {
		t.Fatal(err)
	}
	res := newTestSource(t, Config{}).Convert(&run)
	byID := map[string]sources.Observation{}
	for _, o := range res.Observations {
		byID[o.NativeID] = o
	}
	if got := keys(byID); !slices.Equal(got, []string{"lab-scan/198.18.0.241", "lab-scan/198.18.0.242", "lab-scan/198.18.0.243"}) {
		t.Fatalf("hosts %q", got)
	}
	web := byID["lab-scan/198.18.0.242"]
	if !slices.Equal(web.Keys.MACs, []sources.MAC{"02:18:00:1E:00:02"}) || !web.Keys.MACs[0].IsLocal() {
		t.Errorf("web MACs %v", web.Keys.MACs)
	}
	want := []sources.Service{
		{Name: "ssh", Protocol: "tcp", Ports: []int{22}, Description: "OpenSSH 9.2p1 Debian 2+deb12u3 protocol 2.0"},
		{Name: "http", Protocol: "tcp", Ports: []int{8080}, Description: "SimpleHTTPServer 0.6 Python 3.11.7"},
	}
	if !slices.EqualFunc(web.Services, want, serviceEqual) {
		t.Errorf("services %+v", web.Services)
	}
	if web.Facts.OS != "Linux 5.3 - 5.4" || web.Facts.Attributes["netscan.os_accuracy"] != "96" {
		t.Errorf("os %q %v", web.Facts.OS, web.Facts.Attributes)
	}
	quiet := byID["lab-scan/198.18.0.243"]
	if len(quiet.Services) != 0 || !slices.Equal(quiet.Keys.MACs, []sources.MAC{"02:18:00:1E:00:03"}) {
		t.Errorf("quiet host %+v", quiet)
	}
	if self := byID["lab-scan/198.18.0.241"]; len(self.Keys.MACs) != 0 {
		t.Errorf("the scanner's own address has no MAC in nmap's output, got %v", self.Keys.MACs)
	}
}
