package homeassistant

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/coder/websocket"

	"github.com/netbox-agent/netbox-agent/internal/secret"
	"github.com/netbox-agent/netbox-agent/internal/tlsconfig"
)

// ErrAuth marks a rejected token (HTTP 401/403, websocket auth_invalid), so callers can tell a
// credential problem from an outage with errors.Is.
var ErrAuth = errors.New("authentication rejected")

// maxRESTBody bounds a REST answer; /api/states of a large home is a few MiB.
const maxRESTBody = 256 << 20

// client talks to one Home Assistant: REST for /api/config and /api/states, the websocket API
// for the registries. Every error it returns names the source and the URL, never the token.
type client struct {
	name    string
	base    *url.URL // without trailing slash
	token   secret.Secret
	http    *http.Client
	timeout time.Duration
	maxMsg  int64
	scrub   *secret.Scrubber
}

func newClient(cfg Config, logger *slog.Logger) (*client, error) {
	base, err := url.Parse(strings.TrimRight(cfg.URL, "/"))
	if err != nil {
		return nil, fmt.Errorf("url: %q: %w", redactURL(cfg.URL), err)
	}
	transport, err := tlsconfig.Transport(cfg.Settings, logger, fmt.Sprintf("homeassistant %q", cfg.Name))
	if err != nil {
		return nil, err
	}
	return &client{
		name:    cfg.Name,
		base:    base,
		token:   cfg.Token,
		http:    &http.Client{Transport: transport, Timeout: cfg.Timeout},
		timeout: cfg.Timeout,
		maxMsg:  cfg.MaxMessageBytes,
		scrub:   secret.NewScrubber(cfg.Token),
	}, nil
}

// endpoint returns base + path (path starts with "/api/").
func (c *client) endpoint(path string) string {
	u := *c.base
	u.Path = strings.TrimRight(u.Path, "/") + path
	u.RawPath = ""
	u.User = nil
	return u.String()
}

func (c *client) websocketURL() string {
	u, _ := url.Parse(c.endpoint("/api/websocket"))
	if u.Scheme == "https" {
		u.Scheme = "wss"
	} else {
		u.Scheme = "ws"
	}
	return u.String()
}

// fail builds the error every failure surfaces as: source, operation with URL, cause.
func (c *client) fail(op, target string, err error) error {
	return &Error{Source: c.name, Op: op, URL: target, Err: err, scrub: c.scrub}
}

// Error is a failure talking to Home Assistant. Its text names the source and the URL; the
// token never appears (server text quoted in it is scrubbed).
type Error struct {
	Source string
	Op     string // "GET", "websocket", "config/device_registry/list", ...
	URL    string
	Err    error
	scrub  *secret.Scrubber
}

func (e *Error) Error() string {
	return e.scrub.Scrub(fmt.Sprintf("homeassistant %q: %s %s: %v", e.Source, e.Op, e.URL, e.Err))
}

func (e *Error) Unwrap() error { return e.Err }

// explain turns transport errors into messages that say what to fix.
func (c *client) explain(ctx context.Context, err error) error {
	var urlErr *url.Error
	if errors.As(err, &urlErr) {
		err = urlErr.Err // url.Error repeats the URL, which Error already gives
	}
	var invalidCert x509.CertificateInvalidError
	var recordErr tls.RecordHeaderError
	var netErr net.Error
	switch {
	case tlsconfig.Untrusted(err), errors.As(err, &invalidCert):
		return fmt.Errorf("TLS certificate not trusted (set ca_file to the CA that signed it, or insecure_skip_verify): %w", err)
	case strings.Contains(err.Error(), "server gave HTTP response to HTTPS client"):
		return fmt.Errorf("TLS handshake failed: the server speaks plain HTTP (use an http:// URL): %w", err)
	case errors.As(err, &recordErr):
		return fmt.Errorf("TLS handshake failed (is the URL's scheme right?): %w", err)
	case ctx.Err() != nil && !errors.Is(ctx.Err(), context.DeadlineExceeded):
		return fmt.Errorf("cancelled: %w", err)
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &netErr) && netErr.Timeout():
		return fmt.Errorf("timed out after %s (timeout): %w", c.timeout, err)
	}
	return err
}

