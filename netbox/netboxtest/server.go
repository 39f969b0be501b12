package netboxtest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Profile selects the NetBox version the simulator behaves as.
type Profile int

const (
	// Profile43 is NetBox 4.3: v1 tokens (Authorization: Token <40 hex>), a bulk create
	// error is a list with one dict per object, interface mac_address is read-only,
	// offset pagination only.
	Profile43 Profile = 43
	// Profile47 is NetBox 4.7: v2 tokens (Authorization: Bearer nbt_<key>.<secret>) and v1
	// tokens, bulk errors as {"detail", "errors": [{"index", "errors"}]}, custom field errors
	// under "custom_fields", writable interface mac_address, cursor pagination (?start=),
	// platforms unique per manufacturer, VMs may stand alone on a device, weak ETags on
	// objects and 412 when If-Match no longer matches.
	Profile47 Profile = 47
)

func (p Profile) String() string     { return p.APIVersion() }
func (p Profile) APIVersion() string { return fmt.Sprintf("%d.%d", int(p)/10, int(p)%10) }
func (p Profile) NetBoxVersion() string {
	return map[Profile]string{Profile43: "4.3.7", Profile47: "4.7.1"}[p]
}

func (p Profile) v2Tokens() bool                { return p >= Profile47 }
func (p Profile) bulkErrorsV2() bool            { return p >= Profile47 }
func (p Profile) nestedCustomFieldErrors() bool { return p >= Profile47 }
func (p Profile) writableInterfaceMAC() bool    { return p >= Profile47 }
func (p Profile) cursorPagination() bool        { return p >= Profile47 }
func (p Profile) standaloneVMs() bool           { return p >= Profile47 }
func (p Profile) etags() bool                   { return p >= Profile47 }

// changeLogV2: the change log answers object_repr and message and honours ?fields= (4.4+;
// 4.3.7 answers neither field and every field whatever fields= says).
func (p Profile) changeLogV2() bool { return p >= Profile47 }

// FaultKind is a failure the simulator can inject.
type FaultKind int

const (
	FaultNone        FaultKind = iota
	FaultRateLimit             // 429 with Retry-After (a proxy in front of NetBox)
	FaultServerError           // 500
	FaultBadGateway            // 502
	FaultUnavailable           // 503
	FaultDrop                  // the connection is closed without a response
	FaultSlow                  // the request waits Delay, then is served normally (with AfterApply: served at once, answered after Delay)
)

func (k FaultKind) String() string {
	return [...]string{"none", "rate-limit", "server-error", "bad-gateway", "unavailable", "drop", "slow"}[k]
}

// Fault is what happens to one request.
type Fault struct {
	Kind       FaultKind
	RetryAfter time.Duration // FaultRateLimit: the Retry-After header (whole seconds, at least 1)
	Delay      time.Duration // FaultSlow
	// AfterApply processes the request (writes happen) before failing it, as when a proxy
	// times out after NetBox committed.
	AfterApply bool
}

// FaultFunc decides the fault for a request; n counts requests with the same method and
// path, this one included (the 3rd POST to /api/dcim/devices/ has n == 3).
type FaultFunc func(r *http.Request, n int) Fault

// FailNth returns a FaultFunc that injects f into the nth request with method and path.
func FailNth(method, path string, n int, f Fault) FaultFunc {
	return func(r *http.Request, k int) Fault {
		if r.Method == method && r.URL.Path == path && k == n {
			return f
		}
		return Fault{}
	}
}

// Token is an API token the simulator accepts.
type Token struct {
	Value    string // v1: 40 hex characters; v2: nbt_<key>.<secret>
	Expired  bool
	ReadOnly bool // write_enabled false
}

type config struct {
	profile          Profile
	tokens           []Token
	perRequest       time.Duration
	perObject        time.Duration
	workers          int
	faultFuncs       []FaultFunc
	faultSeed        uint64
	faultRate        float64
	faultKinds       []Fault
	validateResponse bool
	spec             *Spec
	logger           *slog.Logger
	clock            func() time.Time
}

// Option configures a Server.
type Option func(*config)

// WithProfile selects the NetBox version (default Profile43).
func WithProfile(p Profile) Option { return func(c *config) { c.profile = p } }

// WithToken makes the server accept tok (instead of a generated one); repeatable.
func WithToken(tok string) Option {
	return func(c *config) { c.tokens = append(c.tokens, Token{Value: tok}) }
}

// WithTokens adds accepted tokens with their properties.
func WithTokens(toks ...Token) Option {
	return func(c *config) { c.tokens = append(c.tokens, toks...) }
}

