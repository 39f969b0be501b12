// Package proxmoxtest is a stateful simulator of the Proxmox VE REST API (/api2/json) in the
// style of net/http/httptest: start one with NewServer (or NewTLSServer, NewTestServer), point a
// client at its APIURL, and shape what it serves with nodes, guests, tokens, latency and faults.
//
// It reproduces the API's shapes and its pitfalls: the {"data": ...} wrapper, API-token auth
// (401 without a valid token), privilege-separated tokens that see only what their ACL allows
// (403 on per-guest paths, silently filtered /cluster/resources), offline nodes answering 595,
// the guest agent's HTTP 500 "QEMU guest agent is not running", memory and vmid sent as
// strings, templates and cdroms. Several clusters are several servers.
//
// It imports none of the agent's packages: it fakes the product, not our reading of it.
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
	"slices"
	"sort"
	"strconv"
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

// Privileges used by the simulator's permission checks (a subset of PVE's).
const (
	PrivSysAudit  = "Sys.Audit"
	PrivVMAudit   = "VM.Audit"
	PrivVMMonitor = "VM.Monitor"
)

// auditorPrivileges are what the PVEAuditor role grants.
func auditorPrivileges() []string {
	return []string{PrivSysAudit, PrivVMAudit, "Datastore.Audit", "SDN.Audit", "Pool.Audit", "Mapping.Audit"}
}

// AuditorACL returns an ACL granting the PVEAuditor role on "/" (propagated), plus VM.Monitor
// for the guest agent.
func AuditorACL() map[string][]string {
	return map[string][]string{"/": append(auditorPrivileges(), PrivVMMonitor)}
}

// Token is an API token the server accepts. A nil ACL means no privilege separation with a
// root user: every check passes. A non-nil ACL (even empty) is a privilege-separated token
// holding exactly those privileges, per ACL path, propagated to sub-paths ("/" covers
// "/vms/100").
type Token struct {
	ID     string // user@realm!tokenid
	Secret string
	ACL    map[string][]string
}

// Node is one cluster member.
type Node struct {
	Name        string
	Online      bool
	IP          string // the cluster network address shown in /cluster/status
	PVEVersion  string // "8.2.4"; DefaultVersion when empty
	CPUModel    string
	Sockets     int
	Cores       int   // per socket
	MemoryBytes int64 // total RAM
	// Network is what /nodes/{n}/network lists (parsed /etc/network/interfaces).
	Network []NodeIface
}

// NodeIface is one entry of /nodes/{n}/network.
type NodeIface struct {
	Iface       string // "vmbr0"
	Type        string // "bridge", "eth", "bond", "vlan"
	CIDR        string // "192.168.1.10/24"
	BridgePorts string
	VLANID      int
}

// Guest types.
const (
	TypeQEMU = "qemu"
	TypeLXC  = "lxc"
)

// Agent states of a QEMU guest.
type AgentState int

const (
	// AgentNotConfigured: no "agent: 1" in the config; PVE answers 500 "No QEMU guest agent configured".
	AgentNotConfigured AgentState = iota
	// AgentNotRunning: configured, but the agent does not answer inside the guest.
	AgentNotRunning
	// AgentRunning: the agent answers network-get-interfaces.
	AgentRunning
)

// Guest is a QEMU VM or an LXC container.
type Guest struct {
	Type     string // TypeQEMU or TypeLXC
	VMID     int
	Node     string
	Name     string // QEMU name / LXC hostname
	Status   string // "running" or "stopped"
	Template bool
	Tags     []string
	Cores    int // QEMU: cores per socket; LXC: cores
	Sockets  int // QEMU only
	MemoryMB int
	// MemoryAsString sends "memory": "2048" in the config (qemu-server >= 8.0.8 does this).
	MemoryAsString bool
	// VMIDAsString sends "vmid": "100" in resource and guest lists.
	VMIDAsString bool
	// Config holds further raw config entries served verbatim: net0, scsi0, ide2, rootfs, mp0,
	// smbios1, vmgenid, ostype, ...
	Config map[string]any
	// Agent is the guest agent's state (QEMU).
	Agent AgentState
	// Interfaces are what the guest agent (QEMU) or /lxc/{id}/interfaces (LXC, running only)
	// report; "lo" and IPv6 link-local addresses are added by the server as the real ones do.
	Interfaces []GuestIface
}