// getJSON GETs an /api path and decodes the JSON answer into v. Nothing is decoded into v
// unless the whole body is valid JSON.
func (c *client) getJSON(ctx context.Context, path string, v any) error {
	target := c.endpoint(path)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return c.fail("GET", target, err)
	}
	req.Header.Set("Authorization", "Bearer "+c.token.Reveal())
	req.Header.Set("Accept", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return c.fail("GET", target, c.explain(ctx, err))
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxRESTBody+1))
	if err != nil {
		return c.fail("GET", target, fmt.Errorf("reading the answer: %w", c.explain(ctx, err)))
	}
	switch {
	case resp.StatusCode == http.StatusUnauthorized:
		return c.fail("GET", target, fmt.Errorf("%w: HTTP 401 (%s): check token, a long-lived access token", ErrAuth, snippet(body)))
	case resp.StatusCode == http.StatusForbidden:
		return c.fail("GET", target, fmt.Errorf("%w: HTTP 403 (%s): the user may lack rights, or Home Assistant banned this address after failed logins (ip_ban)", ErrAuth, snippet(body)))
	case resp.StatusCode != http.StatusOK:
		return c.fail("GET", target, fmt.Errorf("HTTP %d (%s)", resp.StatusCode, snippet(body)))
	case len(body) > maxRESTBody:
		return c.fail("GET", target, fmt.Errorf("answer larger than %d bytes", maxRESTBody))
	}
	if err := json.Unmarshal(body, v); err != nil {
		return c.fail("GET", target, malformed(body, err))
	}
	return nil
}

// malformed describes a JSON decoding failure with its position.
func malformed(data []byte, err error) error {
	var syntax *json.SyntaxError
	var typeErr *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntax):
		return fmt.Errorf("malformed JSON at byte %d of %d: %w", syntax.Offset, len(data), err)
	case errors.As(err, &typeErr) && typeErr.Field != "":
		return fmt.Errorf("unexpected JSON at byte %d of %d (field %q): %w", typeErr.Offset, len(data), typeErr.Field, err)
	case errors.As(err, &typeErr):
		return fmt.Errorf("unexpected JSON at byte %d of %d: %w", typeErr.Offset, len(data), err)
	}
	return fmt.Errorf("malformed JSON (%d bytes): %w", len(data), err)
}

// snippet quotes the start of a server's answer for an error message.
func snippet(b []byte) string {
	const max = 200
	s := strings.TrimSpace(string(b))
	if len(s) > max {
		s = s[:max] + "..."
	}
	if s == "" {
		return "empty body"
	}
	return fmt.Sprintf("%q", s)
}

// session is an authenticated websocket connection.
type session struct {
	c         *client
	conn      *websocket.Conn
	url       string
	nextID    int
	haVersion string
}

// openSession dials /api/websocket and runs the auth handshake.
func (c *client) openSession(ctx context.Context) (*session, error) {
	target := c.websocketURL()
	dialCtx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	conn, resp, err := websocket.Dial(dialCtx, target, &websocket.DialOptions{HTTPClient: c.http})
	if err != nil {
		if resp != nil {
			switch resp.StatusCode {
			case http.StatusUnauthorized, http.StatusForbidden:
				return nil, c.fail("websocket", target, fmt.Errorf("%w: HTTP %d on the upgrade request", ErrAuth, resp.StatusCode))
			case http.StatusSwitchingProtocols:
			default:
				return nil, c.fail("websocket", target, fmt.Errorf("HTTP %d on the upgrade request (a reverse proxy must pass websockets through): %w", resp.StatusCode, err))
			}
		}
		return nil, c.fail("websocket", target, c.explain(dialCtx, err))
	}
	conn.SetReadLimit(c.maxMsg)
	s := &session{c: c, conn: conn, url: target}

	var hello struct {
		Type      string `json:"type"`
		HAVersion string `json:"ha_version"`
		Message   string `json:"message"`
	}
	if err := s.read(ctx, "auth", &hello); err != nil {
		s.close()
		return nil, err
	}
	if hello.Type != "auth_required" {
		s.close()
		return nil, c.fail("auth", target, fmt.Errorf("expected auth_required, got %q", hello.Type))
	}
	auth, err := json.Marshal(map[string]string{"type": "auth", "access_token": c.token.Reveal()})
	if err != nil {
		s.close()
		return nil, c.fail("auth", target, err)
	}
	if err := s.write(ctx, "auth", auth); err != nil {
		s.close()
		return nil, err
	}
	if err := s.read(ctx, "auth", &hello); err != nil {
		s.close()
		return nil, err
	}
	switch hello.Type {
	case "auth_ok":
		s.haVersion = hello.HAVersion
		return s, nil
	case "auth_invalid":
		s.close()
		return nil, c.fail("auth", target, fmt.Errorf("%w: auth_invalid (%q): check token, a long-lived access token", ErrAuth, hello.Message))
	default:
		s.close()
		return nil, c.fail("auth", target, fmt.Errorf("expected auth_ok or auth_invalid, got %q", hello.Type))
	}
}

