package netscan

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/netbox-agent/netbox-agent/sources"
)

// listenEnv makes the test binary a TCP listener (see TestMain): the netns tests re-exec
// themselves inside a namespace with it, so no other program is needed on CI.
const listenEnv = "NETSCAN_TEST_LISTEN"

func TestMain(m *testing.M) {
	if addr := os.Getenv(listenEnv); addr != "" {
		os.Exit(serveHelper(addr))
	}
	os.Exit(m.Run())
}

// serveHelper answers every connection with a minimal HTTP response and exits when its stdin
// closes, so it cannot outlive the test that started it.
func serveHelper(addr string) int {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "listen:", err)
		return 1
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(10 * time.Second))
				_, _ = c.Read(make([]byte, 1024))
				_, _ = io.WriteString(c, "HTTP/1.0 200 OK\r\nServer: netscan-test\r\nContent-Length: 2\r\n\r\nok")
			}()
		}
	}()
	fmt.Println("ready")
	_, _ = io.Copy(io.Discard, os.Stdin)
	return 0
}

// netLab is a bridge in the root namespace holding .1 of a /29 from 198.18.0.0/24 (RFC 2544,
// reserved for testing and present only on these links), and one namespace per host, joined
// to the bridge by a veth pair whose inside end has a fixed locally administered MAC.
type netLab struct {
	subnet netip.Prefix
	hosts  []labHost
}

type labHost struct {
	ns  string
	ip  netip.Addr
	mac sources.MAC
}

// requireNetnsRoot skips where the namespace tests cannot run; CI runs as root with nmap and
// iproute2 installed, so it runs them.
func requireNetnsRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to create network namespaces (CI runs as root and runs this test)")
	}
	requireNmap(t)
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("the ip command (iproute2) is not installed; CI installs it and runs this test")
	}
}

func run(t *testing.T, args ...string) {
	t.Helper()
	out, err := exec.Command(args[0], args[1:]...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v: %s", strings.Join(args, " "), err, out)
	}
}

// lockSubnet takes one of the 32 /29s of 198.18.0.0/24 that no other test process holds,
// with a lock file, so test binaries running in parallel never share a subnet.
func lockSubnet(t *testing.T) (netip.Prefix, int) {
	t.Helper()
	start := (os.Getpid() * 7) % 32
	for i := 0; i < 32; i++ {
		idx := (start + i) % 32
		f, err := os.OpenFile(filepath.Join(os.TempDir(), fmt.Sprintf("netbox-agent-netscan-198.18.0.%d.lock", idx*8)), os.O_CREATE|os.O_RDWR, 0o600)
		if err != nil {
			t.Fatal(err)
		}
		if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
			f.Close()
			continue
		}
		t.Cleanup(func() { f.Close() })
		return netip.PrefixFrom(netip.AddrFrom4([4]byte{198, 18, 0, byte(idx * 8)}), 29), idx
	}
	t.Fatal("all 32 test subnets of 198.18.0.0/24 are in use")
	return netip.Prefix{}, 0
}

