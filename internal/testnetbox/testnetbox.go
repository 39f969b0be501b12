// Package testnetbox gives a test the NetBox it should talk to: a real NetBox when the
// environment names one, otherwise a netboxtest simulator, as every test had before.
//
// The real tier is selected by the environment:
//
//	NETBOX_TEST_URL    base URL of a throwaway NetBox (e.g. http://127.0.0.1:8430)
//	NETBOX_TEST_TOKEN  an API token with write access (v1 40 hex, or v2 nbt_<key>.<secret>)
//	NETBOX_TEST_RESET  optional: a shell command that empties NetBox's database
//	                   (e.g. "/work/shared/realnetbox/realnetbox.sh reset --version 4.3.7");
//	                   without it the objects of every endpoint the agent writes are deleted
//	                   through the API instead (slower, and only those endpoints).
//
// A real NetBox is one shared database, so New takes an exclusive cross-process lock (flock
// on a file in the temporary directory named after the URL) before resetting it, and holds it
// until the test ends: `go test ./...` runs packages in parallel processes, and two of them
// must never write to the server at once. A test may hold one Target at a time; asking for a
// second while the first is open fails the test (it would wait for itself forever).
//
// In both tiers the agent is pointed at a recording proxy in front of NetBox, so tests count
// requests (Writes, Requests) and inject faults (drops, delays, 5xx) the same way in both
// tiers, and the helpers' own requests (which go to NetBox directly) are not counted. Objects are read back through the REST API in both tiers (Objects, Find,
// Snapshot), so assertions never depend on simulator internals, and never on ids.
package testnetbox

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/netbox-agent/netbox-agent/netbox/netboxtest"
)

// Environment variables that select and drive the real tier.
const (
	EnvURL   = "NETBOX_TEST_URL"
	EnvToken = "NETBOX_TEST_TOKEN"
	EnvReset = "NETBOX_TEST_RESET"
)

// WriteEndpoints are the collections the agent writes, in dependency order (a later one may
// refer to an earlier one). Snapshot reads them; the API reset deletes them in reverse.
var WriteEndpoints = []string{
	"extras/custom-fields", "extras/tags",
	"dcim/sites", "dcim/locations", "dcim/manufacturers", "dcim/device-types", "dcim/device-roles", "dcim/platforms",
	"virtualization/cluster-types", "virtualization/clusters",
	"dcim/devices", "virtualization/virtual-machines",
	"dcim/interfaces", "virtualization/interfaces", "dcim/mac-addresses", "ipam/ip-addresses",
	"ipam/services", "virtualization/virtual-disks",
}

// Request is one request the agent made, as logged by the simulator or the proxy.
type Request struct {
	Method string
	Path   string
	Query  string
	Status int // 0: the connection was dropped without an answer
	Fault  netboxtest.FaultKind
}

// Option configures New.
type Option func(*options)

type options struct {
	profile netboxtest.Profile
	faults  []netboxtest.FaultFunc
}

// WithProfile picks the simulator's NetBox version. A real NetBox is what it is: the option
// is ignored there (Version reports the real one).
func WithProfile(p netboxtest.Profile) Option { return func(o *options) { o.profile = p } }

// WithFaults injects faults into the agent's requests in both tiers, in the proxy in front of
// NetBox (AfterApply: the request reaches NetBox, then the answer is lost). The first hook
// returning a fault wins.
func WithFaults(f netboxtest.FaultFunc) Option {
	return func(o *options) { o.faults = append(o.faults, f) }
}

// Target is the NetBox a test talks to.
type Target struct {
	// URL is where the agent should send its requests: the proxy in front of NetBox.
	URL string
	// Token is the API token (v1 or v2; AuthHeader gives the header value).
	Token string
	// Sim is the simulator in the simulator tier, nil against a real NetBox. Tests that check
	// simulator-only behaviour skip when it is nil.
	Sim *netboxtest.Server

	tb      testing.TB
	real    bool
	version string // NetBox version, "4.3.7"
	upURL   string // real NetBox (not the proxy)
	proxy   *proxy
	lock    *os.File
	hc      *http.Client
	closed  bool
	closeMu sync.Mutex
}

// Real reports whether the environment names a real NetBox (NETBOX_TEST_URL and
// NETBOX_TEST_TOKEN both set).
func Real() bool { return os.Getenv(EnvURL) != "" && os.Getenv(EnvToken) != "" }

// Profiles are the NetBox profiles a test should run against: both simulator profiles in
// the simulator tier, one (the real server's) in the real tier, where running the same test
// twice against one server would only double the time.
func Profiles() []netboxtest.Profile {
	if Real() {
		return []netboxtest.Profile{0}
	}
	return []netboxtest.Profile{netboxtest.Profile43, netboxtest.Profile47}
}

// ProfileName names a profile from Profiles for t.Run ("4.3", "4.7", or "real").
func ProfileName(p netboxtest.Profile) string {
	if p == 0 {
		return "real"
	}
	return p.String()
}