func (s *session) close() { _ = s.conn.Close(websocket.StatusNormalClosure, "") }

func (s *session) write(ctx context.Context, op string, msg []byte) error {
	ctx, cancel := context.WithTimeout(ctx, s.c.timeout)
	defer cancel()
	if err := s.conn.Write(ctx, websocket.MessageText, msg); err != nil {
		return s.c.fail(op, s.url, s.explainWS(ctx, err))
	}
	return nil
}

// readRaw reads one message whole; a message that ends early is caught by the JSON decoding.
func (s *session) readRaw(ctx context.Context, op string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, s.c.timeout)
	defer cancel()
	typ, data, err := s.conn.Read(ctx)
	if err != nil {
		return nil, s.c.fail(op, s.url, s.explainWS(ctx, err))
	}
	if typ != websocket.MessageText {
		return nil, s.c.fail(op, s.url, fmt.Errorf("unexpected binary message (%d bytes)", len(data)))
	}
	return data, nil
}

func (s *session) read(ctx context.Context, op string, v any) error {
	data, err := s.readRaw(ctx, op)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(data, v); err != nil {
		return s.c.fail(op, s.url, malformed(data, err))
	}
	return nil
}

func (s *session) explainWS(ctx context.Context, err error) error {
	if status := websocket.CloseStatus(err); status != -1 {
		return fmt.Errorf("connection closed by Home Assistant (%v): %w", status, err)
	}
	if strings.Contains(err.Error(), "read limited at") {
		return fmt.Errorf("message larger than max_message_bytes (%d): raise it: %w", s.c.maxMsg, err)
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) {
		return fmt.Errorf("connection lost: %w", err)
	}
	return s.c.explain(ctx, err)
}

// command sends one command and returns its result. Messages for other ids are skipped.
func (s *session) command(ctx context.Context, typ string) (json.RawMessage, error) {
	s.nextID++
	id := s.nextID
	msg, err := json.Marshal(map[string]any{"id": id, "type": typ})
	if err != nil {
		return nil, s.c.fail(typ, s.url, err)
	}
	if err := s.write(ctx, typ, msg); err != nil {
		return nil, err
	}
	for {
		data, err := s.readRaw(ctx, typ)
		if err != nil {
			return nil, err
		}
		var reply struct {
			ID      *int            `json:"id"`
			Type    string          `json:"type"`
			Success bool            `json:"success"`
			Result  json.RawMessage `json:"result"`
			Error   *struct {
				Code    string `json:"code"`
				Message string `json:"message"`
			} `json:"error"`
		}
		if err := json.Unmarshal(data, &reply); err != nil {
			return nil, s.c.fail(typ, s.url, malformed(data, err))
		}
		if reply.ID == nil || *reply.ID != id {
			continue // an event or a late answer to something else
		}
		if reply.Type != "result" {
			return nil, s.c.fail(typ, s.url, fmt.Errorf("expected a result, got %q", reply.Type))
		}
		if !reply.Success {
			code, text := "", ""
			if reply.Error != nil {
				code, text = reply.Error.Code, reply.Error.Message
			}
			if code == "unauthorized" {
				return nil, s.c.fail(typ, s.url, fmt.Errorf("%w: %s (%s): the token's user lacks the rights for this command (try an administrator's token)", ErrAuth, code, text))
			}
			return nil, s.c.fail(typ, s.url, fmt.Errorf("command failed: %s: %s", code, text))
		}
		return reply.Result, nil
	}
}