func newNetLab(t *testing.T, nHosts int) *netLab {
	t.Helper()
	subnet, idx := lockSubnet(t)
	tag := fmt.Sprintf("%d%02d", os.Getpid()%10000, idx) // unique per process and subnet; names stay under 15 bytes
	lab := &netLab{subnet: subnet}
	br := "nsb" + tag
	base := subnet.Addr().As4()
	addr := func(n byte) netip.Addr { b := base; b[3] += n; return netip.AddrFrom4(b) }

	run(t, "ip", "link", "add", br, "type", "bridge")
	t.Cleanup(func() { _ = exec.Command("ip", "link", "del", br).Run() })
	run(t, "ip", "addr", "add", netip.PrefixFrom(addr(1), 29).String(), "dev", br)
	run(t, "ip", "link", "set", br, "up")
	for i := 0; i < nHosts; i++ {
		h := labHost{
			ns:  fmt.Sprintf("nsn%s%d", tag, i),
			ip:  addr(byte(2 + i)),
			mac: sources.MAC(fmt.Sprintf("02:18:00:%02X:00:%02X", idx, 2+i)),
		}
		vh, vp := fmt.Sprintf("nsh%s%d", tag, i), fmt.Sprintf("nsp%s%d", tag, i)
		run(t, "ip", "netns", "add", h.ns)
		t.Cleanup(func() { _ = exec.Command("ip", "netns", "del", h.ns).Run() })
		run(t, "ip", "link", "add", vh, "type", "veth", "peer", "name", vp, "netns", h.ns)
		t.Cleanup(func() { _ = exec.Command("ip", "link", "del", vh).Run() })
		run(t, "ip", "link", "set", vh, "master", br)
		run(t, "ip", "link", "set", vh, "up")
		run(t, "ip", "-n", h.ns, "link", "set", vp, "address", string(h.mac))
		run(t, "ip", "-n", h.ns, "addr", "add", netip.PrefixFrom(h.ip, 29).String(), "dev", vp)
		run(t, "ip", "-n", h.ns, "link", "set", vp, "up")
		run(t, "ip", "-n", h.ns, "link", "set", "lo", "up")
		lab.hosts = append(lab.hosts, h)
	}
	return lab
}

// listen starts a TCP listener on addr inside the host's namespace: the test binary itself.
func (l *netLab) listen(t *testing.T, h labHost, port int) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("ip", "netns", "exec", h.ns, exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%s", listenEnv, netip.AddrPortFrom(h.ip, uint16(port))))
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stdin.Close()
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	readyLine(t, bufio.NewReader(stdout))
}