// WithLatency makes every request take at least perRequest plus perObject for each object
// in the request body or the response (whichever is more), spent while holding a worker;
// the simulator's own processing time counts towards it.
func WithLatency(perRequest, perObject time.Duration) Option {
	return func(c *config) { c.perRequest, c.perObject = perRequest, perObject }
}

// WithWorkers limits the requests served at once, like NetBox's gunicorn workers; further
// requests wait. 0 means no limit.
func WithWorkers(n int) Option { return func(c *config) { c.workers = n } }

// WithFaultFunc adds a scripted fault hook; the first hook returning a fault wins.
func WithFaultFunc(f FaultFunc) Option {
	return func(c *config) { c.faultFuncs = append(c.faultFuncs, f) }
}

// WithRandomFaults injects, into a share rate of requests chosen by a generator seeded with
// seed, one of faults (taken in turn). The sequence is deterministic for a given request
// order.
func WithRandomFaults(seed uint64, rate float64, faults ...Fault) Option {
	return func(c *config) { c.faultSeed, c.faultRate, c.faultKinds = seed, rate, faults }
}

// WithResponseValidation validates every full response against the spec; failures are
// answered with 500 and kept for ResponseErrors. NewTestServer turns it on and fails the
// test on any failure.
func WithResponseValidation(on bool) Option { return func(c *config) { c.validateResponse = on } }

// WithSpec shares an already loaded spec (default: DefaultSpec).
func WithSpec(s *Spec) Option { return func(c *config) { c.spec = s } }

// WithLogger logs each request at debug level.
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.logger = l } }

// WithClock sets the clock used for created/last_updated.
func WithClock(now func() time.Time) Option { return func(c *config) { c.clock = now } }

// Request is one logged request.
type Request struct {
	Method   string
	Path     string
	Query    string
	Status   int // 0 for a dropped connection
	Objects  int // objects in the request body or the response, whichever is more
	Fault    FaultKind
	Duration time.Duration
	// Ignored lists query parameters of a list request that are no filter the simulator
	// implements; NetBox ignores unknown filters too, so a typo returns everything. Tests
	// can assert this is empty.
	Ignored []string
}

// Server is a running simulator.
type Server struct {
	URL string

	cfg    config
	spec   *Spec
	hs     *httptest.Server
	sem    chan struct{}
	logger *slog.Logger

	mu sync.RWMutex // guards st
	st *state

	logMu     sync.Mutex
	log       []Request
	counts    map[string]int
	respErrs  []string
	rng       *mrand.Rand
	faultTurn int

	reqID    atomic.Uint64
	inFlight atomic.Int64 // requests holding a worker
	peak     atomic.Int64
	peakMu   sync.Mutex
}

// PeakInFlight returns the most requests that were processed at once (bounded by
// WithWorkers).
func (s *Server) PeakInFlight() int { return int(s.peak.Load()) }

// NewServer starts a simulator on loopback. It panics if NetBox's spec cannot be loaded
// (like httptest.NewServer on a listen failure); use Start to get the error instead.
func NewServer(opts ...Option) *Server {
	s, err := Start(opts...)
	if err != nil {
		panic(err)
	}
	return s
}

// NewTestServer starts a simulator, closes it when the test ends and, in tests (not in
// benchmarks, where it would dominate the figures), validates every full response against
// the spec and fails the test if one did not match. Options may override either default.
func NewTestServer(t testing.TB, opts ...Option) *Server {
	t.Helper()
	_, isBenchmark := t.(*testing.B)
	s, err := Start(append([]Option{WithResponseValidation(!isBenchmark)}, opts...)...)
	if err != nil {
		t.Fatalf("netboxtest: %v", err)
	}
	t.Cleanup(func() {
		s.Close()
		for _, e := range s.ResponseErrors() {
			t.Errorf("netboxtest: response does not match NetBox's OpenAPI spec: %s", e)
		}
	})
	return s
}

// Start starts a simulator on loopback.
func Start(opts ...Option) (*Server, error) {
	s, err := New(opts...)
	if err != nil {
		return nil, err
	}
	s.hs = httptest.NewServer(s)
	s.URL = s.hs.URL
	return s, nil
}

