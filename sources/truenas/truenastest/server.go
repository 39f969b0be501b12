package truenastest

import (
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// DefaultAPIKey is the key the server accepts unless WithAPIKey says otherwise.
const DefaultAPIKey = "1-SimulatedTrueNASKeyb7Qx2Lr9Vn4Tz8Hc3Wm6Pd1Fs5Gk0Jy"

// Fault makes the server misbehave for one method ("pool.query"), for "auth" (both login
// methods), for "websocket" (the upgrade request) or for "*" (every call).
type Fault struct {
	// Status answers REST with this HTTP status (and Reason as body); on the websocket it
	// answers a JSON-RPC error whose error.data.reason is Reason. For "websocket" it refuses the
	// upgrade with this status.
	Status int
	Reason string
	// Malformed sends syntactically broken JSON; Truncate sends the first half of the answer.
	Malformed bool
	Truncate  bool
	// Close drops the connection (REST) or closes the websocket without answering.
	Close bool
	// Times limits how often the fault fires; 0 means every time.
	Times int
}

// Option configures a Server.
type Option func(*Server)

// WithFlavour picks the TrueNAS release to imitate (default Scale2504, which serves both APIs).
func WithFlavour(f Flavour) Option { return func(s *Server) { s.flavour = f } }

// WithAPIKey sets the one valid API key.
func WithAPIKey(k string) Option { return func(s *Server) { s.apiKey = k } }

// WithUsername sets the user owning the API key (auth.login_ex checks it). Default "root" on
// CORE, "truenas_admin" on SCALE and later.
func WithUsername(u string) Option { return func(s *Server) { s.username = u } }

// WithState replaces DefaultState.
func WithState(st State) Option { return func(s *Server) { s.state = st } }

// WithLatency delays every REST request and every JSON-RPC call.
func WithLatency(d time.Duration) Option { return func(s *Server) { s.latency = d } }

// WithKeyRevocationOnPlainTransport makes a plain-HTTP server do what TrueNAS does when an API
// key arrives unencrypted: revoke the key and refuse it from then on.
func WithKeyRevocationOnPlainTransport() Option { return func(s *Server) { s.revokeOnPlain = true } }

// WithoutLegacyKeyLogin removes auth.login_with_api_key (deprecated since 25.04), leaving
// auth.login_ex as the only way in, as a future release may.
func WithoutLegacyKeyLogin() Option { return func(s *Server) { s.noLegacyLogin = true } }

// WithNotifications makes the websocket send a collection_update notification before every
// answer, as a connection with event subscriptions receives them interleaved with results.
func WithNotifications() Option { return func(s *Server) { s.notify = true } }

// Server is a running simulator.
type Server struct {
	// URL is the base URL ("https://127.0.0.1:PORT"); REST lives under URL+"/api/v2.0/".
	URL string

	srv           *httptest.Server
	tls           bool
	flavour       Flavour
	apiKey        string
	username      string
	revokeOnPlain bool
	noLegacyLogin bool
	notify        bool

	mu       sync.Mutex
	state    State
	answers  map[string]json.RawMessage
	latency  time.Duration
	faults   map[string]*Fault
	requests map[string]int
	total    int
	revoked  bool
}

func newServer(useTLS bool, opts ...Option) *Server {
	s := &Server{flavour: Scale2504, apiKey: DefaultAPIKey, state: DefaultState(), tls: useTLS,
		faults: map[string]*Fault{}, requests: map[string]int{}, answers: map[string]json.RawMessage{}}
	for _, o := range opts {
		o(s)
	}
	if s.username == "" {
		s.username = "truenas_admin"
		if s.flavour == Core13 {
			s.username = "root"
		}
	}
	s.srv = httptest.NewUnstartedServer(http.HandlerFunc(s.serveHTTP))
	// Clients that refuse the certificate are part of the tests, not news.
	s.srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	if useTLS {
		s.srv.StartTLS()
	} else {
		s.srv.Start()
	}
	s.URL = s.srv.URL
	return s
}

// NewServer starts a plain-HTTP simulator. Call Close when done.
func NewServer(opts ...Option) *Server { return newServer(false, opts...) }

// NewTLSServer starts an HTTPS simulator with httptest's self-signed certificate (see CertPEM).
func NewTLSServer(opts ...Option) *Server { return newServer(true, opts...) }

// NewTestServer starts a TLS simulator that closes when the test ends.
func NewTestServer(t testing.TB, opts ...Option) *Server {
	t.Helper()
	s := NewTLSServer(opts...)
	t.Cleanup(s.Close)
	return s
}

// Close shuts the server down, websockets included.
func (s *Server) Close() {
	s.srv.CloseClientConnections()
	s.srv.Close()
}

// WebsocketURL is the JSON-RPC endpoint ("wss://127.0.0.1:PORT/api/current").
func (s *Server) WebsocketURL() string {
	return "ws" + strings.TrimPrefix(s.URL, "http") + "/api/current"
}

// Flavour is the release the server imitates.
func (s *Server) Flavour() Flavour { return s.flavour }

// APIKey is the valid key; Username owns it.
func (s *Server) APIKey() string   { return s.apiKey }
func (s *Server) Username() string { return s.username }

// Client is an HTTP client trusting the server's certificate.
func (s *Server) Client() *http.Client { return s.srv.Client() }

// CertPEM is the server certificate in PEM form (empty for a plain server), for a ca_file.
func (s *Server) CertPEM() []byte {
	if s.srv.Certificate() == nil {
		return nil
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.srv.Certificate().Raw})
}

