package reliability

import (
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// agentProc is a running `netbox-agent --http` process.
type agentProc struct {
	cmd    *exec.Cmd
	stderr *lockedBuffer
	stdout *lockedBuffer
	base   string // http://127.0.0.1:PORT
	done   chan struct{}
}

var servingURL = regexp.MustCompile(`"url":"(http://127\.0\.0\.1:\d+)/mcp"`)

// startAgentHTTP starts the binary serving MCP over HTTP on a loopback port chosen by the
// kernel, and waits until it says where.
func startAgentHTTP(t *testing.T, bin, config string, env ...string) *agentProc {
	t.Helper()
	p := &agentProc{stderr: &lockedBuffer{}, stdout: &lockedBuffer{}, done: make(chan struct{})}
	p.cmd = exec.Command(bin, "--http", "127.0.0.1:0", "--config", config, "--log-format", "json", "--log-level", "debug")
	p.cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}, env...)
	p.cmd.Stderr, p.cmd.Stdout = p.stderr, p.stdout
	must(t, p.cmd.Start())
	go func() { _ = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() { p.stop() })
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if m := servingURL.FindStringSubmatch(p.stderr.String()); m != nil {
			p.base = m[1]
			return p
		}
		select {
		case <-p.done:
			t.Fatalf("netbox-agent --http exited: %s", lastLines(p.stderr.String(), 5))
		case <-time.After(20 * time.Millisecond):
		}
	}
	t.Fatalf("netbox-agent --http did not say where it listens: %s", lastLines(p.stderr.String(), 5))
	return nil
}

// stop sends SIGTERM and waits (SIGKILL after 15 s).
func (p *agentProc) stop() {
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(15 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// memory returns the process's current and peak resident set size in MiB (VmRSS, VmHWM).
func (p *agentProc) memory() (rss, peak float64, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		return 0, 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok || (k != "VmRSS" && k != "VmHWM") {
			continue
		}
		kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
		if err != nil {
			return 0, 0, err
		}
		if k == "VmRSS" {
			rss = kb / 1024
		} else {
			peak = kb / 1024
		}
	}
	return rss, peak, nil
}
