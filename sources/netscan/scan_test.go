package netscan

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Ullaakut/nmap/v3"
)

// fakeNmap writes a script that stands in for nmap: it records its arguments, can complain on
// stderr and fail, writes a <taskprogress> then waits, and finally writes the recorded XML to
// the file after -oX (as the real nmap does with -oX FILE).
func fakeNmap(t *testing.T, xmlFile, delay, stderr string, exit int) (script, argsFile string) {
	t.Helper()
	dir := t.TempDir()
	script = filepath.Join(dir, "nmap")
	argsFile = filepath.Join(dir, "args")
	body := fmt.Sprintf(`#!/bin/sh
printf '%%s\n' "$@" > %q
out=""; prev=""
for a in "$@"; do [ "$prev" = "-oX" ] && out="$a"; prev="$a"; done
if [ -n %q ]; then echo %q >&2; fi
if [ %d -ne 0 ]; then exit %d; fi
if [ -n %q ]; then
  printf '<?xml version="1.0"?>\n<nmaprun scanner="nmap">\n<taskprogress task="SYN Stealth Scan" time="1" percent="50.00" remaining="1" etc="2"/>\n' > "$out"
  sleep %s
fi
cat %q > "$out"
`, argsFile, stderr, stderr, exit, exit, delay, delay, xmlFile)
	if err := os.WriteFile(script, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	return script, argsFile
}

type progressLog struct {
	mu      sync.Mutex
	reports []string
}

func (p *progressLog) report(done, total int, msg string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.reports = append(p.reports, fmt.Sprintf("%d/%d %s", done, total, msg))
}

func (p *progressLog) all() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.reports...)
}

func TestScanWithRecordedNmap(t *testing.T) {
	script, argsFile := fakeNmap(t, fixture(t, "homelab-os.xml"), "0.8", "", 0)
	s := newTestSource(t, Config{NmapPath: script, Privileged: PrivilegeFalse, Ports: []string{"22", "8000-8010"}})
	var prog progressLog
	res, err := s.Scan(context.Background(), ScanRequest{Targets: []string{"192.168.10.0/28"}, Profile: ProfileServices}, prog.report)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Observations) != 4 {
		t.Errorf("got %d observations, want 4", len(res.Observations))
	}
	reports := prog.all()
	want := []string{"0/16 nmap services scan of 16 addresses", "8/16 nmap SYN Stealth Scan: 50.0% done", "16/16 nmap done: 4 hosts up"}
	for _, w := range want {
		found := false
		for _, r := range reports {
			found = found || r == w
		}
		if !found {
			t.Errorf("progress %q missing from %q", w, reports)
		}
	}
	raw, err := os.ReadFile(argsFile)
	if err != nil {
		t.Fatal(err)
	}
	args := strings.Split(strings.TrimSpace(string(raw)), "\n")
	for _, w := range []string{"192.168.10.0/28", "-sV", "--unprivileged", "-p", "22,8000-8010", "--stats-every", "-oX"} {
		if !contains(args, w) {
			t.Errorf("nmap args %q lack %q", args, w)
		}
	}
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

func TestScanRefusalsNeverStartNmap(t *testing.T) {
	script, argsFile := fakeNmap(t, fixture(t, "homelab-os.xml"), "", "", 0)
	s := newTestSource(t, Config{NmapPath: script, MaxHosts: 256})
	for _, targets := range [][]string{
		{"10.0.0.1"}, {"198.18.0.0/23"}, {"-oN /tmp/x"}, {"127.0.0.1 --script x"}, {"--help"}, {"198.18.0.1;rm"},
		{"127.0.0.0/16"}, {"198.18.0.1", "-sL"},
	} {
		_, err := s.Scan(context.Background(), ScanRequest{Targets: targets}, nil)
		if err == nil {
			t.Errorf("Scan(%q) ran", targets)
			continue
		}
		if !strings.Contains(err.Error(), `"lab-scan"`) || !strings.Contains(err.Error(), "target") {
			t.Errorf("Scan(%q) error %q should name the source and the target", targets, err)
		}
	}
	if _, err := s.Scan(context.Background(), ScanRequest{Targets: []string{"198.18.0.1"}, Ports: []string{"22 -oN x"}}, nil); err == nil {
		t.Error("a port list with an option in it was accepted")
	}
	if _, err := s.Scan(context.Background(), ScanRequest{Targets: []string{"198.18.0.1"}, Profile: "--script"}, nil); err == nil {
		t.Error("an unknown profile was accepted")
	}
	if _, err := os.Stat(argsFile); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("nmap was started for a refused request (stat: %v)", err)
	}
}