// Certificate is the server certificate (nil for a plain server).
func (s *Server) Certificate() *x509.Certificate { return s.srv.Certificate() }

// Update changes the state under the server's lock.
func (s *Server) Update(f func(*State)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f(&s.state)
}

// SetAnswer makes method ("pool.query", "system.info") answer raw, verbatim, on both APIs,
// whatever the filters and options, until ClearAnswers: for shapes the State cannot express
// (an optional field absent, a union's other type). Login methods are not affected.
func (s *Server) SetAnswer(method string, raw json.RawMessage) {
	s.mu.Lock()
	s.answers[method] = raw
	s.mu.Unlock()
}

// ClearAnswers removes every SetAnswer.
func (s *Server) ClearAnswers() {
	s.mu.Lock()
	s.answers = map[string]json.RawMessage{}
	s.mu.Unlock()
}

// Render returns what method answers without filters or options (children nested for
// pool.dataset.query, as REST sends them), SetAnswer included: the base a test mutates.
func (s *Server) Render(method string) (json.RawMessage, error) {
	res, err := s.call(method, nil, queryOptions{})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", method, err)
	}
	return json.Marshal(res)
}

// SetLatency changes the per-request delay.
func (s *Server) SetLatency(d time.Duration) {
	s.mu.Lock()
	s.latency = d
	s.mu.Unlock()
}

// Fail installs a fault for target (a method name, "auth", "websocket" or "*").
func (s *Server) Fail(target string, f Fault) {
	s.mu.Lock()
	s.faults[target] = &f
	s.mu.Unlock()
}

// ClearFaults removes every fault.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	s.faults = map[string]*Fault{}
	s.mu.Unlock()
}

// Requests is how many REST requests, websocket upgrades and JSON-RPC calls arrived.
func (s *Server) Requests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.total
}

// RequestsFor counts calls of one method ("pool.query"), "websocket" upgrades, or "rest:404".
func (s *Server) RequestsFor(method string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests[method]
}

// KeyRevoked reports that the key was revoked because it arrived over plain transport.
func (s *Server) KeyRevoked() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.revoked
}

func (s *Server) count(method string) {
	s.mu.Lock()
	s.total++
	s.requests[method]++
	s.mu.Unlock()
}

