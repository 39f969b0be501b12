package proxmoxtest

import (
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Default credentials every server accepts unless WithTokens replaces them: a token without
// privilege separation (it has all of root's rights).
const (
	DefaultTokenID     = "root@pam!netbox-agent"
	DefaultTokenSecret = "7c0e5d3a-91b4-4f6e-b2a8-5d1e9c3f0a47"
	// DefaultVersion is the pve-manager version servers report.
	DefaultVersion = "8.2.4"
)

// Fault makes matching requests misbehave.
type Fault struct {
	// PathContains selects requests whose path below /api2/json contains it ("" = every request).
	PathContains string
	// Status answers with this HTTP status and a PVE-style error body.
	Status  int
	Message string
	// Malformed answers 200 with a body that is not JSON.
	Malformed bool
	// Truncated answers 200 with the real body cut in half.
	Truncated bool
	// Delay adds latency before answering (use it to provoke client timeouts).
	Delay time.Duration
	// Rate is the probability (0 < Rate <= 1) that a matching request is hit; 0 means always.
	Rate float64
}

// Option configures a server before it starts.
type Option func(*Server)

// WithCluster names the cluster; without it (or with "") the server is a standalone node:
// /cluster/status has no "cluster" entry.
func WithCluster(name string) Option { return func(s *Server) { s.clusterName = name } }

// WithNodes adds nodes.
func WithNodes(nodes ...Node) Option {
	return func(s *Server) {
		for _, n := range nodes {
			s.addNodeLocked(n)
		}
	}
}

// WithGuests adds guests.
func WithGuests(guests ...Guest) Option {
	return func(s *Server) {
		for _, g := range guests {
			s.guests[g.VMID] = cloneGuest(g)
		}
	}
}

// WithTokens replaces the accepted tokens (the default token is dropped).
func WithTokens(tokens ...Token) Option {
	return func(s *Server) {
		s.tokens = map[string]Token{}
		for _, t := range tokens {
			s.tokens[t.ID] = t
		}
	}
}

// WithLatency delays every request by d.
func WithLatency(d time.Duration) Option { return func(s *Server) { s.latency = d } }

// WithFaults installs faults.
func WithFaults(f ...Fault) Option { return func(s *Server) { s.faults = append(s.faults, f...) } }

// WithSeed seeds the fault-rate random source (default 1): runs are reproducible.
func WithSeed(seed uint64) Option {
	return func(s *Server) { s.rng = rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)) }
}

// Rewrite changes an answer's data before it is sent: path is the request path below
// /api2/json without the query, data the answer as generic JSON (maps, slices, float64,
// string, bool, nil). It returns the data to send.
type Rewrite func(path string, data any) any

// WithRewrite installs a rewrite of every 200 answer (see SetRewrite).
func WithRewrite(f Rewrite) Option { return func(s *Server) { s.rewrite = f } }

// SetRewrite installs (nil removes) a rewrite of every 200 answer: tests use it to serve shapes
// the model does not produce, such as an optional field absent or a number as a string.
func (s *Server) SetRewrite(f Rewrite) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rewrite = f
}

// WithLab loads a generated lab (see GenerateLab).
func WithLab(l Lab) Option {
	return func(s *Server) {
		WithNodes(l.Nodes...)(s)
		WithGuests(l.Guests...)(s)
	}
}

// Server is a running simulator.
type Server struct {
	// URL is the server's base URL (scheme://127.0.0.1:port), like httptest.Server.URL.
	URL string

	ts *httptest.Server

	mu          sync.Mutex
	clusterName string
	nodes       []*Node
	guests      map[int]*Guest
	tokens      map[string]Token
	latency     time.Duration
	faults      []Fault
	rng         *rand.Rand
	perPath     map[string]int
	rewrite     Rewrite

	requests    atomic.Int64
	inFlight    atomic.Int64
	maxInFlight atomic.Int64
}

// NewServer starts a plain-HTTP simulator on loopback. Close it when done.
func NewServer(opts ...Option) *Server { return start(false, opts) }

// NewTLSServer starts an HTTPS simulator with a self-signed certificate (see CACertPEM).
func NewTLSServer(opts ...Option) *Server { return start(true, opts) }

// NewTestServer starts an HTTPS simulator closed when the test ends.
func NewTestServer(t testing.TB, opts ...Option) *Server {
	t.Helper()
	s := NewTLSServer(opts...)
	t.Cleanup(s.Close)
	return s
}

