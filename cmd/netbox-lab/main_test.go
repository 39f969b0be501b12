package main

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// lockedBuffer is written by run's goroutine and read by the test.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func TestRunServesUntilSignalled(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "lab")
	var stdout, stderr lockedBuffer
	done := make(chan int, 1)
	go func() { done <- run([]string{"--dir", dir, "--vms", "12", "--print-config"}, &stdout, &stderr) }()

	ready := filepath.Join(dir, ReadyFile)
	deadline := time.Now().Add(60 * time.Second)
	for {
		if _, err := os.Stat(ready); err == nil {
			break
		}
		select {
		case code := <-done:
			t.Fatalf("run returned %d before ready; stderr:\n%s", code, stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s after 60s; stderr:\n%s", ready, stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}

	out := stdout.String()
	cfg := filepath.Join(dir, "netbox-agent.yaml")
	if first, _, _ := strings.Cut(out, "\n"); first != cfg {
		t.Errorf("first stdout line %q, want the config path %q", first, cfg)
	}
	for _, want := range []string{"pve-lab", "nas01", "12 of them synthetic", "--- " + cfg, "sources:", "token_secret:"} {
		if !strings.Contains(out, want) {
			t.Errorf("stdout lacks %q:\n%s", want, out)
		}
	}
	written, err := os.ReadFile(cfg)
	if err != nil || !strings.Contains(out, string(written)) {
		t.Errorf("--print-config does not print the written file (%v)", err)
	}

	if err := syscall.Kill(os.Getpid(), syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("exit code %d after SIGINT; stderr:\n%s", code, stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("still running 10s after SIGINT")
	}
	if _, err := os.Stat(ready); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("ready file left behind: %v", err)
	}
	if !strings.Contains(stderr.String(), "lab stopped") {
		t.Errorf("stderr lacks the stop message:\n%s", stderr.String())
	}
}

func TestRunRejectsBadFlags(t *testing.T) {
	tests := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--netbox", "3.7"}, 1, `"3.7"`},
		{[]string{"--vms", "-3"}, 1, "vms -3"},
		{[]string{"--no-such-flag"}, 2, "no-such-flag"},
		{[]string{"extra"}, 2, "unexpected arguments"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			var stdout, stderr lockedBuffer
			args := append([]string{"--dir", t.TempDir()}, tt.args...)
			if code := run(args, &stdout, &stderr); code != tt.code {
				t.Errorf("exit code %d, want %d", code, tt.code)
			}
			if !strings.Contains(stderr.String(), tt.want) {
				t.Errorf("stderr lacks %q:\n%s", tt.want, stderr.String())
			}
		})
	}
}