// GuestIface is an interface as the guest sees it.
type GuestIface struct {
	Name string   // guest-OS name: "ens18", "eth0"
	MAC  string   // any case
	IPs  []string // "192.168.1.50/24", "2001:db8::5/64"
}

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

// AddNode adds or replaces a node.
func (s *Server) AddNode(n Node) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.addNodeLocked(n)
}

func (s *Server) addNodeLocked(n Node) {
	for i, old := range s.nodes {
		if old.Name == n.Name {
			s.nodes[i] = &n
			return
		}
	}
	s.nodes = append(s.nodes, &n)
}

// SetNodeOnline switches a node on or off line.
func (s *Server) SetNodeOnline(name string, online bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if n := s.nodeLocked(name); n != nil {
		n.Online = online
	}
}

// AddGuest adds or replaces a guest (by VMID).
func (s *Server) AddGuest(g Guest) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.guests[g.VMID] = cloneGuest(g)
}

// RemoveGuest deletes a guest.
func (s *Server) RemoveGuest(vmid int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.guests, vmid)
}

// MigrateGuest moves a guest to another node.
func (s *Server) MigrateGuest(vmid int, node string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if g := s.guests[vmid]; g != nil {
		g.Node = node
	}
}

// SetGuestStatus sets "running" or "stopped".
func (s *Server) SetGuestStatus(vmid int, status string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if g := s.guests[vmid]; g != nil {
		g.Status = status
	}
}

// SetLatency changes the per-request latency.
func (s *Server) SetLatency(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.latency = d
}

// AddFault installs a fault; ClearFaults removes them all.
func (s *Server) AddFault(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, f)
}

// ClearFaults removes every fault.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
}

// AddToken adds an accepted token.
func (s *Server) AddToken(t Token) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokens[t.ID] = t
}

func cloneGuest(g Guest) *Guest {
	c := g
	c.Tags = slices.Clone(g.Tags)
	c.Config = make(map[string]any, len(g.Config))
	for k, v := range g.Config {
		c.Config[k] = v
	}
	c.Interfaces = make([]GuestIface, len(g.Interfaces))
	for i, ifc := range g.Interfaces {
		ifc.IPs = slices.Clone(ifc.IPs)
		c.Interfaces[i] = ifc
	}
	return &c
}

func (s *Server) nodeLocked(name string) *Node {
	for _, n := range s.nodes {
		if n.Name == name {
			return n
		}
	}
	return nil
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

// authenticate checks "Authorization: PVEAPIToken=user@realm!tokenid=secret".
func (s *Server) authenticate(r *http.Request) (Token, bool) {
	h, ok := strings.CutPrefix(r.Header.Get("Authorization"), "PVEAPIToken=")
	if !ok {
		return Token{}, false
	}
	// The secret follows the last "=": token ids cannot contain "=".
	i := strings.LastIndexByte(h, '=')
	if i < 0 {
		return Token{}, false
	}
	id, sec := h[:i], h[i+1:]
	s.mu.Lock()
	t, ok := s.tokens[id]
	s.mu.Unlock()
	if !ok || t.Secret != sec {
		return Token{}, false
	}
	return t, true
}

// allowed reports whether tok holds priv on path or any parent path (ACLs propagate).
func allowed(tok Token, path, priv string) bool {
	if tok.ACL == nil {
		return true
	}
	for p := path; ; {
		if slices.Contains(tok.ACL[p], priv) {
			return true
		}
		if p == "/" {
			return false
		}
		i := strings.LastIndexByte(p, '/')
		if i <= 0 {
			p = "/"
		} else {
			p = p[:i]
		}
	}
}

func forbidden(path, priv string) *apiError {
	return &apiError{http.StatusForbidden, fmt.Sprintf("Permission check failed (%s, %s)", path, priv)}
}

func (s *Server) route(tok Token, path string, r *http.Request) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	seg := strings.Split(strings.Trim(path, "/"), "/")
	switch {
	case path == "/version":
		return map[string]any{"version": DefaultVersion, "release": majorMinor(DefaultVersion), "repoid": "faa83925c9641325"}, nil
	case path == "/access/permissions":
		return s.permissions(tok), nil
	case path == "/cluster/status":
		if !allowed(tok, "/", PrivSysAudit) {
			return nil, forbidden("/", PrivSysAudit)
		}
		return s.clusterStatus(), nil
	case path == "/cluster/resources":
		return s.clusterResources(tok, r.URL.Query().Get("type")), nil
	case path == "/nodes":
		return s.nodeList(tok), nil
	case len(seg) >= 3 && seg[0] == "nodes":
		return s.routeNode(tok, seg[1], seg[2:])
	}
	return nil, &apiError{http.StatusNotImplemented, fmt.Sprintf("Method 'GET %s' not implemented", path)}
}