// fault returns the fault that fires now for method, consuming one of its Times. A fault is
// looked up under the method's name, then "auth" for the login methods, then "*" (which spares
// the login and the websocket upgrade).
func (s *Server) fault(method string) *Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	keys := []string{method}
	switch {
	case strings.HasPrefix(method, "auth."):
		keys = append(keys, "auth")
	case method != "websocket":
		keys = append(keys, "*")
	}
	for _, key := range keys {
		f, ok := s.faults[key]
		if !ok {
			continue
		}
		if f.Times > 0 {
			f.Times--
			if f.Times == 0 {
				delete(s.faults, key)
			}
		}
		c := *f
		return &c
	}
	return nil
}

// sleep applies the latency; false means the client went away meanwhile and gets no answer
// (answering at once would let a racing client see a fast reply from a slow server).
func (s *Server) sleep(r *http.Request) bool {
	s.mu.Lock()
	d := s.latency
	s.mu.Unlock()
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.Context().Done():
		return false
	}
}

// checkKey validates a presented key, revoking it when it came over plain transport and the
// server is set to behave like TrueNAS does then.
func (s *Server) checkKey(key string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if key != s.apiKey || s.revoked {
		return false
	}
	if !s.tls && s.revokeOnPlain {
		s.revoked = true
		return false
	}
	return true
}

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	p := r.URL.EscapedPath()
	switch {
	case p == "/api/current" && s.flavour.ServesWebsocket():
		s.serveWebsocket(w, r)
	case p == "/api/current":
		s.count("websocket")
		http.Error(w, "404: Not Found", http.StatusNotFound)
	case strings.HasPrefix(p, "/api/v2.0/") && s.flavour.ServesREST():
		s.serveREST(w, r, strings.TrimPrefix(p, "/api/v2.0/"))
	default:
		s.count("rest:404")
		http.Error(w, "404: Not Found", http.StatusNotFound)
	}
}

// serves reports the query and config methods the simulator has besides system.info.
func serves(method string) bool {
	switch method {
	case "pool.query", "pool.dataset.query", "sharing.nfs.query", "sharing.smb.query",
		"iscsi.target.query", "iscsi.extent.query", "interface.query", "disk.query",
		"network.configuration.config", "iscsi.global.config":
		return true
	}
	return false
}

// restRoute maps a REST path to its method and, for /id/{id}, the decoded id.
func restRoute(p string) (method, id string, ok bool) {
	parts := strings.Split(strings.Trim(p, "/"), "/")
	if len(parts) >= 2 && parts[len(parts)-2] == "id" {
		raw := parts[len(parts)-1]
		dec, err := url.PathUnescape(raw)
		if err != nil {
			return "", "", false
		}
		service := strings.Join(parts[:len(parts)-2], ".")
		if !serves(service + ".query") {
			return "", "", false
		}
		return service + ".query", dec, true
	}
	service := strings.Join(parts, ".")
	if service == "system.info" {
		return service, "", true
	}
	if serves(service + ".query") {
		return service + ".query", "", true
	}
	if serves(service + ".config") {
		return service + ".config", "", true
	}
	return "", "", false
}

