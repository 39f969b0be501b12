// Package upgrade runs the agent of an earlier version and of this one, one after the other,
// against the same NetBox: what docs/operations.md says about upgrade and rollback.
//
// Room: a test suite (see docs/architecture.md). It has no code outside its tests, which may
// import any package; nothing imports it.
package upgrade

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/netbox-agent/netbox-agent/test/lab"
)

// baseline is the last commit before ownership records could carry an instance name: the
// version a rollback from this one goes back to.
const baseline = "67ad59f"

func buildAgent(t *testing.T, dir, out string) {
	t.Helper()
	cmd := exec.Command("go", "build", "-o", out, "./cmd/netbox-agent")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build in %s: %v\n%s", dir, err, b)
	}
}

// oldAgent builds the baseline from git history (git archive, so the work tree is untouched).
func oldAgent(t *testing.T) string {
	t.Helper()
	if err := exec.Command("git", "cat-file", "-e", baseline+"^{commit}").Run(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("commit %s is not in this clone (CI needs the full history: fetch-depth 0): %v", baseline, err)
		}
		t.Skipf("commit %s is not in this clone (a shallow clone?): %v", baseline, err)
	}
	src := t.TempDir()
	archive := exec.Command("git", "archive", "--format=tar", baseline)
	archive.Dir = "../.."
	tar := exec.Command("tar", "-x", "-C", src)
	var err error
	if tar.Stdin, err = archive.StdoutPipe(); err != nil {
		t.Fatal(err)
	}
	var aerr bytes.Buffer
	archive.Stderr = &aerr
	if err := archive.Start(); err != nil {
		t.Fatal(err)
	}
	if out, err := tar.CombinedOutput(); err != nil {
		t.Fatalf("tar: %v\n%s", err, out)
	}
	if err := archive.Wait(); err != nil {
		t.Fatalf("git archive %s: %v\n%s", baseline, err, aerr.String())
	}
	bin := filepath.Join(t.TempDir(), "netbox-agent-old")
	buildAgent(t, src, bin)
	return bin
}

type agentRun struct {
	code           int
	stdout, stderr string
}

func runAgent(t *testing.T, bin, cfg string) agentRun {
	t.Helper()
	cmd := exec.Command(bin, "--config", cfg, "--run-once", "--log-format", "json")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return agentRun{code, out.String(), errb.String()}
}

// instances returns the instance name of the ownership record of every owned device, VM and
// IP address, by display name.
func instances(t *testing.T, l *lab.Lab) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, ep := range []string{"/api/dcim/devices/", "/api/virtualization/virtual-machines/", "/api/ipam/ip-addresses/"} {
		for _, o := range l.NetBox().Objects(ep) {
			cf, _ := o["custom_fields"].(map[string]any)
			raw := cf["netbox_agent"]
			if raw == nil {
				continue
			}
			b, _ := json.Marshal(raw)
			var rec struct {
				Instance string `json:"instance"`
			}
			if err := json.Unmarshal(b, &rec); err != nil {
				t.Fatalf("record %s: %v", b, err)
			}
			name, _ := o["display"].(string)
			out[ep+name] = rec.Instance
		}
	}
	return out
}

// staleCount reads the plan summary ("0 to mark stale") and the apply report ("0 marked stale").
var staleCount = regexp.MustCompile(`(\d+) (?:to mark|marked) stale`)

func writes(l *lab.Lab) int {
	n := 0
	for _, r := range l.NetBox().Requests() {
		if r.Method != "GET" {
			n++
		}
	}
	return n
}