func (s *Server) routeNode(tok Token, nodeName string, rest []string) (any, *apiError) {
	n := s.nodeLocked(nodeName)
	if n == nil {
		return nil, &apiError{http.StatusInternalServerError, fmt.Sprintf("hostname lookup '%s' failed - failed to get address info for: %s: Name or service not known", nodeName, nodeName)}
	}
	if !n.Online {
		// pveproxy cannot reach the node: 595 (no route) as real clusters answer.
		return nil, &apiError{595, "No route to host"}
	}
	nodePath := "/nodes/" + nodeName
	switch {
	case len(rest) == 1 && rest[0] == "status":
		if !allowed(tok, nodePath, PrivSysAudit) {
			return nil, forbidden(nodePath, PrivSysAudit)
		}
		return nodeStatus(n), nil
	case len(rest) == 1 && rest[0] == "network":
		if !allowed(tok, nodePath, PrivSysAudit) {
			return nil, forbidden(nodePath, PrivSysAudit)
		}
		return nodeNetwork(n), nil
	case len(rest) == 1 && (rest[0] == TypeQEMU || rest[0] == TypeLXC):
		return s.guestList(tok, nodeName, rest[0]), nil
	case len(rest) >= 3 && (rest[0] == TypeQEMU || rest[0] == TypeLXC):
		vmid, err := strconv.Atoi(rest[1])
		if err != nil {
			return nil, &apiError{http.StatusBadRequest, fmt.Sprintf("Parameter verification failed. vmid: invalid format - %q", rest[1])}
		}
		return s.routeGuest(tok, n, rest[0], vmid, strings.Join(rest[2:], "/"))
	}
	return nil, &apiError{http.StatusNotImplemented, fmt.Sprintf("Method 'GET %s/%s' not implemented", nodePath, strings.Join(rest, "/"))}
}