func TestScanErrors(t *testing.T) {
	xml := fixture(t, "homelab-os.xml")
	rootScript, _ := fakeNmap(t, xml, "", "You requested a scan type which requires root privileges.", 1)
	failScript, _ := fakeNmap(t, xml, "", "Failed to open device eth9", 1)
	tests := []struct {
		name    string
		cfg     Config
		path    string // PATH override; "" keeps it
		req     ScanRequest
		is      error
		wantMsg string
	}{
		{"nmap_path missing", Config{NmapPath: "/nonexistent/nmap"}, "", ScanRequest{Targets: []string{"127.0.0.1"}}, nmap.ErrNmapNotInstalled, `nmap_path "/nonexistent/nmap"`},
		{"nmap not in PATH", Config{}, "empty", ScanRequest{Targets: []string{"127.0.0.1"}}, nmap.ErrNmapNotInstalled, "nmap is not installed"},
		{"os profile unprivileged", Config{NmapPath: rootScript, Privileged: PrivilegeFalse}, "", ScanRequest{Targets: []string{"127.0.0.1"}, Profile: ProfileOS}, nmap.ErrRequiresRoot, "profile os needs root or CAP_NET_RAW"},
		{"nmap says root needed", Config{NmapPath: rootScript, Privileged: PrivilegeTrue}, "", ScanRequest{Targets: []string{"127.0.0.1"}, Profile: ProfileOS}, nmap.ErrRequiresRoot, "profile os needs root"},
		{"nmap fails", Config{NmapPath: failScript}, "", ScanRequest{Targets: []string{"127.0.0.1"}}, nil, "Failed to open device eth9"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.path == "empty" {
				t.Setenv("PATH", t.TempDir())
			}
			s := newTestSource(t, tt.cfg)
			_, err := s.Scan(context.Background(), tt.req, nil)
			if err == nil {
				t.Fatal("no error")
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("error %q is not %v", err, tt.is)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("error %q lacks %q", err, tt.wantMsg)
			}
		})
	}
}

func TestDiscoverNeedsTargets(t *testing.T) {
	s := newTestSource(t, Config{})
	if _, err := s.Discover(context.Background(), nil); err == nil || !strings.Contains(err.Error(), "no targets configured") {
		t.Fatalf("err = %v", err)
	}
}

// requireNmap skips when nmap is not installed; CI installs it (.ci/run), so CI runs these.
func requireNmap(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("nmap"); err != nil {
		t.Skip("nmap is not installed (apt-get install nmap); CI installs it and runs this test")
	}
}

// holdingListener accepts connections on loopback and never answers, so nmap's service
// detection waits on it; closed with the test.
func holdingListener(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return ln.Addr().(*net.TCPAddr).Port
}

func TestScanLoopbackRealNmap(t *testing.T) {
	requireNmap(t)
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	port := ln.Addr().(*net.TCPAddr).Port
	// A port that was just free and is closed now: nmap must not report it.
	closedLn, _ := net.Listen("tcp4", "127.0.0.1:0")
	closedPort := closedLn.Addr().(*net.TCPAddr).Port
	closedLn.Close()

	no := false
	for _, priv := range []Privilege{PrivilegeAuto, PrivilegeFalse} {
		t.Run("privileged="+string(priv), func(t *testing.T) {
			s := newTestSource(t, Config{Privileged: priv, ReverseDNS: &no, Timeout: 2 * time.Minute})
			res, err := s.Scan(context.Background(), ScanRequest{
				Targets: []string{"127.0.0.1"}, Profile: ProfilePorts,
				Ports: []string{strconv.Itoa(port), strconv.Itoa(closedPort)},
			}, nil)
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Observations) != 1 {
				t.Fatalf("observations = %+v, want 127.0.0.1", res.Observations)
			}
			o := res.Observations[0]
			if o.NativeID != "lab-scan/127.0.0.1" {
				t.Errorf("native id %q", o.NativeID)
			}
			if len(o.Services) != 1 || o.Services[0].Ports[0] != port || o.Services[0].Protocol != "tcp" {
				t.Errorf("services = %+v, want only tcp/%d", o.Services, port)
			}
		})
	}
}