func TestNetnsScan(t *testing.T) {
	requireNetnsRoot(t)
	lab := newNetLab(t, 2)
	web, quiet := lab.hosts[0], lab.hosts[1]
	lab.listen(t, web, 8080)
	no := false
	s := newTestSource(t, Config{
		AllowedNetworks: []string{lab.subnet.String()},
		ReverseDNS:      &no,
		Timeout:         2 * time.Minute,
		HostTimeout:     time.Minute,
	})
	scan := func(t *testing.T, s *Source, profile Profile, ports ...string) map[netip.Addr]sources.Observation {
		t.Helper()
		res, err := s.Scan(context.Background(), ScanRequest{Targets: []string{lab.subnet.String()}, Profile: profile, Ports: ports}, nil)
		if err != nil {
			t.Fatal(err)
		}
		byIP := map[netip.Addr]sources.Observation{}
		for _, o := range res.Observations {
			if len(o.Keys.IPs) != 1 || !lab.subnet.Contains(o.Keys.IPs[0]) {
				t.Fatalf("observation outside the lab subnet: %+v", o)
			}
			byIP[o.Keys.IPs[0]] = o
		}
		return byIP
	}

	t.Run("ping sweep finds the namespaces by ARP with their MACs", func(t *testing.T) {
		if !s.Privileged() {
			t.Fatal("root must be detected as privileged")
		}
		found := scan(t, s, ProfilePing)
		for _, h := range lab.hosts {
			o, ok := found[h.ip]
			if !ok {
				t.Errorf("host %s not found; found %v", h.ip, keysOf(found))
				continue
			}
			if len(o.Keys.MACs) != 1 || o.Keys.MACs[0] != h.mac {
				t.Errorf("host %s MACs %v, want %s", h.ip, o.Keys.MACs, h.mac)
			}
			if o.NativeID != "lab-scan/"+h.ip.String() || o.Kind != sources.KindHost {
				t.Errorf("host %s: native id %q kind %q", h.ip, o.NativeID, o.Kind)
			}
		}
		for ip := range found {
			if ip != web.ip && ip != quiet.ip && ip.As4()[3]&7 != 1 {
				t.Errorf("found %s, which no namespace holds", ip)
			}
		}
	})

	t.Run("ports finds the listener as a service", func(t *testing.T) {
		found := scan(t, s, ProfilePorts, "22", "8080")
		o := found[web.ip]
		if len(o.Services) != 1 || o.Services[0].Protocol != "tcp" || o.Services[0].Ports[0] != 8080 || o.Services[0].Name != "http-proxy" {
			t.Errorf("services of %s = %+v, want tcp/8080 http-proxy", web.ip, o.Services)
		}
		if q, ok := found[quiet.ip]; !ok || len(q.Services) != 0 {
			t.Errorf("quiet host: found %v, services %+v", ok, q.Services)
		}
	})

	t.Run("services names what listens", func(t *testing.T) {
		var prog progressLog
		res, err := s.Scan(context.Background(), ScanRequest{Targets: []string{web.ip.String()}, Profile: ProfileServices, Ports: []string{"8080"}}, prog.report)
		if err != nil {
			t.Fatal(err)
		}
		found := map[netip.Addr]sources.Observation{}
		for _, o := range res.Observations {
			found[o.Keys.IPs[0]] = o
		}
		// Progress brackets the scan. nmap's own --stats-every lines reach its XML file only
		// when nmap flushes it, which a quick scan on an idle machine may do only at the end:
		// the watcher that turns them into progress is tested with a scripted nmap
		// (TestScanWithRecordedNmap); here they are logged when they come.
		reports := prog.all()
		if len(reports) < 2 || !strings.Contains(reports[0], "services scan of 1 addresses") || !strings.Contains(reports[len(reports)-1], "nmap done") {
			t.Errorf("progress of a %s scan: %q, want a start and a done report", ProfileServices, reports)
		}
		live := 0
		for _, r := range reports {
			if strings.Contains(r, "% done") {
				live++
			}
		}
		t.Logf("%d progress reports from nmap itself during the services scan", live)
		o := found[web.ip]
		// The Server header only reaches the result when nmap really probed the port.
		if len(o.Services) != 1 || o.Services[0].Ports[0] != 8080 || !strings.HasPrefix(o.Services[0].Name, "http") || o.Services[0].Description != "netscan-test" {
			t.Errorf("services of %s = %+v, want http(-proxy) on 8080 with product netscan-test", web.ip, o.Services)
		}
	})

	t.Run("unprivileged scans see no MACs", func(t *testing.T) {
		u := newTestSource(t, Config{AllowedNetworks: []string{lab.subnet.String()}, ReverseDNS: &no, Privileged: PrivilegeFalse, Timeout: 2 * time.Minute})
		found := scan(t, u, ProfilePorts, "8080")
		o, ok := found[web.ip]
		if !ok || len(o.Services) != 1 {
			t.Fatalf("connect scan lost the listener: %+v", found)
		}
		if len(o.Keys.MACs) != 0 {
			t.Errorf("unprivileged scan reported MACs %v", o.Keys.MACs)
		}
	})

	t.Run("os detection runs as root", func(t *testing.T) {
		res, err := s.Scan(context.Background(), ScanRequest{Targets: []string{web.ip.String()}, Profile: ProfileOS, Ports: []string{"8080"}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Observations) != 1 || res.Observations[0].Keys.MACs[0] != web.mac {
			t.Fatalf("observations = %+v", res.Observations)
		}
		// The guess itself depends on the kernel; one open and no closed port is often too
		// little for nmap to commit, so only log it.
		t.Logf("OS guess for the namespace: %q", res.Observations[0].Facts.OS)
	})
}

func keysOf(m map[netip.Addr]sources.Observation) []netip.Addr {
	out := make([]netip.Addr, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestNetnsLabIsRemovedAfterTheTest(t *testing.T) {
	requireNetnsRoot(t)
	var lab *netLab
	t.Run("lab", func(t *testing.T) { lab = newNetLab(t, 1) })
	if lab == nil {
		t.Skip("the lab subtest was filtered out by -run")
	}
	out, err := exec.Command("ip", "netns", "list").CombinedOutput()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(out), lab.hosts[0].ns) {
		t.Errorf("namespace %s survived its test: %s", lab.hosts[0].ns, out)
	}
	out, _ = exec.Command("ip", "-o", "addr", "show").CombinedOutput()
	if strings.Contains(string(out), netip.PrefixFrom(lab.subnet.Addr().Next(), 29).String()) {
		t.Errorf("bridge address %s survived its test", lab.subnet.Addr().Next())
	}
}