// TestUpgradeThenRollback: the previous version populates NetBox; this version with an
// instance name takes its records over (and writes what the two versions map differently) and
// then writes nothing; the previous version, put back (its config without sync.instance, which
// it does not know), reads the newer records as its own: no duplicates, nothing lost, and after
// one run nothing to write; this version again stamps the names the old one dropped, then
// writes nothing.
func TestUpgradeThenRollback(t *testing.T) {
	old := oldAgent(t)
	cur := filepath.Join(t.TempDir(), "netbox-agent")
	buildAgent(t, "../..", cur)

	l, err := lab.Start(t.Context(), lab.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	plain, err := os.ReadFile(l.ConfigPath())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(plain, []byte("\nsync:\n")) {
		t.Fatal("the lab config has no sync section to add the instance to")
	}
	named := filepath.Join(t.TempDir(), "named.yaml")
	if err := os.WriteFile(named, bytes.Replace(plain, []byte("\nsync:\n"), []byte("\nsync:\n  instance: site-a\n"), 1), 0o600); err != nil {
		t.Fatal(err)
	}

	// step runs one version once. The first run after a change of version may write and mark
	// stale whatever the two versions map differently (new defaults: nodes in their cluster,
	// Home Assistant devices without a network identity left out, key-only facts on their own
	// interfaces); every later run must write nothing and mark nothing stale.
	type expect int
	const (
		versionChanged expect = iota // writes and stale marks allowed
		noWrites
		mustWrite
	)
	step := func(name, bin, cfg string, want expect) map[string]string {
		t.Helper()
		l.NetBox().ResetLog()
		r := runAgent(t, bin, cfg)
		if r.code != 0 {
			t.Fatalf("%s: exit %d\nstdout:\n%s\nstderr:\n%s", name, r.code, r.stdout, r.stderr)
		}
		w := writes(l)
		switch {
		case want == noWrites && w > 0, want == mustWrite && w == 0:
			t.Errorf("%s: %d write requests (want writes: %v)\n%s", name, w, want == mustWrite, r.stdout)
		}
		if want != versionChanged {
			for _, m := range staleCount.FindAllStringSubmatch(r.stdout, -1) {
				if m[1] != "0" {
					t.Errorf("%s: marks objects stale (%q):\n%s", name, m[0], r.stdout)
				}
			}
		}
		t.Logf("%s: %d write requests", name, w)
		if n := duplicateOwned(l); n > 0 {
			t.Errorf("%s: %d owned devices, VMs or IP addresses share a name with another", name, n)
		}
		return instances(t, l)
	}
	// lost lists the owned objects of before that are gone from after.
	lost := func(before, after map[string]string) []string {
		var out []string
		for k := range before {
			if _, ok := after[k]; !ok {
				out = append(out, k)
			}
		}
		return out
	}

	before := step("previous version, first run", old, l.ConfigPath(), mustWrite)
	for k, v := range before {
		if v != "" {
			t.Fatalf("previous version wrote an instance name on %s: %q", k, v)
		}
	}
	step("previous version, second run", old, l.ConfigPath(), noWrites)

	// the old binary refuses the new key: a rollback needs the old config
	if r := runAgent(t, old, named); r.code == 0 || !strings.Contains(r.stderr, "instance") {
		t.Errorf("previous version with sync.instance: exit %d, stderr %s", r.code, r.stderr)
	}

	upgraded := step("this version with sync.instance, first run", cur, named, versionChanged)
	if gone := lost(before, upgraded); len(gone) > 0 {
		t.Errorf("owned objects lost by the upgrade: %v", gone)
	}
	for k, v := range upgraded {
		if v != "site-a" {
			t.Errorf("after the upgrade %s has instance %q, want site-a", k, v)
		}
	}
	step("this version, second run", cur, named, noWrites)

	rolledBack := step("previous version again (rollback)", old, l.ConfigPath(), versionChanged)
	if gone := lost(upgraded, rolledBack); len(gone) > 0 {
		t.Errorf("owned objects lost by the rollback: %v", gone)
	}
	// An old agent that rewrites a record drops the instance name it does not know (it writes
	// where the versions map differently); the records it leaves alone keep theirs.
	kept, dropped := 0, 0
	for k, v := range rolledBack {
		switch {
		case v == "site-a":
			kept++
		case upgraded[k] == "site-a" && v == "":
			dropped++
		default:
			t.Errorf("after the rollback run %s has instance %q", k, v)
		}
	}
	t.Logf("rollback: %d records keep the instance name, %d rewritten by the old version lost it", kept, dropped)
	step("previous version, second run after the rollback", old, l.ConfigPath(), noWrites)
	again := step("this version again", cur, named, versionChanged)
	if gone := lost(rolledBack, again); len(gone) > 0 {
		t.Errorf("owned objects lost by the upgrade after the rollback: %v", gone)
	}
	for k, v := range again {
		if v != "site-a" {
			t.Errorf("after upgrading again %s has instance %q, want site-a (stamped again)", k, v)
		}
	}
	step("this version again, second run", cur, named, noWrites)
}

// duplicateOwned counts owned devices, VMs and IP addresses whose display name another owned
// object of the same kind has too.
func duplicateOwned(l *lab.Lab) int {
	n := 0
	for _, ep := range []string{"/api/dcim/devices/", "/api/virtualization/virtual-machines/", "/api/ipam/ip-addresses/"} {
		seen := map[string]bool{}
		for _, o := range l.NetBox().Objects(ep) {
			cf, _ := o["custom_fields"].(map[string]any)
			if cf["netbox_agent"] == nil {
				continue
			}
			name, _ := o["display"].(string)
			if seen[name] {
				n++
			}
			seen[name] = true
		}
	}
	return n
}
