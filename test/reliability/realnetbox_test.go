package reliability

import (
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/netbox-agent/netbox-agent/internal/testnetbox"
	"github.com/netbox-agent/netbox-agent/test/lab"
)

// realKillVMs keeps the lab small enough for a real NetBox (about 60 ms a device) while the
// apply still spans several write requests.
const realKillVMs = 30

// labConfigFor writes the lab's agent config pointed at nb instead of the lab's simulator
// (the token comes from NETBOX_TOKEN).
func labConfigFor(t *testing.T, l *lab.Lab, nb *testnetbox.Target) string {
	t.Helper()
	raw, err := os.ReadFile(l.ConfigPath())
	must(t, err)
	var out []string
	for _, line := range strings.Split(string(raw), "\n") {
		switch {
		case strings.HasPrefix(line, "  url: ") && strings.Contains(line, l.NetBoxURL()):
			line = "  url: " + strconv.Quote(nb.URL) + "\n  timeout: 5m"
		case strings.HasPrefix(line, "  token: ") && strings.Contains(line, l.NetBoxToken()):
			continue
		}
		out = append(out, line)
	}
	p := filepath.Join(t.TempDir(), "agent.yaml")
	must(t, os.WriteFile(p, []byte(strings.Join(out, "\n")), 0o600))
	return p
}

// TestKilledMidApplyThenRerun is the matrix's "agent killed during apply" row in a form that
// runs in both tiers (make test-netbox: against real NetBox): the built agent is SIGKILLed
// at random points of its apply, run again, and NetBox must end equal to a fault-free run,
// with no duplicates and nothing left to do.
func TestKilledMidApplyThenRerun(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "netbox-agent")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/netbox-agent/netbox-agent/cmd/netbox-agent").CombinedOutput(); err != nil {
		t.Fatalf("building netbox-agent: %v: %s", err, firstLine(string(out)))
	}
	timeout := 10 * time.Minute

	// The fault-free run, on an empty NetBox.
	nb := testnetbox.New(t)
	ref := startLab(t, realKillVMs)
	env := []string{"NETBOX_TOKEN=" + nb.Token}
	clean := runAgent(t, bin, timeout, env, "--run-once", "--config", labConfigFor(t, ref, nb), "--output", "json")
	if clean.code != 0 {
		t.Fatalf("fault-free run against %s exited %d: %s", nb.Name(), clean.code, lastLines(clean.stderr, 3))
	}
	want := canonical(nb.Snapshot())
	total := nb.Writes()
	t.Logf("fault-free run against %s: %d objects, %d write requests", nb.Name(), objectCount(want), total)
	nb.Close()

	// The same lab again on an emptied NetBox, killed at random points.
	nb = testnetbox.New(t)
	env = []string{"NETBOX_TOKEN=" + nb.Token}
	l := startLab(t, realKillVMs)
	cfg := labConfigFor(t, l, nb)
	s := seed()
	rng := rand.New(rand.NewPCG(s, s+2))
	killed := 0
	var kills []string
	killedPIDs := map[string]bool{}
	for i := range 3 {
		before := nb.Writes()
		at := 1 + rng.IntN(max(1, total/(i+1)-1))
		cmd := exec.Command(bin, "--run-once", "--config", cfg, "--output", "json")
		cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}, env...)
		must(t, cmd.Start())
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		deadline := time.After(timeout)
	wait:
		for {
			select {
			case <-done:
				kills = append(kills, fmt.Sprintf("run %d ended before write %d", i+1, at))
				break wait
			case <-deadline:
				_ = cmd.Process.Kill()
				<-done
				t.Fatalf("run %d did not end in %s", i+1, timeout)
			case <-time.After(2 * time.Millisecond):
				if nb.Writes()-before >= at {
					_ = cmd.Process.Signal(syscall.SIGKILL)
					<-done
					killed++
					killedPIDs[strconv.Itoa(cmd.Process.Pid)] = true
					kills = append(kills, fmt.Sprintf("SIGKILL after %d writes", nb.Writes()-before))
					// NetBox finishes what the killed agent had sent; the next run starts
					// after that, as a cron job's next run would (else it plans against a
					// NetBox that changes under it, and refuses, rightly, at apply).
					if err := nb.WaitIdle(time.Minute); err != nil {
						t.Fatal(err)
					}
					break wait
				}
			}
		}
	}
	final := runAgent(t, bin, timeout, env, "--run-once", "--config", cfg, "--output", "json")
	if final.code != 0 {
		t.Fatalf("run after the kills (%s) exited %d: %s", strings.Join(kills, ", "), final.code, lastLines(final.stderr, 3))
	}
	snap := nb.Snapshot()
	snap = dropDeadLocks(t, snap, killedPIDs)
	if d := diffCanonical(canonical(snap), want); d != "" {
		t.Errorf("%s: NetBox after the kills (%s) differs from the fault-free run: %s", nb.Name(), strings.Join(kills, ", "), d)
	}
	if n := duplicates(snap); n != 0 {
		t.Errorf("%s: %d duplicates after the kills (%s)", nb.Name(), n, strings.Join(kills, ", "))
	}
	dry := runAgent(t, bin, timeout, env, "--run-once", "--dry-run", "--config", cfg, "--output", "json")
	if n, err := planActions(dry.stdout); err != nil || n != 0 {
		t.Errorf("%s: a dry run after convergence plans %d actions (%v)", nb.Name(), n, err)
	}
	if killed == 0 {
		t.Errorf("no run was killed mid-apply (%s): the row proved nothing", strings.Join(kills, ", "))
	}
	t.Logf("%s: %s; then converged, equal to the fault-free run", nb.Name(), strings.Join(kills, ", "))
}

// dropDeadLocks takes out of snap an apply lock (the netbox-agent-lock tag) held by one of the
// killed runs: a killed agent's lock request can reach NetBox after the agent died (it was in
// flight when the SIGKILL came), and such a lock is the next run's to break (holderDead), not
// a difference in what the runs wrote. A lock held by any other process is an error: a run
// that ended normally must have released its lock.
func dropDeadLocks(t *testing.T, snap map[string][]map[string]any, killedPIDs map[string]bool) map[string][]map[string]any {
	t.Helper()
	for ep, objs := range snap {
		if !strings.Contains(ep, "extras/tags") {
			continue
		}
		kept := objs[:0:0]
		for _, o := range objs {
			if o["slug"] != "netbox-agent-lock" {
				kept = append(kept, o)
				continue
			}
			desc, _ := o["description"].(string)
			holder := desc
			if i := strings.Index(desc, "held by "); i >= 0 {
				holder = desc[i+len("held by "):]
			}
			pid := ""
			if parts := strings.SplitN(holder, ":", 3); len(parts) >= 2 {
				pid = parts[1]
			}
			if !killedPIDs[pid] {
				t.Errorf("an apply lock is left that no killed run held (a run that ended did not release it): %q", desc)
				kept = append(kept, o)
				continue
			}
			t.Logf("a killed run's apply lock reached NetBox after the kill (left for the next run to break): %q", desc)
		}
		snap[ep] = kept
	}
	return snap
}