func (s *Server) routeGuest(tok Token, n *Node, typ string, vmid int, what string) (any, *apiError) {
	vmPath := fmt.Sprintf("/vms/%d", vmid)
	g := s.guests[vmid]
	if g == nil || g.Node != n.Name || g.Type != typ {
		if !allowed(tok, vmPath, PrivVMAudit) {
			return nil, forbidden(vmPath, PrivVMAudit)
		}
		dir := "qemu-server"
		if typ == TypeLXC {
			dir = "lxc"
		}
		return nil, &apiError{http.StatusInternalServerError, fmt.Sprintf("Configuration file 'nodes/%s/%s/%d.conf' does not exist", n.Name, dir, vmid)}
	}
	switch what {
	case "config":
		if !allowed(tok, vmPath, PrivVMAudit) {
			return nil, forbidden(vmPath, PrivVMAudit)
		}
		return guestConfig(g), nil
	case "status/current":
		if !allowed(tok, vmPath, PrivVMAudit) {
			return nil, forbidden(vmPath, PrivVMAudit)
		}
		st := guestResource(g)
		st["qmpstatus"] = g.Status
		st["ha"] = map[string]any{"managed": 0} // always present (pve-docs apidata: not optional)
		if typ == TypeQEMU {
			st["agent"] = boolInt(g.Agent != AgentNotConfigured)
		}
		return st, nil
	case "agent/network-get-interfaces":
		if typ != TypeQEMU {
			break
		}
		if !allowed(tok, vmPath, PrivVMMonitor) {
			return nil, forbidden(vmPath, PrivVMMonitor)
		}
		switch {
		case g.Status != "running":
			return nil, &apiError{http.StatusInternalServerError, fmt.Sprintf("VM %d is not running", vmid)}
		case g.Agent == AgentNotConfigured:
			return nil, &apiError{http.StatusInternalServerError, "No QEMU guest agent configured"}
		case g.Agent == AgentNotRunning:
			return nil, &apiError{http.StatusInternalServerError, "QEMU guest agent is not running"}
		}
		return map[string]any{"result": agentInterfaces(g)}, nil
	case "interfaces":
		if typ != TypeLXC {
			break
		}
		if !allowed(tok, vmPath, PrivVMAudit) {
			return nil, forbidden(vmPath, PrivVMAudit)
		}
		if g.Status != "running" {
			return nil, &apiError{http.StatusInternalServerError, fmt.Sprintf("CT %d not running", vmid)}
		}
		return lxcInterfaces(g), nil
	}
	return nil, &apiError{http.StatusNotImplemented, fmt.Sprintf("Method 'GET /nodes/%s/%s/%d/%s' not implemented", n.Name, typ, vmid, what)}
}

func (s *Server) permissions(tok Token) map[string]map[string]int {
	out := map[string]map[string]int{}
	if tok.ACL == nil {
		all := map[string]int{}
		for _, p := range append(auditorPrivileges(), PrivVMMonitor, "Sys.Modify", "VM.Allocate", "VM.PowerMgmt", "Permissions.Modify") {
			all[p] = 1
		}
		out["/"] = all
		return out
	}
	for path, privs := range tok.ACL {
		m := map[string]int{}
		for _, p := range privs {
			m[p] = 1
		}
		out[path] = m
	}
	return out
}

func (s *Server) clusterStatus() []map[string]any {
	var out []map[string]any
	online := 0
	for _, n := range s.nodes {
		if n.Online {
			online++
		}
	}
	if s.clusterName != "" {
		out = append(out, map[string]any{
			"type": "cluster", "id": "cluster", "name": s.clusterName, "nodes": len(s.nodes),
			"quorate": boolInt(online*2 > len(s.nodes)), "version": len(s.nodes) + 2,
		})
	}
	for i, n := range s.nodes {
		out = append(out, map[string]any{
			"type": "node", "id": "node/" + n.Name, "name": n.Name, "nodeid": i + 1,
			"online": boolInt(n.Online), "local": boolInt(i == 0), "ip": n.IP, "level": "",
		})
	}
	return out
}

func (s *Server) sortedGuests() []*Guest {
	out := make([]*Guest, 0, len(s.guests))
	for _, g := range s.guests {
		out = append(out, g)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].VMID < out[j].VMID })
	return out
}