// New returns the NetBox for this test, empty, and closes it when the test ends.
func New(tb testing.TB, opts ...Option) *Target {
	tb.Helper()
	o := options{profile: netboxtest.Profile43}
	for _, f := range opts {
		f(&o)
	}
	t := &Target{tb: tb, hc: &http.Client{Timeout: 2 * time.Minute}}
	if !Real() {
		t.Sim = netboxtest.NewTestServer(tb, netboxtest.WithProfile(o.profile))
		t.upURL, t.Token, t.version = t.Sim.URL, t.Sim.Token(), t.Sim.Profile().NetBoxVersion()
		tb.Cleanup(t.Close)
		if err := t.startProxy(o.faults); err != nil {
			tb.Fatalf("testnetbox: %v", err)
		}
		return t
	}
	t.real = true
	t.upURL = strings.TrimRight(os.Getenv(EnvURL), "/")
	t.Token = os.Getenv(EnvToken)
	if err := checkLoopback(t.upURL); err != nil {
		tb.Fatalf("testnetbox: %s: %v", EnvURL, err)
	}
	limit := 20 * time.Minute
	if d, ok := deadline(tb); ok {
		limit = time.Until(d) - 10*time.Second
	}
	lock, err := acquire(tb.Name(), t.upURL, limit)
	if err != nil {
		tb.Fatalf("testnetbox: %v", err)
	}
	t.lock = lock
	tb.Cleanup(t.Close)
	if err := t.reset(); err != nil {
		tb.Fatalf("testnetbox: reset: %v", err)
	}
	if t.version, err = t.status(); err != nil {
		tb.Fatalf("testnetbox: %v", err)
	}
	if err := t.startProxy(o.faults); err != nil {
		tb.Fatalf("testnetbox: %v", err)
	}
	return t
}

// startProxy puts the logging, fault-injecting proxy in front of NetBox in both tiers, so
// requests are counted and faults happen the same way whichever NetBox is behind it.
func (t *Target) startProxy(faults []netboxtest.FaultFunc) error {
	p, err := startProxy(t.upURL, faults)
	if err != nil {
		return err
	}
	t.proxy, t.URL = p, p.url
	return nil
}

// Close stops the proxy or simulator and lets the next test have the real NetBox. It runs
// at the end of the test; call it earlier to use a second Target in the same test.
func (t *Target) Close() {
	t.closeMu.Lock()
	defer t.closeMu.Unlock()
	if t.closed {
		return
	}
	t.closed = true
	if t.Sim != nil {
		t.Sim.Close()
	}
	if t.proxy != nil {
		t.proxy.close()
	}
	if t.lock != nil {
		release(t.lock)
	}
}

// IsReal reports whether this target is a real NetBox.
func (t *Target) IsReal() bool { return t.real }

// Version is the NetBox version ("4.3.7", "4.6.8"; the simulator's profile's version).
func (t *Target) Version() string { return t.version }

// Name describes the target for messages ("simulator 4.3.7", "NetBox 4.6.8").
func (t *Target) Name() string {
	if t.real {
		return "NetBox " + t.version
	}
	return "simulator " + t.version
}

// AuthHeader is the Authorization header value for Token.
func (t *Target) AuthHeader() string {
	if strings.HasPrefix(t.Token, "nbt_") {
		return "Bearer " + t.Token
	}
	return "Token " + t.Token
}

// Requests returns the requests made through URL since New or the last ResetLog.
func (t *Target) Requests() []Request { return t.proxy.requests() }

// ResetLog forgets the requests made so far (fault scripts count anew).
func (t *Target) ResetLog() { t.proxy.resetLog() }

// Writes counts the write requests (anything but GET/HEAD) since the last ResetLog.
func (t *Target) Writes() int {
	n := 0
	for _, r := range t.Requests() {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			n++
		}
	}
	return n
}

// do sends one API request straight to NetBox (not through the proxy, so it is neither
// logged nor faulted) and decodes the answer into out when out is non-nil.
func (t *Target) do(ctx context.Context, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("%s %s: encode body: %w", method, path, err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, t.upURL+path, rd)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	req.Header.Set("Authorization", t.AuthHeader())
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := t.hc.Do(req)
	if err != nil {
		// The error names the URL but never the token, which travels only in a header.
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("%s %s: read answer: %w", method, path, err)
	}
	if resp.StatusCode >= 300 {
		return fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, truncate(b, 600))
	}
	if out != nil && len(b) > 0 {
		if err := json.Unmarshal(b, out); err != nil {
			return fmt.Errorf("%s %s: decode answer: %w", method, path, err)
		}
	}
	return nil
}

func truncate(b []byte, n int) string {
	if len(b) > n {
		return string(b[:n]) + "..."
	}
	return string(b)
}

func apiPath(ep string) string { return "/api/" + strings.Trim(ep, "/") + "/" }