// nmapRunning reports whether an nmap process whose arguments include arg is alive.
func nmapRunning(t *testing.T, arg string) bool {
	t.Helper()
	ents, err := os.ReadDir("/proc")
	if err != nil {
		t.Skipf("no /proc to look for nmap processes: %v", err)
	}
	for _, e := range ents {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		raw, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil || len(raw) == 0 {
			continue
		}
		args := strings.Split(strings.TrimRight(string(raw), "\x00"), "\x00")
		if strings.HasSuffix(args[0], "nmap") && contains(args, arg) {
			return true
		}
	}
	return false
}

func TestScanCancelStopsNmap(t *testing.T) {
	requireNmap(t)
	port := strconv.Itoa(holdingListener(t))
	no := false
	s := newTestSource(t, Config{ReverseDNS: &no})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	errc := make(chan error, 1)
	go func() {
		_, err := s.Scan(ctx, ScanRequest{Targets: []string{"127.0.0.1"}, Profile: ProfileServices, Ports: []string{port}}, nil)
		errc <- err
	}()
	deadline := time.Now().Add(10 * time.Second)
	for !nmapRunning(t, port) {
		if time.Now().After(deadline) {
			t.Fatal("nmap never started")
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond)
	cancel()
	select {
	case err := <-errc:
		if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "cancelled") {
			t.Errorf("err = %v, want a cancellation error", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Scan did not return after cancel")
	}
	if nmapRunning(t, port) {
		t.Error("nmap still running after the scan was cancelled")
	}
}

func TestScanTimeout(t *testing.T) {
	requireNmap(t)
	port := strconv.Itoa(holdingListener(t))
	no := false
	s := newTestSource(t, Config{ReverseDNS: &no, Timeout: time.Second})
	start := time.Now()
	_, err := s.Scan(context.Background(), ScanRequest{Targets: []string{"127.0.0.1"}, Profile: ProfileServices, Ports: []string{port}}, nil)
	if !errors.Is(err, nmap.ErrScanTimeout) || !strings.Contains(err.Error(), "timed out after 1s") {
		t.Fatalf("err = %v, want a timeout", err)
	}
	if el := time.Since(start); el > 8*time.Second {
		t.Errorf("timeout took %s", el)
	}
	if nmapRunning(t, port) {
		t.Error("nmap still running after the timeout")
	}
}

// readyLine waits for a helper process to print "ready".
func readyLine(t *testing.T, r *bufio.Reader) {
	t.Helper()
	line, err := r.ReadString('\n')
	if err != nil || strings.TrimSpace(line) != "ready" {
		t.Fatalf("helper listener: %q %v", line, err)
	}
}

func TestScanIPv6LoopbackRealNmap(t *testing.T) {
	requireNmap(t)
	ln, err := net.Listen("tcp6", "[::1]:0")
	if err != nil {
		t.Skipf("no IPv6 loopback here: %v", err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	port := ln.Addr().(*net.TCPAddr).Port
	no := false
	s := newTestSource(t, Config{AllowedNetworks: []string{"::1/128"}, ReverseDNS: &no, Targets: []string{"::1"}, Profile: ProfilePorts, Ports: []string{strconv.Itoa(port)}})
	// Discover scans the configured targets with the configured profile and ports.
	res, err := s.Discover(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Observations) != 1 || res.Observations[0].NativeID != "lab-scan/::1" || len(res.Observations[0].Services) != 1 || res.Observations[0].Services[0].Ports[0] != port {
		t.Fatalf("observations = %+v", res.Observations)
	}
}

func TestCheck(t *testing.T) {
	requireNmap(t)
	if err := newTestSource(t, Config{}).Check(context.Background()); err != nil {
		t.Errorf("Check with nmap installed: %v", err)
	}
	err := newTestSource(t, Config{NmapPath: "/nonexistent/nmap"}).Check(context.Background())
	if !errors.Is(err, nmap.ErrNmapNotInstalled) {
		t.Errorf("Check with a missing nmap_path: %v", err)
	}
	notNmap := filepath.Join(t.TempDir(), "nmap")
	if err := os.WriteFile(notNmap, []byte("#!/bin/sh\necho hello\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := newTestSource(t, Config{NmapPath: notNmap}).Check(context.Background()); err == nil || !strings.Contains(err.Error(), "does not look like nmap") {
		t.Errorf("Check with a binary that is not nmap: %v", err)
	}
}
