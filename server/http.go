package server

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	mcpserver "github.com/mark3labs/mcp-go/server"
)

// Handler returns the HTTP mux: /mcp (streamable HTTP, behind Origin check, bearer auth and
// body limit), /healthz, /readyz and /metrics (behind the same auth).
func (s *Server) Handler() http.Handler {
	h, _ := s.handler()
	return h
}

func (s *Server) handler() (http.Handler, *mcpserver.StreamableHTTPServer) {
	sessions := newSessionRegistry()
	mcpHTTP := mcpserver.NewStreamableHTTPServer(s.mcp,
		mcpserver.WithEndpointPath("/mcp"),
		mcpserver.WithSessionIdManager(sessions),
		mcpserver.WithHeartbeatInterval(30*time.Second),
		mcpserver.WithSessionIdleTTL(30*time.Minute),
		mcpserver.WithStreamableHTTPLogger(s.log),
	)
	mux := http.NewServeMux()
	mux.Handle("/mcp", s.checkOrigin(s.requireAuth(s.limitBody(s.sessionGate(sessions, mcpHTTP)))))
	mux.Handle("/metrics", s.requireAuth(s.metrics.Handler()))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = io.WriteString(w, "ok\n")
	})
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if s.deps.Ready != nil {
			ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
			defer cancel()
			if err := s.deps.Ready(ctx); err != nil {
				w.WriteHeader(http.StatusServiceUnavailable)
				_, _ = io.WriteString(w, "not ready: "+s.scrubber.Scrub(err.Error())+"\n")
				return
			}
		}
		_, _ = io.WriteString(w, "ready\n")
	})
	return mux, mcpHTTP
}