func (s *Server) serveREST(w http.ResponseWriter, r *http.Request, p string) {
	method, id, ok := restRoute(p)
	if !ok {
		s.count("rest:404")
		http.Error(w, "404: Not Found", http.StatusNotFound)
		return
	}
	s.count(method)
	if r.Method != http.MethodGet {
		http.Error(w, "405: Method Not Allowed", http.StatusMethodNotAllowed)
		return
	}
	auth := r.Header.Get("Authorization")
	key, bearer := strings.CutPrefix(auth, "Bearer ")
	if !bearer || !s.checkKey(key) {
		http.Error(w, "401: Unauthorized", http.StatusUnauthorized)
		return
	}
	if !s.sleep(r) {
		closeConnection(w)
		return
	}
	f := s.fault(method)
	if f != nil && f.Status != 0 {
		writeJSON(w, f.Status, object{"message": f.Reason, "errno": 14})
		return
	}
	if f != nil && f.Close {
		closeConnection(w)
		return
	}

	filters, opts, err := restArgs(r)
	var result any
	if err == nil {
		if id != "" {
			filters = append(filters, filter{Field: "id", Op: "=", Value: idValue(id)})
			opts.Get = true
		}
		result, err = s.call(method, filters, opts)
	}
	if err != nil {
		status := http.StatusUnprocessableEntity
		if _, nf := err.(notFoundError); nf {
			status = http.StatusNotFound
		}
		writeJSON(w, status, object{"message": err.Error(), "errno": 22})
		return
	}
	body, _ := json.MarshalIndent(result, "", " ")
	switch {
	case f != nil && f.Malformed:
		body = []byte(`[{"id": 1, "name": "tank", "status": ONLINE}`)
	case f != nil && f.Truncate:
		body = body[:len(body)/2]
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(body)
}

// idValue converts a URL id the way the middleware does: digits become integers.
func idValue(id string) any {
	if n, err := strconv.Atoi(id); err == nil {
		return n
	}
	return id
}

// restArgs reads filters and options from the query string (`limit`, `offset`, `count`, `sort`,
// `field=value`, `field__op=value`) or from a JSON body {"query-filters","query-options"}.
func restArgs(r *http.Request) ([]filter, queryOptions, error) {
	var opts queryOptions
	if r.Body != nil && r.ContentLength != 0 {
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			return nil, opts, err
		}
		if len(strings.TrimSpace(string(body))) > 0 {
			var args struct {
				Filters json.RawMessage `json:"query-filters"`
				Options json.RawMessage `json:"query-options"`
			}
			if err := json.Unmarshal(body, &args); err != nil {
				return nil, opts, validationError{"request body: " + err.Error()}
			}
			filters, err := parseFilters(args.Filters)
			if err != nil {
				return nil, opts, err
			}
			opts, err = parseOptions(args.Options)
			return filters, opts, err
		}
	}
	var filters []filter
	ops := map[string]string{"eq": "=", "neq": "!=", "gt": ">", "lt": "<", "gte": ">=", "lte": "<="}
	for key, vals := range r.URL.Query() {
		val := vals[len(vals)-1]
		switch key {
		case "limit", "offset":
			n, err := strconv.Atoi(val)
			if err != nil || n < 0 {
				return nil, opts, validationError{fmt.Sprintf("%s: %q is not a non-negative integer", key, val)}
			}
			if key == "limit" {
				opts.Limit = n
			} else {
				opts.Offset = n
			}
			continue
		case "count":
			opts.Count = val == "true" || val == "1"
			continue
		case "sort":
			opts.OrderBy = strings.Split(val, ",")
			continue
		}
		field, op, hasOp := strings.Cut(key, "__")
		if !hasOp {
			op = "="
		} else if m, ok := ops[op]; ok {
			op = m
		}
		var v any = val
		switch {
		case val != "" && strings.Trim(val, "0123456789") == "":
			v, _ = strconv.Atoi(val)
		case strings.EqualFold(val, "true"):
			v = true
		case strings.EqualFold(val, "false"):
			v = false
		case strings.EqualFold(val, "null"):
			v = nil
		}
		filters = append(filters, filter{Field: field, Op: op, Value: v})
	}
	return filters, opts, nil
}

// call runs one method against the state.
func (s *Server) call(method string, filters []filter, opts queryOptions) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if raw, ok := s.answers[method]; ok {
		return raw, nil
	}
	if strings.HasSuffix(method, ".query") {
		rows, ok := s.state.renderQuery(s.flavour, method, opts.retrieveChildren())
		if !ok {
			return nil, errMethodNotFound
		}
		return applyQuery(rows, filters, opts)
	}
	obj, ok := s.state.renderConfig(s.flavour, method)
	if !ok {
		return nil, errMethodNotFound
	}
	return obj, nil
}

var errMethodNotFound = fmt.Errorf("method not found")

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// closeConnection drops the TCP connection without an answer.
func closeConnection(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if c, _, err := hj.Hijack(); err == nil {
			_ = c.Close()
			return
		}
	}
	panic(http.ErrAbortHandler)
}
