package homeassistanttest

import (
	"crypto/tls"
	"encoding/json"
	"encoding/pem"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// DefaultToken is the long-lived access token a new server accepts.
const DefaultToken = "ha-sim-long-lived-token-0123456789abcdef"

// DefaultVersion is the core version the server reports.
const DefaultVersion = "2025.11.3"

// Fault targets that are not REST paths or websocket command types.
const (
	// TargetAuth is the websocket auth step.
	TargetAuth = "auth"
	// TargetWebsocket is the websocket upgrade request (GET /api/websocket).
	TargetWebsocket = "/api/websocket"
)

// Fault changes how the server answers one target: a REST path ("/api/states"), TargetWebsocket,
// TargetAuth, or a websocket command type ("config/device_registry/list").
type Fault struct {
	// Status answers an HTTP request with this status and aiohttp's text body ("403: Forbidden").
	Status int
	// Body replaces the JSON body (REST) or the whole websocket message with these bytes.
	Body string
	// Truncate sends only the first half of the real JSON.
	Truncate bool
	// CloseMidStream (websocket) sends the start of the reply as an unfinished message, then
	// drops the connection.
	CloseMidStream bool
	// AuthInvalid (TargetAuth) answers auth_invalid whatever the token.
	AuthInvalid bool
	// ErrorCode and ErrorMessage (websocket command) answer success:false with this error.
	ErrorCode    string
	ErrorMessage string
	// Delay is extra latency before the answer.
	Delay time.Duration
	// Times is how often the fault fires; 0 means every time.
	Times int
}

// Option configures a new server.
type Option func(*Server)

// WithToken sets the accepted long-lived token.
func WithToken(token string) Option { return func(s *Server) { s.token = token } }

// WithVersion sets the core version reported in /api/config and the websocket handshake. The
// registries and states take the shape of that release: keys added later are left out
// (serial_number before 2023.11, model_id before 2024.8, ...), devices carry config_entry_id
// from 2026.8, and Device.ParentDeviceID makes child devices from 2026.9.
func WithVersion(v string) Option { return func(s *Server) { s.version = v } }

// WithDataset loads the registries and states.
func WithDataset(d Dataset) Option { return func(s *Server) { s.data = cloneDataset(d) } }

// WithCoreState sets the core state /api/config reports ("RUNNING", "STARTING", "NOT_RUNNING").
func WithCoreState(state string) Option { return func(s *Server) { s.coreState = state } }

// WithLatency delays every REST answer and every websocket reply.
func WithLatency(d time.Duration) Option { return func(s *Server) { s.latency = d } }

// Server is a running simulator.
type Server struct {
	// URL is the base URL ("http://127.0.0.1:PORT" or "https://..."), without /api.
	URL string

	srv *httptest.Server

	mu        sync.Mutex
	token     string
	version   string
	coreState string
	latency   time.Duration
	data      Dataset
	faults    map[string]*Fault
	raw       map[string][]json.RawMessage
	requests  map[string]int
	bytesSent map[string]int
}

func newServer(opts []Option) *Server {
	s := &Server{
		token:     DefaultToken,
		version:   DefaultVersion,
		coreState: "RUNNING",
		faults:    map[string]*Fault{},
		raw:       map[string][]json.RawMessage{},
		requests:  map[string]int{},
		bytesSent: map[string]int{},
	}
	for _, o := range opts {
		o(s)
	}
	return s
}

func (s *Server) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/api/websocket", s.serveWebsocket)
	mux.HandleFunc("/", s.serveREST)
	return mux
}

// NewServer starts a plain-HTTP simulator; call Close when done.
func NewServer(opts ...Option) *Server {
	s := newServer(opts)
	s.srv = httptest.NewUnstartedServer(s.handler())
	s.srv.Config.ErrorLog = log.New(io.Discard, "", 0) // clients failing TLS on purpose are not news
	s.srv.Start()
	s.URL = s.srv.URL
	return s
}

// NewTLSServer starts a simulator serving HTTPS with a self-signed certificate for 127.0.0.1,
// ::1 and example.com (see CACertPEM and Client).
func NewTLSServer(opts ...Option) *Server {
	s := newServer(opts)
	s.srv = httptest.NewUnstartedServer(s.handler())
	s.srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	s.srv.StartTLS()
	s.URL = s.srv.URL
	return s
}

