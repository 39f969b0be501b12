package reliability

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// agentBinary builds cmd/netbox-agent once per test process, into a temporary directory.
func (m *matrix) agentBinary(t *testing.T) string {
	t.Helper()
	m.binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "reliability-bin-")
		if err != nil {
			m.binErr = err
			return
		}
		m.binDir = dir
		bin := filepath.Join(dir, "netbox-agent")
		cmd := exec.Command("go", "build", "-o", bin, "github.com/netbox-agent/netbox-agent/cmd/netbox-agent")
		out, err := cmd.CombinedOutput()
		if err != nil {
			m.binErr = &buildError{err: err, out: string(out)}
			return
		}
		m.bin = bin
	})
	if m.binErr != nil {
		t.Fatalf("building netbox-agent: %v", m.binErr)
	}
	return m.bin
}

type buildError struct {
	err error
	out string
}

func (e *buildError) Error() string { return e.err.Error() + ": " + firstLine(e.out) }

// agentRun is one finished run of the binary.
type agentRun struct {
	code           int
	stdout, stderr string
}

// runAgent runs the binary to completion (bounded by timeout) with env added to a clean
// environment.
func runAgent(t *testing.T, bin string, timeout time.Duration, env []string, args ...string) agentRun {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}, env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := cmd.ProcessState.ExitCode()
	if err != nil && code < 0 {
		t.Fatalf("%s %v: %v", bin, args, err)
	}
	return agentRun{code: code, stdout: stdout.String(), stderr: stderr.String()}
}
