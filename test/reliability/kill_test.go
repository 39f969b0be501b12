package reliability

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/netbox-agent/netbox-agent/netbox/netboxtest"
	"github.com/netbox-agent/netbox-agent/test/lab"
)

// killVMs lengthens the lab's apply so that kills land inside it.
const killVMs = 150

func startLab(t *testing.T, vms int) *lab.Lab {
	t.Helper()
	l, err := lab.Start(context.Background(), lab.Options{Dir: t.TempDir(), VMs: vms})
	must(t, err)
	t.Cleanup(func() { _ = l.Close() })
	return l
}

// writes counts the write requests NetBox has served.
func writes(nb *netboxtest.Server) int {
	n := 0
	for k, v := range nb.Counts() {
		if !strings.HasPrefix(k, "GET ") {
			n += v
		}
	}
	return n
}

// seed is RELIABILITY_SEED or a fixed default, so a run is repeatable and can be varied.
func seed() uint64 {
	if s, err := strconv.ParseUint(os.Getenv("RELIABILITY_SEED"), 10, 64); err == nil {
		return s
	}
	return 2026
}

// killRows: the built agent (--run-once) is SIGKILLed at random points of its apply, run
// again each time, and NetBox must end equal to a fault-free run in another lab.
func killRows(t *testing.T, m *matrix) {
	const group = "Agent killed during apply"
	bin := m.agentBinary(t)
	ref := startLab(t, killVMs)
	t0 := time.Now()
	clean := runAgent(t, bin, 2*time.Minute, nil, "--run-once", "--config", ref.ConfigPath(), "--output", "json")
	if clean.code != 0 {
		t.Fatalf("fault-free run exited %d: %s", clean.code, firstLine(clean.stderr))
	}
	want := canonical(ref.NetBox().Snapshot())
	total := writes(ref.NetBox())
	m.figure("fault-free --run-once of the lab with %d extra VMs: %d NetBox objects, %d write requests, %s wall", killVMs, objectCount(want), total, time.Since(t0).Round(time.Millisecond))

	l := startLab(t, killVMs)
	s := seed()
	rng := rand.New(rand.NewPCG(s, s+1))
	var kills []string
	killedMid := 0
	for i := range 5 {
		before := writes(l.NetBox())
		// a random point among the writes a full run makes (later runs have fewer left)
		at := 1 + rng.IntN(max(1, total/(i+1)-1))
		killed, after, err := runAndKill(bin, l.ConfigPath(), l.NetBox(), before+at, syscall.SIGKILL)
		if err != nil {
			t.Fatalf("kill run %d: %v", i+1, err)
		}
		if killed {
			killedMid++
			kills = append(kills, fmt.Sprintf("after %d writes", after-before))
		} else {
			kills = append(kills, fmt.Sprintf("run %d finished (%d writes) before write %d", i+1, after-before, at))
		}
	}
	final := runAgent(t, bin, 2*time.Minute, nil, "--run-once", "--config", l.ConfigPath(), "--output", "json")
	got := canonical(l.NetBox().Snapshot())
	diff := diffCanonical(got, want)
	dups := duplicates(l.NetBox().Snapshot())
	dry := runAgent(t, bin, 2*time.Minute, nil, "--run-once", "--dry-run", "--config", l.ConfigPath(), "--output", "json")
	pending, derr := planActions(dry.stdout)

	happened := fmt.Sprintf("SIGKILL %s; next run exit %d; NetBox %d objects, %d duplicates; ", strings.Join(kills, ", "), final.code, objectCount(got), dups)
	switch {
	case final.code != 0:
		happened += "final run: " + firstLine(lastLines(final.stderr, 3))
	case diff != "":
		happened += "differs from fault-free run: " + diff
	case derr != nil || pending != 0:
		happened += fmt.Sprintf("equal, but a dry run plans %d actions (%v)", pending, derr)
	default:
		happened += "equal to fault-free run; a dry run plans nothing"
	}
	m.check(t, group, fmt.Sprintf("netbox-agent --run-once SIGKILLed at 5 random points of apply (seed %d), then run again", s),
		"NetBox equals a fault-free run, no duplicates, the stale lock of the dead process is broken", happened,
		killedMid > 0 && final.code == 0 && diff == "" && dups == 0 && derr == nil && pending == 0)
}

// runAndKill starts a run and sends it sig once NetBox has served killAt writes in total;
// killed is false when the run ended first.
func runAndKill(bin, config string, nb *netboxtest.Server, killAt int, sig syscall.Signal) (killed bool, writesAfter int, err error) {
	cmd := exec.Command(bin, "--run-once", "--config", config, "--output", "json")
	cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	if err := cmd.Start(); err != nil {
		return false, 0, err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	deadline := time.After(2 * time.Minute)
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-done:
			return false, writes(nb), nil
		case <-deadline:
			_ = cmd.Process.Kill()
			<-done
			return false, writes(nb), fmt.Errorf("run did not end in 2 minutes")
		case <-tick.C:
			if writes(nb) >= killAt {
				_ = cmd.Process.Signal(sig)
				<-done
				return true, writes(nb), nil
			}
		}
	}
}

// planActions reads the run report's plan summary: how many writes it plans.
func planActions(report string) (int, error) {
	var rep struct {
		Plan *struct {
			Summary struct{ Create, Update, Stale, Delete int } `json:"summary"`
		} `json:"plan"`
	}
	if err := json.Unmarshal([]byte(report), &rep); err != nil {
		return -1, fmt.Errorf("run report: %w", err)
	}
	if rep.Plan == nil {
		return -1, fmt.Errorf("run report has no plan")
	}
	s := rep.Plan.Summary
	return s.Create + s.Update + s.Stale + s.Delete, nil
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " / ")
}

// termRows: SIGTERM in the middle of an apply: the agent stops between batches, releases its
// lock and exits; the next run converges to a fault-free run.
func termRows(t *testing.T, m *matrix) {
	const group = "Agent stopped during apply"
	bin := m.agentBinary(t)
	ref := startLab(t, killVMs)
	if run := runAgent(t, bin, 2*time.Minute, nil, "--run-once", "--config", ref.ConfigPath(), "--output", "json"); run.code != 0 {
		t.Fatalf("fault-free run exited %d", run.code)
	}
	want := canonical(ref.NetBox().Snapshot())
	total := writes(ref.NetBox())

	l := startLab(t, killVMs)
	start := time.Now()
	stopped, after, err := runAndKill(bin, l.ConfigPath(), l.NetBox(), total/2, syscall.SIGTERM)
	must(t, err)
	took := time.Since(start)
	lockLeft := false
	for _, o := range l.NetBox().Objects("/api/extras/tags/") {
		if strings.HasSuffix(fmt.Sprint(o["slug"]), "-lock") {
			lockLeft = true
		}
	}
	final := runAgent(t, bin, 2*time.Minute, nil, "--run-once", "--config", l.ConfigPath(), "--output", "json")
	diff := diffCanonical(canonical(l.NetBox().Snapshot()), want)
	happened := fmt.Sprintf("SIGTERM after %d of %d writes: stopped %v, run ended %s after start; lock left behind: %v; next run exit %d; ", after, total, stopped, took.Round(time.Millisecond), lockLeft, final.code)
	if diff == "" {
		happened += "equal to fault-free run"
	} else {
		happened += "differs: " + diff
	}
	m.check(t, group, "netbox-agent --run-once sent SIGTERM half way through its apply, then run again",
		"stops promptly, releases its lock, the next run converges to a fault-free run", happened,
		stopped && !lockLeft && final.code == 0 && diff == "" && took < time.Minute)
}