// NewTestServer starts a plain-HTTP simulator closed when the test ends.
func NewTestServer(t testing.TB, opts ...Option) *Server {
	t.Helper()
	s := NewServer(opts...)
	t.Cleanup(s.Close)
	return s
}

// NewTLSTestServer starts an HTTPS simulator closed when the test ends.
func NewTLSTestServer(t testing.TB, opts ...Option) *Server {
	t.Helper()
	s := NewTLSServer(opts...)
	t.Cleanup(s.Close)
	return s
}

// Close shuts the server down, closing open websockets.
func (s *Server) Close() {
	s.srv.CloseClientConnections()
	s.srv.Close()
}

// Token returns the accepted long-lived token.
func (s *Server) Token() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.token
}

// CACertPEM returns the TLS server's certificate in PEM form (nil for a plain server), to write
// into a CA file.
func (s *Server) CACertPEM() []byte {
	if s.srv.TLS == nil {
		return nil
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.srv.Certificate().Raw})
}

// Client returns an HTTP client that trusts the server.
func (s *Server) Client() *http.Client { return s.srv.Client() }

// TLSConfig returns the server's TLS configuration (nil for a plain server).
func (s *Server) TLSConfig() *tls.Config { return s.srv.TLS }

// SetCoreState changes the core state /api/config reports.
func (s *Server) SetCoreState(state string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.coreState = state
}

// SetLatency changes the delay of every answer.
func (s *Server) SetLatency(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.latency = d
}

// SetFault installs a fault for a target; see Fault.
func (s *Server) SetFault(target string, f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults[target] = &f
}

// ClearFaults removes every fault.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = map[string]*Fault{}
}

// Requests returns how often a target was asked for: a REST path, TargetWebsocket (connections),
// TargetAuth, or a websocket command type.
func (s *Server) Requests(target string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests[target]
}

// TotalRequests returns the number of HTTP requests (websocket upgrades included) plus websocket
// commands.
func (s *Server) TotalRequests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for k, v := range s.requests {
		if k != TargetAuth {
			n += v
		}
	}
	return n
}

// BytesSent returns the size of the last answer to a target (REST body or websocket message).
func (s *Server) BytesSent(target string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.bytesSent[target]
}

// Load replaces the registries and states.
func (s *Server) Load(d Dataset) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.data = cloneDataset(d)
}

// AddRaw appends entries, as given, to the list a target answers: a registry command
// ("config/device_registry/list") or "/api/states". Tests use it for shapes the model cannot
// express (a key missing, a number where a string is defined, an entry of a future release).
func (s *Server) AddRaw(target string, entries ...json.RawMessage) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.raw[target] = append(s.raw[target], entries...)
}

// AddArea adds an area (replacing one with the same id).
func (s *Server) AddArea(a Area) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.data.Areas = slices.DeleteFunc(s.data.Areas, func(x Area) bool { return x.AreaID == a.AreaID })
	s.data.Areas = append(s.data.Areas, a)
}

// AddDevice adds a device (replacing one with the same id).
func (s *Server) AddDevice(d Device) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.data.Devices = slices.DeleteFunc(s.data.Devices, func(x Device) bool { return x.ID == d.ID })
	s.data.Devices = append(s.data.Devices, d)
}

// UpdateDevice changes a device in place; it reports whether the device exists.
func (s *Server) UpdateDevice(id string, change func(*Device)) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range s.data.Devices {
		if s.data.Devices[i].ID == id {
			change(&s.data.Devices[i])
			return true
		}
	}
	return false
}

// RemoveDevice deletes a device and the entities attached to it, as Home Assistant does.
func (s *Server) RemoveDevice(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.data.Devices = slices.DeleteFunc(s.data.Devices, func(x Device) bool { return x.ID == id })
	s.data.Entities = slices.DeleteFunc(s.data.Entities, func(x Entity) bool { return x.DeviceID == id })
}

// AddEntity adds an entity registry entry (replacing one with the same entity_id).
func (s *Server) AddEntity(e Entity) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.data.Entities = slices.DeleteFunc(s.data.Entities, func(x Entity) bool { return x.EntityID == e.EntityID })
	s.data.Entities = append(s.data.Entities, e)
}