// List returns every object of endpoint ep ("dcim/devices") matching the query filters
// (nil: all), in NetBox's representation, following pagination.
func (t *Target) List(ep string, query url.Values) ([]map[string]any, error) {
	q := url.Values{}
	for k, v := range query {
		q[k] = v
	}
	q.Set("limit", "1000")
	var out []map[string]any
	for offset := 0; ; {
		q.Set("offset", strconv.Itoa(offset))
		var page struct {
			Count   int              `json:"count"`
			Next    *string          `json:"next"`
			Results []map[string]any `json:"results"`
		}
		if err := t.do(t.tb.Context(), http.MethodGet, apiPath(ep)+"?"+q.Encode(), nil, &page); err != nil {
			return nil, err
		}
		out = append(out, page.Results...)
		if page.Next == nil || len(page.Results) == 0 {
			return out, nil
		}
		offset += len(page.Results)
	}
}

// Objects is List of everything at ep; it fails the test on an error.
func (t *Target) Objects(ep string) []map[string]any {
	t.tb.Helper()
	objs, err := t.List(ep, nil)
	if err != nil {
		t.tb.Fatalf("testnetbox: %v", err)
	}
	return objs
}

// Find returns the one object at ep whose name (case-insensitive) is name, nil when there is
// none; two fail the test.
func (t *Target) Find(ep, name string) map[string]any {
	t.tb.Helper()
	var found map[string]any
	for _, o := range t.Objects(ep) {
		if n, _ := o["name"].(string); strings.EqualFold(n, name) {
			if found != nil {
				t.tb.Fatalf("testnetbox: %s: two objects named %q", ep, name)
			}
			found = o
		}
	}
	return found
}

// Count counts the objects at ep named name (case-insensitive).
func (t *Target) Count(ep, name string) int {
	t.tb.Helper()
	n := 0
	for _, o := range t.Objects(ep) {
		if s, _ := o["name"].(string); strings.EqualFold(s, name) {
			n++
		}
	}
	return n
}

// Create creates objects at ep through the API (as a person or another tool would) and
// returns their ids, in order; it fails the test on an error.
func (t *Target) Create(ep string, objs ...map[string]any) []int {
	t.tb.Helper()
	var out []map[string]any
	if err := t.do(t.tb.Context(), http.MethodPost, apiPath(ep), objs, &out); err != nil {
		t.tb.Fatalf("testnetbox: create: %v", err)
	}
	ids := make([]int, len(out))
	for i, o := range out {
		ids[i] = IntOf(o["id"])
	}
	return ids
}

// Update PATCHes one object through the API, as a person editing it would.
func (t *Target) Update(ep string, id int, fields map[string]any) map[string]any {
	t.tb.Helper()
	var out map[string]any
	if err := t.do(t.tb.Context(), http.MethodPatch, apiPath(ep)+strconv.Itoa(id)+"/", fields, &out); err != nil {
		t.tb.Fatalf("testnetbox: update: %v", err)
	}
	return out
}

// Delete deletes objects by id through the API.
func (t *Target) Delete(ep string, ids ...int) {
	t.tb.Helper()
	if err := t.deleteIDs(t.tb.Context(), ep, ids); err != nil {
		t.tb.Fatalf("testnetbox: delete: %v", err)
	}
}

func (t *Target) deleteIDs(ctx context.Context, ep string, ids []int) error {
	for len(ids) > 0 {
		n := min(len(ids), 500)
		body := make([]map[string]int, n)
		for i, id := range ids[:n] {
			body[i] = map[string]int{"id": id}
		}
		if err := t.do(ctx, http.MethodDelete, apiPath(ep), body, nil); err != nil {
			return err
		}
		ids = ids[n:]
	}
	return nil
}

// Snapshot reads every endpoint in WriteEndpoints (or eps) through the API, without the
// created/last_updated timestamps at any level (as netboxtest's Snapshot), so two runs
// compare; endpoints with no objects are left out.
func (t *Target) Snapshot(eps ...string) map[string][]map[string]any {
	t.tb.Helper()
	if len(eps) == 0 {
		eps = WriteEndpoints
	}
	out := map[string][]map[string]any{}
	for _, ep := range eps {
		if objs := t.Objects(ep); len(objs) > 0 {
			for _, o := range objs {
				stripTimes(o)
			}
			out[ep] = objs
		}
	}
	return out
}

func stripTimes(v any) {
	switch x := v.(type) {
	case map[string]any:
		delete(x, "created")
		delete(x, "last_updated")
		for _, e := range x {
			stripTimes(e)
		}
	case []any:
		for _, e := range x {
			stripTimes(e)
		}
	}
}

// IntOf reads a JSON number (float64 after decoding) or a nested object's id as an int.
func IntOf(v any) int {
	switch x := v.(type) {
	case float64:
		return int(x)
	case int:
		return x
	case json.Number:
		n, _ := x.Int64()
		return int(n)
	case map[string]any:
		return IntOf(x["id"])
	}
	return 0
}

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
		return t.waitReady()
	}
	return t.wipe(t.tb.Context())
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
