package testnetbox

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// status asks NetBox its version (and proves the token works before any test writes).
func (t *Target) status() (string, error) {
	var st map[string]any
	if err := t.do(t.tb.Context(), http.MethodGet, "/api/status/", nil, &st); err != nil {
		return "", fmt.Errorf("NetBox at %s: %w", t.upURL, err)
	}
	v, _ := st["netbox-version"].(string)
	if v == "" {
		return "", fmt.Errorf("NetBox at %s: /api/status/ has no netbox-version", t.upURL)
	}
	// "4.3.7-Docker-3.3.0" and the like: keep the release.
	if m := regexp.MustCompile(`^\d+\.\d+\.\d+`).FindString(v); m != "" {
		v = m
	}
	return v, nil
}

// reset empties the real NetBox: NETBOX_TEST_RESET when set, else deletion through the API.
func (t *Target) reset() error {
	if cmd := os.Getenv(EnvReset); cmd != "" {
		ctx, cancel := context.WithTimeout(t.tb.Context(), 2*time.Minute)
		defer cancel()
		out, err := exec.CommandContext(ctx, "sh", "-c", cmd).CombinedOutput()
		if err != nil {
			return fmt.Errorf("%s (%q): %w\n%s", EnvReset, cmd, err, truncate(out, 2000))
		}
		if err := t.waitReady(); err != nil {
			return err
		}
		return t.wipeLeftovers()
	}
	return t.wipe(t.tb.Context())
}

// leftoverProbes are endpoints that any test writing to NetBox leaves something in.
var leftoverProbes = []string{"dcim/sites", "dcim/manufacturers", "extras/tags", "dcim/devices", "virtualization/virtual-machines"}

// wipeLeftovers deletes through the API what a reset left: the reset copies a template
// database, and a realnetbox setup that re-made its template from a used database (it does
// when its NetBox source changed) puts a previous test's objects into every reset.
func (t *Target) wipeLeftovers() error {
	for _, ep := range leftoverProbes {
		var page struct {
			Count int `json:"count"`
		}
		if err := t.do(t.tb.Context(), http.MethodGet, apiPath(ep)+"?limit=1&brief=1", nil, &page); err != nil {
			return fmt.Errorf("after %s: %w", EnvReset, err)
		}
		if page.Count > 0 {
			t.tb.Logf("testnetbox: %s left %d objects in %s (its template database is not empty; rebuild it: realnetbox.sh stop, remove its root, setup): deleting them through the API", EnvReset, page.Count, ep)
			return t.wipe(t.tb.Context())
		}
	}
	return nil
}

// waitReady waits until NetBox answers after a reset (the workers reconnect to the new
// database on their next request).
func (t *Target) waitReady() error {
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, err := t.status()
		if err == nil || time.Now().After(deadline) {
			return err
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// wipe deletes, through the API, every object of the endpoints the agent writes, the most
// dependent first. Objects of other models that refer to them (cables, racks, tenants) are
// not touched, so a NetBox used this way should be a throwaway one.
func (t *Target) wipe(ctx context.Context) error {
	for _, ep := range slices.Backward(WriteEndpoints) {
		objs, err := t.List(ep, nil)
		if err != nil {
			return err
		}
		ids := make([]int, 0, len(objs))
		for _, o := range objs {
			ids = append(ids, IntOf(o["id"]))
		}
		if err := t.deleteIDs(ctx, ep, ids); err != nil {
			return err
		}
	}
	return nil
}

// checkLoopback refuses a NetBox that is not on this machine: tests write and delete freely.
func checkLoopback(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("value %q is not a URL: %w", raw, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("value %q: scheme must be http or https", raw)
	}
	switch h := u.Hostname(); {
	case h == "localhost", h == "::1", strings.HasPrefix(h, "127."):
		return nil
	default:
		return fmt.Errorf("value %q: host %q is not loopback; tests empty the database, so only a NetBox on this machine (127.0.0.0/8, ::1, localhost) is used", raw, h)
	}
}

// lockPath is one file per NetBox URL, shared by every test process on the machine.
func lockPath(u string) string {
	sum := sha256.Sum256([]byte(u))
	return filepath.Join(os.TempDir(), "netbox-agent-testnetbox-"+hex.EncodeToString(sum[:6])+".lock")
}

// acquire takes the exclusive lock for the NetBox at u, waiting for other processes; the
// file records the holder (pid and test) so a test that asks twice fails instead of waiting
// for itself, and a waiting test can say whom it waits for.
func acquire(name, u string, limit time.Duration) (*os.File, error) {
	path := lockPath(u)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	me := strconv.Itoa(os.Getpid())
	until := time.Now().Add(limit)
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			break
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		holder, _ := os.ReadFile(path)
		if pid, test, _ := strings.Cut(strings.TrimSpace(string(holder)), " "); pid == me && (test == name || strings.HasPrefix(name, test+"/")) {
			f.Close()
			return nil, fmt.Errorf("%s: test %q of this process still holds the real NetBox at %s; a test may use one Target at a time (Close the first)", name, test, u)
		}
		if time.Now().After(until) {
			f.Close()
			return nil, fmt.Errorf("lock %s: waited %s for the real NetBox at %s, held by %q", path, limit.Round(time.Second), u, strings.TrimSpace(string(holder)))
		}
		time.Sleep(50 * time.Millisecond)
	}
	// Written after taking the lock, read only by waiters: stale content is harmless.
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(me+" "+name+"\n"), 0)
	}
	return f, nil
}

func release(f *os.File) {
	_ = f.Truncate(0)
	_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
	_ = f.Close()
}

// deadline is the test's deadline (-timeout), when it has one.
func deadline(tb testing.TB) (time.Time, bool) {
	if d, ok := tb.(interface{ Deadline() (time.Time, bool) }); ok {
		return d.Deadline()
	}
	return time.Time{}, false
}