// SetState sets an entity's state (adding it when new).
func (s *Server) SetState(st State) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range s.data.States {
		if s.data.States[i].EntityID == st.EntityID {
			s.data.States[i] = st
			return
		}
	}
	s.data.States = append(s.data.States, st)
}

// RemoveState deletes an entity's state.
func (s *Server) RemoveState(entityID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.data.States = slices.DeleteFunc(s.data.States, func(x State) bool { return x.EntityID == entityID })
}

func cloneDataset(d Dataset) Dataset {
	return Dataset{
		Areas:    slices.Clone(d.Areas),
		Devices:  slices.Clone(d.Devices),
		Entities: slices.Clone(d.Entities),
		States:   slices.Clone(d.States),
	}
}

// hit counts a request and returns the fault to apply (nil when none) and the latency.
func (s *Server) hit(target string) (*Fault, time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests[target]++
	f := s.faults[target]
	if f == nil {
		return nil, s.latency
	}
	fault := *f
	if f.Times > 0 {
		f.Times--
		if f.Times == 0 {
			delete(s.faults, target)
		}
	}
	return &fault, s.latency + fault.Delay
}

func (s *Server) recordSent(target string, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.bytesSent[target] = n
}

// aiohttpError answers the way aiohttp's HTTPException does: "401: Unauthorized" as text/plain.
func aiohttpError(w http.ResponseWriter, status int) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(strconv.Itoa(status) + ": " + http.StatusText(status)))
}

func (s *Server) authorized(r *http.Request) bool {
	h := r.Header.Get("Authorization")
	tok, ok := strings.CutPrefix(h, "Bearer ")
	return ok && tok != "" && tok == s.Token()
}

func sleep(r *http.Request, d time.Duration) {
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-r.Context().Done():
	}
}

func (s *Server) serveREST(w http.ResponseWriter, r *http.Request) {
	path := r.URL.Path
	fault, delay := s.hit(path)
	sleep(r, delay)
	if fault != nil && fault.Status != 0 {
		aiohttpError(w, fault.Status)
		return
	}
	if !strings.HasPrefix(path, "/api/") {
		aiohttpError(w, http.StatusNotFound)
		return
	}
	// Home Assistant's auth middleware rejects before routing: any /api path without a valid
	// token is 401 with aiohttp's plain-text body.
	if !s.authorized(r) {
		aiohttpError(w, http.StatusUnauthorized)
		return
	}
	if r.Method != http.MethodGet {
		aiohttpError(w, http.StatusMethodNotAllowed)
		return
	}
	var body []byte
	switch path {
	case "/api/":
		body = mustJSON(map[string]string{"message": "API running."})
	case "/api/config":
		body = mustJSON(s.config())
	case "/api/states":
		s.mu.Lock()
		body = mustJSON(wireList(s.data.States, parseRelease(s.version), s.raw[path]))
		s.mu.Unlock()
	default:
		aiohttpError(w, http.StatusNotFound)
		return
	}
	body = applyBodyFault(fault, body)
	s.recordSent(path, len(body))
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}

func applyBodyFault(f *Fault, body []byte) []byte {
	switch {
	case f == nil:
		return body
	case f.Body != "":
		return []byte(f.Body)
	case f.Truncate:
		return body[:len(body)/2]
	}
	return body
}

func (s *Server) config() map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	return map[string]any{
		"allowlist_external_dirs": []string{"/media", "/config/www"},
		"allowlist_external_urls": []string{},
		"components":              []string{"api", "config", "device_tracker", "hue", "unifi", "websocket_api"},
		"config_dir":              "/config",
		"config_source":           "storage",
		"country":                 "DE",
		"currency":                "EUR",
		"debug":                   false,
		"elevation":               120,
		"external_url":            nil,
		"internal_url":            nil,
		"language":                "en",
		"latitude":                52.3731,
		"location_name":           "Home",
		"longitude":               4.8922,
		"radius":                  100,
		"recovery_mode":           false,
		"safe_mode":               false,
		"state":                   s.coreState,
		"time_zone":               "Europe/Berlin",
		"unit_system": map[string]string{
			"length": "km", "accumulated_precipitation": "mm", "mass": "g", "pressure": "Pa",
			"temperature": "°C", "volume": "L", "wind_speed": "m/s",
		},
		"version":                 s.version,
		"whitelist_external_dirs": []string{"/media", "/config/www"},
	}
}