// clusterResources filters silently by permission, as PVE does: a token without VM.Audit
// simply does not see those guests.
func (s *Server) clusterResources(tok Token, typ string) []map[string]any {
	out := []map[string]any{}
	if typ == "" || typ == "node" {
		for _, n := range s.nodes {
			if !allowed(tok, "/nodes/"+n.Name, PrivSysAudit) {
				continue
			}
			e := map[string]any{"id": "node/" + n.Name, "type": "node", "node": n.Name, "level": ""}
			if n.Online {
				e["status"] = "online"
				e["maxcpu"] = n.Sockets * n.Cores
				e["maxmem"] = n.MemoryBytes
				e["uptime"] = 86400
			} else {
				e["status"] = "offline"
			}
			out = append(out, e)
		}
	}
	if typ == "" || typ == "vm" {
		for _, g := range s.sortedGuests() {
			if !allowed(tok, fmt.Sprintf("/vms/%d", g.VMID), PrivVMAudit) {
				continue
			}
			e := guestResource(g)
			if n := s.nodeLocked(g.Node); n == nil || !n.Online {
				// What the cluster file system still knows; live values are gone.
				e["status"] = "unknown"
				for _, k := range []string{"cpu", "mem", "uptime", "netin", "netout", "diskread", "diskwrite"} {
					delete(e, k)
				}
			}
			e["id"] = fmt.Sprintf("%s/%d", g.Type, g.VMID)
			e["type"] = g.Type
			e["node"] = g.Node
			out = append(out, e)
		}
	}
	return out
}

func (s *Server) nodeList(tok Token) []map[string]any {
	out := []map[string]any{}
	for _, n := range s.nodes {
		if !allowed(tok, "/nodes/"+n.Name, PrivSysAudit) {
			continue
		}
		e := map[string]any{"node": n.Name, "id": "node/" + n.Name, "type": "node", "level": ""}
		if n.Online {
			e["status"] = "online"
			e["maxcpu"] = n.Sockets * n.Cores
			e["maxmem"] = n.MemoryBytes
			e["ssl_fingerprint"] = "AB:CD:EF"
		} else {
			e["status"] = "offline"
		}
		out = append(out, e)
	}
	return out
}

func (s *Server) guestList(tok Token, node, typ string) []map[string]any {
	out := []map[string]any{}
	for _, g := range s.sortedGuests() {
		if g.Node != node || g.Type != typ || !allowed(tok, fmt.Sprintf("/vms/%d", g.VMID), PrivVMAudit) {
			continue
		}
		out = append(out, guestResource(g))
	}
	return out
}

// guestResource is the entry of /cluster/resources and /nodes/{n}/{qemu,lxc}.
func guestResource(g *Guest) map[string]any {
	e := map[string]any{
		"vmid": vmidValue(g), "name": g.Name, "status": g.Status,
		"maxcpu": guestCPUs(g), "maxmem": int64(g.MemoryMB) << 20, "maxdisk": bootDiskBytes(g),
		"cpu": 0.0, "mem": 0, "uptime": 0, "netin": 0, "netout": 0, "diskread": 0, "diskwrite": 0, "disk": 0,
	}
	if g.Status == "running" {
		e["cpu"] = 0.03
		e["mem"] = int64(g.MemoryMB) << 19
		e["uptime"] = 3600
	}
	if len(g.Tags) > 0 {
		e["tags"] = strings.Join(g.Tags, ";")
	}
	if g.Template {
		e["template"] = 1
	}
	return e
}

func vmidValue(g *Guest) any {
	if g.VMIDAsString {
		return strconv.Itoa(g.VMID)
	}
	return g.VMID
}

func guestCPUs(g *Guest) int {
	cores, sockets := max(g.Cores, 1), 1
	if g.Type == TypeQEMU {
		sockets = max(g.Sockets, 1)
	}
	return cores * sockets
}

// bootDiskBytes mimics maxdisk: the size of the boot disk (QEMU) or rootfs (LXC).
func bootDiskBytes(g *Guest) int64 {
	keys := []string{"scsi0", "virtio0", "sata0", "ide0"}
	if g.Type == TypeLXC {
		keys = []string{"rootfs"}
	}
	for _, k := range keys {
		v, ok := g.Config[k].(string)
		if !ok || strings.Contains(v, "media=cdrom") {
			continue
		}
		for _, opt := range strings.Split(v, ",") {
			if sz, ok := strings.CutPrefix(opt, "size="); ok {
				return sizeBytes(sz)
			}
		}
	}
	return 0
}