// New builds a simulator without listening; serve it with Handler (cmd/netbox-lab).
func New(opts ...Option) (*Server, error) {
	cfg := config{profile: Profile43, clock: time.Now}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.profile != Profile43 && cfg.profile != Profile47 {
		return nil, fmt.Errorf("netboxtest: unknown profile %d (want Profile43 or Profile47)", int(cfg.profile))
	}
	if cfg.spec == nil {
		sp, err := DefaultSpec()
		if err != nil {
			return nil, err
		}
		cfg.spec = sp
	}
	if len(cfg.tokens) == 0 {
		cfg.tokens = []Token{{Value: newToken(cfg.profile)}}
	}
	for _, t := range cfg.tokens {
		if !isV1Token(t.Value) && !(cfg.profile.v2Tokens() && isV2Token(t.Value)) {
			return nil, fmt.Errorf("netboxtest: token of %d characters is not a valid %s token", len(t.Value), cfg.profile)
		}
	}
	logger := cfg.logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{cfg: cfg, spec: cfg.spec, logger: logger, st: newState(cfg.spec.defs), counts: map[string]int{}}
	if cfg.workers > 0 {
		s.sem = make(chan struct{}, cfg.workers)
	}
	if cfg.faultRate > 0 && len(cfg.faultKinds) > 0 {
		s.rng = mrand.New(mrand.NewPCG(cfg.faultSeed, cfg.faultSeed^0x9e3779b97f4a7c15))
	}
	return s, nil
}

func newToken(p Profile) string {
	b := make([]byte, 20)
	_, _ = rand.Read(b)
	if p.v2Tokens() {
		k := make([]byte, 6)
		_, _ = rand.Read(k)
		return "nbt_" + hex.EncodeToString(k) + "." + hex.EncodeToString(b)
	}
	return hex.EncodeToString(b)
}

