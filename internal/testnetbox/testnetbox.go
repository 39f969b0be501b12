package testnetbox

import (
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
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
	// Start is when the proxy sent the request on; Took is how long NetBox took until its
	// answer's headers arrived (NetBox renders the whole answer before it sends them). Both
	// are zero for requests the proxy answered itself (faults).
	Start time.Time
	Took  time.Duration
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

// WaitIdle waits until every request made through URL has been answered by NetBox, also
// those of an agent that was killed or gave up waiting: NetBox finishes them regardless, so
// a test that kills an agent waits here before it looks at NetBox or runs the next agent.
func (t *Target) WaitIdle(d time.Duration) error { return t.proxy.waitIdle(d) }

// NetBoxTime says how long NetBox worked on the requests since the last ResetLog: the sum
// of each request's time, and the busy time (the union of the requests' intervals, which is
// less than the sum when requests overlapped).
func (t *Target) NetBoxTime() (sum, busy time.Duration) {
	return netboxTime(t.Requests())
}

func netboxTime(reqs []Request) (sum, busy time.Duration) {
	type span struct{ from, to time.Time }
	var spans []span
	for _, r := range reqs {
		if r.Took > 0 {
			sum += r.Took
			spans = append(spans, span{r.Start, r.Start.Add(r.Took)})
		}
	}
	slices.SortFunc(spans, func(a, b span) int { return a.from.Compare(b.from) })
	var cur span
	for i, s := range spans {
		switch {
		case i == 0:
			cur = s
		case s.from.After(cur.to):
			busy += cur.to.Sub(cur.from)
			cur = s
		case s.to.After(cur.to):
			cur.to = s.to
		}
	}
	if len(spans) > 0 {
		busy += cur.to.Sub(cur.from)
	}
	return sum, busy
}

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