func sizeBytes(s string) int64 {
	if s == "" {
		return 0
	}
	mult := int64(1)
	switch s[len(s)-1] {
	case 'K':
		mult = 1 << 10
	case 'M':
		mult = 1 << 20
	case 'G':
		mult = 1 << 30
	case 'T':
		mult = 1 << 40
	}
	if mult > 1 {
		s = s[:len(s)-1]
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0
	}
	return int64(f * float64(mult))
}

func guestConfig(g *Guest) map[string]any {
	c := map[string]any{"digest": fmt.Sprintf("%040x", g.VMID*7919)}
	if g.Type == TypeQEMU {
		c["name"] = g.Name
		c["cores"] = max(g.Cores, 1)
		c["sockets"] = max(g.Sockets, 1)
		c["ostype"] = "l26"
		c["boot"] = "order=scsi0;ide2;net0"
		if g.Agent != AgentNotConfigured {
			c["agent"] = "1"
		}
	} else {
		c["hostname"] = g.Name
		c["cores"] = max(g.Cores, 1)
		c["ostype"] = "debian"
		c["arch"] = "amd64"
		c["swap"] = 512
	}
	if g.MemoryAsString {
		c["memory"] = strconv.Itoa(g.MemoryMB)
	} else {
		c["memory"] = g.MemoryMB
	}
	if len(g.Tags) > 0 {
		c["tags"] = strings.Join(g.Tags, ";")
	}
	if g.Template {
		c["template"] = 1
	}
	for k, v := range g.Config {
		c[k] = v
	}
	return c
}

func agentInterfaces(g *Guest) []map[string]any {
	out := []map[string]any{{
		"name": "lo", "hardware-address": "00:00:00:00:00:00",
		"ip-addresses": []map[string]any{
			{"ip-address": "127.0.0.1", "ip-address-type": "ipv4", "prefix": 8},
			{"ip-address": "::1", "ip-address-type": "ipv6", "prefix": 128},
		},
		"statistics": map[string]any{"rx-bytes": 1024, "tx-bytes": 1024},
	}}
	for _, ifc := range g.Interfaces {
		var addrs []map[string]any
		for _, ip := range ifc.IPs {
			addr, bits, _ := strings.Cut(ip, "/")
			prefix, _ := strconv.Atoi(bits)
			typ := "ipv4"
			if strings.Contains(addr, ":") {
				typ = "ipv6"
			}
			addrs = append(addrs, map[string]any{"ip-address": addr, "ip-address-type": typ, "prefix": prefix})
		}
		addrs = append(addrs, map[string]any{"ip-address": linkLocal(ifc.MAC), "ip-address-type": "ipv6", "prefix": 64})
		out = append(out, map[string]any{
			"name": ifc.Name, "hardware-address": strings.ToLower(ifc.MAC), "ip-addresses": addrs,
			"statistics": map[string]any{"rx-bytes": 4096, "tx-bytes": 2048},
		})
	}
	return out
}

func lxcInterfaces(g *Guest) []map[string]any {
	// PVE 9 answers both the old fields (hwaddr, inet, inet6) and the guest-agent-like ones
	// (hardware-address, ip-addresses), which its schema marks required.
	ipEntry := func(cidr string) map[string]any {
		addr, bits, _ := strings.Cut(cidr, "/")
		n, _ := strconv.Atoi(bits)
		typ := "inet"
		if strings.Contains(addr, ":") {
			typ = "inet6"
		}
		return map[string]any{"ip-address": addr, "ip-address-type": typ, "prefix": n}
	}
	out := []map[string]any{{"name": "lo", "hwaddr": "00:00:00:00:00:00", "hardware-address": "00:00:00:00:00:00",
		"inet": "127.0.0.1/8", "inet6": "::1/128", "ip-addresses": []map[string]any{ipEntry("127.0.0.1/8"), ipEntry("::1/128")}}}
	for _, ifc := range g.Interfaces {
		mac := strings.ToLower(ifc.MAC)
		e := map[string]any{"name": ifc.Name, "hwaddr": mac, "hardware-address": mac, "inet6": linkLocal(ifc.MAC) + "/64"}
		ips := []map[string]any{}
		for _, ip := range ifc.IPs {
			if strings.Contains(ip, ":") {
				e["inet6"] = ip
			} else {
				e["inet"] = ip
			}
			ips = append(ips, ipEntry(ip))
		}
		ips = append(ips, ipEntry(linkLocal(ifc.MAC)+"/64"))
		e["ip-addresses"] = ips
		out = append(out, e)
	}
	return out
}

