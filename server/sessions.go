package server

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"

	"github.com/mark3labs/mcp-go/mcp"
	mcpserver "github.com/mark3labs/mcp-go/server"
)

// sessionRegistry is the HTTP transport's session id manager. mcp-go's default only checks
// an id's shape, so any well-formed id was accepted and DELETE ended nothing; here an id is
// valid only from its initialize until its DELETE (or the idle sweep). Each live session also
// holds the counter of the notifications its streams have written (see wire.go).
type sessionRegistry struct {
	mu    sync.Mutex
	live  map[string]*wireCounter
	ended map[string]struct{}
	order []string // ended ids, oldest first, so the set stays bounded
}

const maxEndedSessions = 4096

func newSessionRegistry() *sessionRegistry {
	return &sessionRegistry{live: map[string]*wireCounter{}, ended: map[string]struct{}{}}
}

const sessionIDPrefix = "mcp-session-"

// Generate implements mcpserver.SessionIdManager.
func (r *sessionRegistry) Generate() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	id := fmt.Sprintf("%s%x-%x-%x-%x-%x", sessionIDPrefix, b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
	r.mu.Lock()
	r.live[id] = newWireCounter()
	r.mu.Unlock()
	return id
}

// Validate implements mcpserver.SessionIdManager: unknown ids are an error (404), ended
// ones are reported terminated (404 too).
func (r *sessionRegistry) Validate(id string) (bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.live[id]; ok {
		return false, nil
	}
	if _, ok := r.ended[id]; ok {
		return true, nil
	}
	return false, fmt.Errorf("unknown session id %q", id)
}

// Terminate implements mcpserver.SessionIdManager.
func (r *sessionRegistry) Terminate(id string) (bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.live[id]; !ok {
		return false, nil
	}
	delete(r.live, id)
	r.ended[id] = struct{}{}
	r.order = append(r.order, id)
	for len(r.order) > maxEndedSessions {
		delete(r.ended, r.order[0])
		r.order = r.order[1:]
	}
	return false, nil
}

func (r *sessionRegistry) counter(id string) *wireCounter {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.live[id]
}

// sessionGate answers 400 to a request of the session era (protocol before 2026-07-28)
// that carries no session id although it is not an initialize (the spec's answer; mcp-go
// says 404), and puts the notification counter of the request's session (or a fresh one for
// requests outside a session) in its context with a response writer that counts.
func (s *Server) sessionGate(reg *sessionRegistry, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get(mcpserver.HeaderKeySessionID)
		modern := mcp.IsModernProtocol(r.Header.Get(mcp.HeaderProtocolVersion))
		if id == "" && !modern && needsSession(r) {
			http.Error(w, "Bad Request: Mcp-Session-Id header required (send initialize first)", http.StatusBadRequest)
			return
		}
		c := reg.counter(id)
		if c == nil {
			c = newWireCounter()
		}
		r = r.WithContext(withWire(r.Context(), c))
		next.ServeHTTP(countingResponseWriter{ResponseWriter: w, c: c}, r)
	})
}

// needsSession reports whether a request without a session id is one that must have one:
// GET and DELETE always, a POST unless it is an initialize (or a modern era discovery).
func needsSession(r *http.Request) bool {
	switch r.Method {
	case http.MethodGet, http.MethodDelete:
		return true
	case http.MethodPost:
	default:
		return false
	}
	if r.Body == nil {
		return false
	}
	body, err := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	if err != nil {
		return false // the transport reports the broken body
	}
	var msg struct {
		Method string `json:"method"`
	}
	if json.Unmarshal(body, &msg) != nil {
		return false // a batch or garbage: the transport answers it
	}
	return msg.Method != "" && msg.Method != string(mcp.MethodInitialize) && !strings.HasPrefix(msg.Method, "server/")
}