// requireAuth checks the bearer token in constant time. Without a token configured it lets
// only loopback peers through (Validate already refused a non-loopback listen address).
func (s *Server) requireAuth(next http.Handler) http.Handler {
	want := sha256.Sum256([]byte(s.cfg.AuthToken.Reveal()))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.cfg.AuthToken.IsSet() {
			if !peerIsLoopback(r) {
				http.Error(w, "forbidden: unauthenticated access is only allowed from loopback", http.StatusForbidden)
				return
			}
			next.ServeHTTP(w, r)
			return
		}
		h := r.Header.Get("Authorization")
		scheme, token, found := strings.Cut(h, " ")
		if !found || !strings.EqualFold(scheme, "Bearer") || token == "" {
			w.Header().Set("WWW-Authenticate", `Bearer realm="netbox-agent"`)
			http.Error(w, "unauthorized: bearer token required", http.StatusUnauthorized)
			return
		}
		got := sha256.Sum256([]byte(strings.TrimSpace(token)))
		if subtle.ConstantTimeCompare(got[:], want[:]) != 1 {
			s.log.Warn("rejected a request with a wrong bearer token", "remote", r.RemoteAddr, "path", r.URL.Path)
			w.Header().Set("WWW-Authenticate", `Bearer realm="netbox-agent", error="invalid_token"`)
			http.Error(w, "unauthorized: invalid token", http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func peerIsLoopback(r *http.Request) bool {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// checkOrigin answers 403 to a browser request from a foreign origin: requests without an
// Origin header (non-browser clients), from the server's own origin or from a configured
// origin pass. The mcp-go handler behind it also rejects non-loopback Host headers on a
// loopback connection (DNS rebinding).
func (s *Server) checkOrigin(next http.Handler) http.Handler {
	allowed := map[string]bool{}
	for _, o := range s.cfg.AllowedOrigins {
		if n, err := normalizeOrigin(o); err == nil {
			allowed[n] = true
		}
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		if origin == "" {
			next.ServeHTTP(w, r)
			return
		}
		n, err := normalizeOrigin(origin)
		if err == nil && (allowed[n] || sameOrigin(n, r)) {
			next.ServeHTTP(w, r)
			return
		}
		s.log.Warn("rejected a request from a foreign origin", "origin", origin, "remote", r.RemoteAddr)
		http.Error(w, fmt.Sprintf("forbidden: origin %q is not allowed", origin), http.StatusForbidden)
	})
}

func sameOrigin(origin string, r *http.Request) bool {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return origin == strings.ToLower(scheme+"://"+r.Host)
}

// limitBody reads at most MaxBodyBytes of a request body: larger gets 413 and the connection
// stays usable for the next request.
func (s *Server) limitBody(next http.Handler) http.Handler {
	limit := s.cfg.MaxBodyBytes
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body == nil || r.Method != http.MethodPost {
			next.ServeHTTP(w, r)
			return
		}
		if r.ContentLength > limit {
			http.Error(w, fmt.Sprintf("request body of %d bytes is larger than the limit of %d", r.ContentLength, limit), http.StatusRequestEntityTooLarge)
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
		if err != nil {
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				http.Error(w, fmt.Sprintf("request body is larger than the limit of %d bytes", limit), http.StatusRequestEntityTooLarge)
				return
			}
			http.Error(w, "reading request body: "+err.Error(), http.StatusBadRequest)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		next.ServeHTTP(w, r)
	})
}

// ListenAndServe serves HTTP on cfg.Listen until ctx ends, then shuts down gracefully:
// new connections stop, a running apply gets ShutdownGrace to finish and is cancelled after
// that (it returns its partial report). It refuses to start without a token on a
// non-loopback address. ready, when not nil, receives the bound address once listening.
func (s *Server) ListenAndServe(ctx context.Context, ready func(addr net.Addr)) error {
	if s.cfg.Listen == "" {
		return errors.New("listen: no HTTP address configured")
	}
	if errs := s.cfg.Validate(); len(errs) > 0 {
		return fmt.Errorf("refusing to serve HTTP: %w", errors.Join(errs...))
	}
	ln, err := net.Listen("tcp", s.cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen %s: %w", s.cfg.Listen, err)
	}
	return s.Serve(ctx, ln, ready)
}

// Serve is ListenAndServe on an existing listener.
func (s *Server) Serve(ctx context.Context, ln net.Listener, ready func(addr net.Addr)) error {
	h, mcpHTTP := s.handler()
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slogErrorLog(s.log),
	}
	errc := make(chan error, 1)
	go func() {
		if s.cfg.TLSCertFile != "" {
			errc <- srv.ServeTLS(ln, s.cfg.TLSCertFile, s.cfg.TLSKeyFile)
		} else {
			errc <- srv.Serve(ln)
		}
	}()
	s.log.Info("serving MCP over HTTP", "addr", ln.Addr().String(), "tls", s.cfg.TLSCertFile != "", "auth", s.cfg.AuthToken.IsSet())
	if ready != nil {
		ready(ln.Addr())
	}
	select {
	case err := <-errc:
		if errors.Is(err, http.ErrServerClosed) {
			return nil
		}
		return fmt.Errorf("http server: %w", err)
	case <-ctx.Done():
	}
	return s.shutdown(srv, mcpHTTP)
}

// shutdown stops accepting connections at once, gives a running apply up to the grace period
// to finish, cancels it after that (it returns the report of what it wrote), lets in-flight
// replies go out and then closes what is left (idle SSE streams).
func (s *Server) shutdown(srv *http.Server, mcpHTTP *mcpserver.StreamableHTTPServer) error {
	s.log.Info("shutting down", "grace", s.cfg.ShutdownGrace)
	shutdownCtx, cancel := context.WithCancel(context.Background())
	defer cancel()
	shutdownDone := make(chan error, 1)
	go func() { shutdownDone <- srv.Shutdown(shutdownCtx) }()
	if !s.waitApplies(s.cfg.ShutdownGrace) {
		s.log.Warn("shutdown grace over: cancelling the running apply")
		s.stopNow()
		s.waitApplies(5 * time.Second)
	}
	s.stopNow()
	select {
	case <-shutdownDone:
	case <-time.After(2 * time.Second):
	}
	cancel()
	closeCtx, closeCancel := context.WithTimeout(context.Background(), time.Second)
	defer closeCancel()
	_ = mcpHTTP.Shutdown(closeCtx)
	_ = srv.Close()
	return nil
}

// Close cancels any running apply (its report records what was written) and waits briefly.
func (s *Server) Close() {
	s.stopNow()
	s.waitApplies(5 * time.Second)
}

func (s *Server) waitApplies(limit time.Duration) bool {
	done := make(chan struct{})
	go func() { s.applying.Wait(); close(done) }()
	select {
	case <-done:
		return true
	case <-time.After(limit):
		return false
	}
}