// linkLocal derives the EUI-64 fe80:: address a guest assigns itself.
func linkLocal(mac string) string {
	var b [6]byte
	parts := strings.Split(mac, ":")
	for i := 0; i < 6 && i < len(parts); i++ {
		v, _ := strconv.ParseUint(parts[i], 16, 8)
		b[i] = byte(v)
	}
	return fmt.Sprintf("fe80::%02x%02x:%02xff:fe%02x:%02x%02x", b[0]^0x02, b[1], b[2], b[3], b[4], b[5])
}

func nodeStatus(n *Node) map[string]any {
	v := n.PVEVersion
	if v == "" {
		v = DefaultVersion
	}
	cpus := max(n.Sockets, 1) * max(n.Cores, 1)
	return map[string]any{
		"pveversion": "pve-manager/" + v + "/faa83925c9641325",
		"kversion":   "Linux 6.8.12-4-pve #1 SMP PREEMPT_DYNAMIC PMX 6.8.12-4 (2024-11-06T15:04Z)",
		"cpuinfo": map[string]any{
			"model": n.CPUModel, "sockets": max(n.Sockets, 1), "cores": max(n.Cores, 1), "cpus": cpus * 2,
			"mhz": "2999.998", "hvm": "1", "user_hz": 100, "flags": "fpu vme de pse tsc msr pae mce",
		},
		"memory": map[string]any{"total": n.MemoryBytes, "used": n.MemoryBytes / 3, "free": n.MemoryBytes - n.MemoryBytes/3,
			"available": n.MemoryBytes - n.MemoryBytes/3},
		"current-kernel": map[string]any{"sysname": "Linux", "release": "6.8.12-4-pve", "machine": "x86_64",
			"version": "#1 SMP PREEMPT_DYNAMIC PMX 6.8.12-4 (2024-11-06T15:04Z)"},
		"swap":    map[string]any{"total": 8 << 30, "used": 0, "free": 8 << 30},
		"rootfs":  map[string]any{"total": 100 << 30, "used": 10 << 30, "free": 90 << 30, "avail": 85 << 30},
		"loadavg": []string{"0.12", "0.10", "0.09"},
		"cpu":     0.04, "wait": 0.0, "idle": 0, "uptime": 864000,
		"ksm":       map[string]any{"shared": 0},
		"boot-info": map[string]any{"mode": "efi", "secureboot": 0},
	}
}

func nodeNetwork(n *Node) []map[string]any {
	out := []map[string]any{}
	for _, ifc := range n.Network {
		e := map[string]any{"iface": ifc.Iface, "type": ifc.Type, "active": 1, "autostart": 1, "method": "manual", "families": []string{"inet"}, "priority": len(out) + 3}
		if ifc.CIDR != "" {
			e["cidr"] = ifc.CIDR
			addr, bits, _ := strings.Cut(ifc.CIDR, "/")
			e["address"] = addr
			e["netmask"] = bits
			e["method"] = "static"
		}
		if ifc.BridgePorts != "" {
			e["bridge_ports"] = ifc.BridgePorts
		}
		if ifc.VLANID != 0 {
			e["vlan-id"] = strconv.Itoa(ifc.VLANID)
		}
		out = append(out, e)
	}
	return out
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func majorMinor(v string) string {
	parts := strings.SplitN(v, ".", 3)
	if len(parts) < 2 {
		return v
	}
	return parts[0] + "." + parts[1]
}