func isV1Token(s string) bool {
	if len(s) != 40 {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil
}

func isV2Token(s string) bool {
	rest, ok := strings.CutPrefix(s, "nbt_")
	key, secret, ok2 := strings.Cut(rest, ".")
	return ok && ok2 && key != "" && len(secret) >= 8 && !strings.ContainsAny(s, " \t")
}

// Close shuts the listener down.
func (s *Server) Close() {
	if s.hs != nil {
		s.hs.Close()
	}
}

// Handler returns the simulator's http.Handler.
func (s *Server) Handler() http.Handler { return s }

// Profile returns the NetBox version simulated.
func (s *Server) Profile() Profile { return s.cfg.profile }

// Token returns the first accepted token.
func (s *Server) Token() string { return s.cfg.tokens[0].Value }

// AuthHeader returns the Authorization header value for Token ("Token x" or "Bearer nbt_x").
func (s *Server) AuthHeader() string {
	if isV2Token(s.Token()) {
		return "Bearer " + s.Token()
	}
	return "Token " + s.Token()
}

// Requests returns the request log.
func (s *Server) Requests() []Request {
	s.logMu.Lock()
	defer s.logMu.Unlock()
	return append([]Request(nil), s.log...)
}

// Counts returns the number of requests per "METHOD /path/" (query excluded).
func (s *Server) Counts() map[string]int {
	s.logMu.Lock()
	defer s.logMu.Unlock()
	out := make(map[string]int, len(s.counts))
	for k, v := range s.counts {
		out[k] = v
	}
	return out
}

// ResetLog clears the request log and counts (fault scripts count anew).
func (s *Server) ResetLog() {
	s.logMu.Lock()
	defer s.logMu.Unlock()
	s.log = nil
	s.counts = map[string]int{}
}

// ResponseErrors returns the responses that did not match the spec (with validation on).
func (s *Server) ResponseErrors() []string {
	s.logMu.Lock()
	defer s.logMu.Unlock()
	return append([]string(nil), s.respErrs...)
}

func (s *Server) decideFault(r *http.Request, n int) Fault {
	for _, f := range s.cfg.faultFuncs {
		if ft := f(r, n); ft.Kind != FaultNone {
			return ft
		}
	}
	if s.rng != nil {
		s.logMu.Lock()
		defer s.logMu.Unlock()
		if s.rng.Float64() < s.cfg.faultRate {
			f := s.cfg.faultKinds[s.faultTurn%len(s.cfg.faultKinds)]
			s.faultTurn++
			return f
		}
	}
	return Fault{}
}

// ServeHTTP runs the pipeline: log and count, fault, worker slot, process, latency, respond.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	key := r.Method + " " + r.URL.Path
	s.logMu.Lock()
	s.counts[key]++
	n := s.counts[key]
	s.logMu.Unlock()

	entry := Request{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery}
	// The entry is logged before the response is written, so a client that got its answer
	// finds its request in the log.
	logged := false
	record := func() {
		if logged {
			return
		}
		logged = true
		entry.Duration = time.Since(start)
		s.logMu.Lock()
		s.log = append(s.log, entry)
		s.logMu.Unlock()
		s.logger.Debug("netboxtest request", "method", entry.Method, "path", entry.Path, "status", entry.Status,
			"objects", entry.Objects, "fault", entry.Fault.String(), "duration", entry.Duration)
	}
	defer record()

	fault := s.decideFault(r, n)
	entry.Fault = fault.Kind
	if fault.Kind != FaultNone && fault.Kind != FaultSlow && !fault.AfterApply {
		entry.Status = faultStatus(fault.Kind)
		record()
		s.writeFault(w, fault)
		return
	}
	if s.sem != nil {
		select {
		case s.sem <- struct{}{}:
			defer func() { <-s.sem }()
		case <-r.Context().Done():
			entry.Status = 499
			return
		}
	}
	if fault.Kind == FaultSlow && !fault.AfterApply {
		// Read the body first: net/http notices a client that left (and cancels the context)
		// only once the body is read, and a client that gave up must find nothing written.
		body, err := io.ReadAll(r.Body)
		if err != nil {
			entry.Status = 499
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		if !sleepCtx(r.Context(), fault.Delay) {
			entry.Status = 499
			return
		}
	}
	if cur := s.inFlight.Add(1); cur > s.peak.Load() {
		s.peakMu.Lock()
		if cur > s.peak.Load() {
			s.peak.Store(cur)
		}
		s.peakMu.Unlock()
	}
	defer s.inFlight.Add(-1)
	served := time.Now()
	resp := s.process(r)
	entry.Objects = resp.objects
	entry.Ignored = resp.ignored
	// The configured latency is the service time NetBox would need; the simulator's own
	// processing counts towards it.
	if d := s.cfg.perRequest + time.Duration(resp.objects)*s.cfg.perObject - time.Since(served); d > 0 {
		if !sleepCtx(r.Context(), d) {
			entry.Status = 499
			return
		}
	}
	if fault.Kind == FaultSlow && fault.AfterApply {
		// NetBox did the work; its answer comes late (the client may have given up by then).
		if !sleepCtx(r.Context(), fault.Delay) {
			entry.Status = 499
			return
		}
	}
	if fault.AfterApply && fault.Kind != FaultSlow && fault.Kind != FaultNone {
		entry.Status = faultStatus(fault.Kind)
		record()
		s.writeFault(w, fault)
		return
	}
	entry.Status = resp.status
	record()
	h := w.Header()
	h.Set("API-Version", s.cfg.profile.APIVersion())
	h.Set("X-Request-ID", s.requestID())
	h.Set("Vary", "Accept, Cookie, Origin")
	h.Set("Allow", "GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS")
	if resp.etag != "" {
		h.Set("ETag", resp.etag)
	}
	if resp.location != "" {
		h.Set("Location", resp.location)
	}
	if resp.body != nil {
		h.Set("Content-Type", "application/json")
		h.Set("Content-Length", strconv.Itoa(len(resp.body)))
	}
	w.WriteHeader(resp.status)
	if resp.body != nil && r.Method != http.MethodHead {
		_, _ = w.Write(resp.body)
	}
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

func (s *Server) requestID() string {
	n := s.reqID.Add(1)
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	h := hex.EncodeToString(b)
	return fmt.Sprintf("%08x-%s-4%s-8%s-%012x", uint32(n), h[0:4], h[4:7], h[7:10], n)
}

func faultStatus(k FaultKind) int {
	return map[FaultKind]int{FaultRateLimit: 429, FaultServerError: 500, FaultBadGateway: 502, FaultUnavailable: 503}[k]
}

// writeFault answers with the fault and returns the status written (0 when dropped).
func (s *Server) writeFault(w http.ResponseWriter, f Fault) int {
	switch f.Kind {
	case FaultDrop:
		hj, ok := w.(http.Hijacker)
		if !ok {
			panic(http.ErrAbortHandler)
		}
		conn, _, err := hj.Hijack()
		if err == nil {
			if tc, ok := conn.(*net.TCPConn); ok {
				_ = tc.SetLinger(0) // reset rather than a clean FIN
			}
			_ = conn.Close()
		}
		return 0
	case FaultRateLimit:
		secs := int(f.RetryAfter.Round(time.Second) / time.Second)
		if secs < 1 {
			secs = 1
		}
		w.Header().Set("Retry-After", strconv.Itoa(secs))
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusTooManyRequests)
		_, _ = w.Write([]byte("<html><body><h1>429 Too Many Requests</h1></body></html>\n"))
		return http.StatusTooManyRequests
	case FaultServerError:
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = w.Write([]byte(`{"error": "Internal server error (simulated)", "exception": "OperationalError", "netbox_version": "` +
			s.cfg.profile.NetBoxVersion() + `", "python_version": "3.12.3"}`))
		return http.StatusInternalServerError
	case FaultBadGateway:
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusBadGateway)
		_, _ = w.Write([]byte("<html><body><h1>502 Bad Gateway</h1></body></html>\n"))
		return http.StatusBadGateway
	case FaultUnavailable:
		w.Header().Set("Content-Type", "text/html")
		w.Header().Set("Retry-After", "1")
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte("<html><body><h1>503 Service Unavailable</h1></body></html>\n"))
		return http.StatusServiceUnavailable
	}
	return 0
}