func start(tlsOn bool, opts []Option) *Server {
	s := &Server{
		guests:  map[int]*Guest{},
		tokens:  map[string]Token{DefaultTokenID: {ID: DefaultTokenID, Secret: DefaultTokenSecret}},
		perPath: map[string]int{},
		rng:     rand.New(rand.NewPCG(1, 2)),
	}
	for _, o := range opts {
		o(s)
	}
	s.ts = httptest.NewUnstartedServer(http.HandlerFunc(s.serve))
	// Clients that reject the self-signed certificate are a tested case, not news.
	s.ts.Config.ErrorLog = log.New(io.Discard, "", 0)
	if tlsOn {
		s.ts.StartTLS()
	} else {
		s.ts.Start()
	}
	s.URL = s.ts.URL
	return s
}

// APIURL is the API base a client is configured with: URL + "/api2/json".
func (s *Server) APIURL() string { return s.URL + "/api2/json" }

// Close shuts the server down.
func (s *Server) Close() { s.ts.Close() }

// CACertPEM returns the PEM of the TLS certificate (nil for a plain-HTTP server), for a
// client's CA file.
func (s *Server) CACertPEM() []byte {
	c := s.ts.Certificate()
	if c == nil {
		return nil
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
}

// Certificate returns the TLS certificate (nil for plain HTTP).
func (s *Server) Certificate() *x509.Certificate { return s.ts.Certificate() }

// Requests returns how many API requests the server has received.
func (s *Server) Requests() int64 { return s.requests.Load() }

// MaxInFlight returns the most requests the server was handling at once.
func (s *Server) MaxInFlight() int64 { return s.maxInFlight.Load() }

// RequestsTo returns how many requests had a path (below /api2/json) containing sub.
func (s *Server) RequestsTo(sub string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for p, c := range s.perPath {
		if strings.Contains(p, sub) {
			n += c
		}
	}
	return n
}

// ResetRequests zeroes the counters.
func (s *Server) ResetRequests() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests.Store(0)
	s.maxInFlight.Store(0)
	s.perPath = map[string]int{}
}

// apiError is an answer other than 200.
type apiError struct {
	status  int
	message string
}

// serve is the single handler: auth, latency, faults, then routing.
func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.requests.Add(1)
	cur := s.inFlight.Add(1)
	defer s.inFlight.Add(-1)
	for {
		m := s.maxInFlight.Load()
		if cur <= m || s.maxInFlight.CompareAndSwap(m, cur) {
			break
		}
	}
	path, ok := strings.CutPrefix(r.URL.Path, "/api2/json")
	if !ok {
		http.NotFound(w, r)
		return
	}
	if path == "" {
		path = "/"
	}

	s.mu.Lock()
	s.perPath[path]++
	latency := s.latency
	rewrite := s.rewrite
	var fault *Fault
	for i := range s.faults {
		f := s.faults[i]
		if strings.Contains(path, f.PathContains) && (f.Rate <= 0 || f.Rate >= 1 || s.rng.Float64() < f.Rate) {
			fault = &f
			break
		}
	}
	s.mu.Unlock()

	if fault != nil {
		latency += fault.Delay
	}
	if latency > 0 {
		select {
		case <-time.After(latency):
		case <-r.Context().Done():
			return
		}
	}

	tok, ok := s.authenticate(r)
	if !ok {
		// PVE answers 401 for a missing or wrong token, before any routing.
		writeError(w, apiError{http.StatusUnauthorized, "authentication failure"})
		return
	}
	if r.Method != http.MethodGet {
		writeError(w, apiError{http.StatusNotImplemented, fmt.Sprintf("Method '%s %s' not implemented", r.Method, path)})
		return
	}

	if fault != nil && fault.Status != 0 {
		msg := fault.Message
		if msg == "" {
			msg = http.StatusText(fault.Status)
		}
		writeError(w, apiError{fault.Status, msg})
		return
	}

	data, aerr := s.route(tok, path, r)
	if aerr != nil {
		writeError(w, *aerr)
		return
	}
	if rewrite != nil {
		generic, err := toGeneric(data)
		if err != nil {
			writeError(w, apiError{http.StatusInternalServerError, err.Error()})
			return
		}
		data = rewrite(path, generic)
	}
	body, err := json.Marshal(map[string]any{"data": data})
	if err != nil {
		writeError(w, apiError{http.StatusInternalServerError, err.Error()})
		return
	}
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	switch {
	case fault != nil && fault.Malformed:
		body = []byte(`{"data": [{"vmid": 100, "name": "broken"` + "\x00<html>proxy error</html>")
	case fault != nil && fault.Truncated:
		body = body[:len(body)/2]
	}
	_, _ = w.Write(body)
}

// toGeneric turns an answer into generic JSON values.
func toGeneric(v any) (any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var out any
	err = json.Unmarshal(b, &out)
	return out, err
}

func writeError(w http.ResponseWriter, e apiError) {
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.WriteHeader(e.status)
	if e.status == 595 || e.status == 596 {
		// pveproxy's proxy errors carry the reason in the status line only.
		return
	}
	body, _ := json.Marshal(map[string]any{"data": nil, "message": e.message + "\n"})
	_, _ = w.Write(body)
}
