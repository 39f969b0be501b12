package truenas

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
	"github.com/netbox-agent/netbox-agent/internal/secret"
	"github.com/netbox-agent/netbox-agent/internal/tlsconfig"
)

// maxMessage bounds one answer: a large system's dataset list with nested children runs to
// megabytes, far over coder/websocket's 32 KiB default read limit.
const maxMessage = 128 << 20

// conn is one API session: REST or JSON-RPC over a websocket. Methods use the middleware's
// names ("pool.query"); REST maps them to paths.
type conn interface {
	// call runs method with the JSON-RPC params [filters, options] and returns the raw result.
	call(ctx context.Context, method string, params []any) (json.RawMessage, error)
	// endpoint is the URL the session talks to, for messages.
	endpoint() string
	// api is APIREST or APIWebsocket.
	api() string
	close()
}

// errEndpointMissing marks a websocket handshake answered by an HTTP status that says the
// endpoint does not exist on this release: auto-detection then falls back to REST.
var errEndpointMissing = errors.New("endpoint not served")

func newHTTPClient(cfg Config, logger *slog.Logger) (*http.Client, error) {
	tr, err := tlsconfig.Transport(cfg.Settings, logger, fmt.Sprintf("truenas source %q", cfg.Name))
	if err != nil {
		return nil, err
	}
	tr.ResponseHeaderTimeout = cfg.Timeout
	return &http.Client{Transport: tr, Timeout: cfg.Timeout}, nil
}

// peer is what both sessions know of their other end, and how long one request may take.
type peer struct {
	url     string // REST base or websocket URL
	apiName string // APIREST or APIWebsocket
	timeout time.Duration
}

func (p peer) endpoint() string { return p.url }
func (p peer) api() string      { return p.apiName }

// restConn speaks REST v2.0: GET <base>/<service path>, Bearer API key, bare JSON answers.
type restConn struct {
	peer
	client *http.Client
	key    secret.Secret
}

func (r *restConn) close() {}

// restPath maps a middleware method to its REST resource: "pool.dataset.query" ->
// "pool/dataset", "iscsi.global.config" -> "iscsi/global", "system.info" -> "system/info".
func restPath(method string) string {
	m := strings.TrimSuffix(strings.TrimSuffix(method, ".query"), ".config")
	return strings.ReplaceAll(m, ".", "/")
}

// call ignores params: REST takes filters in the query string and we query whole collections.
// pool/dataset therefore answers with children nested as well as flat; the reader dedups.
func (r *restConn) call(ctx context.Context, method string, _ []any) (json.RawMessage, error) {
	u := r.url + "/" + restPath(method)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", u, err)
	}
	req.Header.Set("Authorization", "Bearer "+r.key.Reveal())
	req.Header.Set("Accept", "application/json")
	resp, err := r.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", u, describeTransportError(err, r.timeout))
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxMessage+1))
	if err != nil {
		return nil, fmt.Errorf("GET %s: reading the answer: %w", u, describeTransportError(err, r.timeout))
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %w", u, statusError(resp.StatusCode, body))
	}
	if len(body) > maxMessage {
		return nil, fmt.Errorf("GET %s: answer larger than %d MiB", u, maxMessage>>20)
	}
	if !json.Valid(body) {
		return nil, fmt.Errorf("GET %s: malformed JSON answer (%d bytes): %w", u, len(body), jsonProblem(body))
	}
	return body, nil
}

// statusError explains an HTTP error status; the body is quoted briefly (it is scrubbed of the
// key before it reaches any message).
func statusError(code int, body []byte) error {
	hint := ""
	switch code {
	case http.StatusUnauthorized:
		hint = " (API key rejected: check api_key, and that it was not revoked)"
	case http.StatusForbidden:
		hint = " (the API key's user lacks the rights for this call)"
	case http.StatusNotFound:
		hint = " (no such endpoint: REST v2.0 is gone from TrueNAS 26, use api: websocket)"
	}
	snippet := strings.TrimSpace(string(body))
	if len(snippet) > 200 {
		snippet = snippet[:200] + "..."
	}
	if snippet != "" {
		snippet = ": " + snippet
	}
	return fmt.Errorf("HTTP %d %s%s%s", code, http.StatusText(code), hint, snippet)
}

func jsonProblem(body []byte) error {
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		return err
	}
	return errors.New("invalid JSON")
}

// describeTransportError names timeouts and TLS failures plainly, keeping the cause wrapped.
func describeTransportError(err error, timeout time.Duration) error {
	var netErr net.Error
	switch {
	case tlsconfig.Untrusted(err):
		return fmt.Errorf("TLS certificate not trusted (set ca_file, or insecure_skip_verify: true): %w", err)
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &netErr) && netErr.Timeout():
		return fmt.Errorf("no answer within the timeout of %s: %w", timeout, err)
	case strings.Contains(err.Error(), "tls:") || strings.Contains(err.Error(), "x509:"):
		return fmt.Errorf("TLS handshake failed: %w", err)
	}
	return err
}

// wsConn speaks JSON-RPC 2.0 over the websocket at /api/current, one call at a time.
type wsConn struct {
	peer
	c      *websocket.Conn
	nextID atomic.Int64
}

func (w *wsConn) close() { _ = w.c.Close(websocket.StatusNormalClosure, "") }

// dialWebsocket opens the websocket and logs in with the API key.
func dialWebsocket(ctx context.Context, u string, client *http.Client, cfg Config) (*wsConn, error) {
	dctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	c, resp, err := websocket.Dial(dctx, u, &websocket.DialOptions{HTTPClient: client})
	if err != nil {
		if resp != nil {
			switch resp.StatusCode {
			case http.StatusNotFound, http.StatusMethodNotAllowed, http.StatusBadRequest:
				return nil, fmt.Errorf("%s: websocket handshake answered HTTP %d %s: %w",
					u, resp.StatusCode, http.StatusText(resp.StatusCode), errEndpointMissing)
			}
			return nil, fmt.Errorf("%s: websocket handshake answered HTTP %d %s", u, resp.StatusCode, http.StatusText(resp.StatusCode))
		}
		return nil, fmt.Errorf("%s: %w", u, describeTransportError(err, cfg.Timeout))
	}
	c.SetReadLimit(maxMessage)
	w := &wsConn{peer: peer{url: u, apiName: APIWebsocket, timeout: cfg.Timeout}, c: c}
	if err := w.login(ctx, cfg); err != nil {
		w.close()
		return nil, fmt.Errorf("%s: %w", u, err)
	}
	return w, nil
}

func (w *wsConn) login(ctx context.Context, cfg Config) error {
	if cfg.Username == "" {
		res, err := w.call(ctx, "auth.login_with_api_key", []any{cfg.APIKey.Reveal()})
		var rpcErr *rpcCallError
		if errors.As(err, &rpcErr) && rpcErr.Code == codeMethodNotFound {
			return fmt.Errorf("login: this release has no auth.login_with_api_key: set username (the API key's owner) to log in with auth.login_ex: %w", err)
		}
		if err != nil {
			return fmt.Errorf("login: %w", err)
		}
		var ok bool
		if err := json.Unmarshal(res, &ok); err != nil || !ok {
			return fmt.Errorf("login refused: auth.login_with_api_key answered %s (check api_key, and that it was not revoked)", strings.TrimSpace(string(res)))
		}
		return nil
	}
	res, err := w.call(ctx, "auth.login_ex", []any{map[string]any{
		"mechanism": "API_KEY_PLAIN", "username": cfg.Username, "api_key": cfg.APIKey.Reveal()}})
	if err != nil {
		return fmt.Errorf("login: %w", err)
	}
	var ans struct {
		ResponseType string `json:"response_type"`
	}
	if err := json.Unmarshal(res, &ans); err != nil {
		return fmt.Errorf("login: unexpected answer to auth.login_ex: %w", err)
	}
	if ans.ResponseType != "SUCCESS" {
		return fmt.Errorf("login refused: auth.login_ex answered response_type %q (check api_key and username %q)", ans.ResponseType, cfg.Username)
	}
	return nil
}

type rpcAnswer struct {
	ID     json.RawMessage `json:"id"`
	Method string          `json:"method"`
	Result json.RawMessage `json:"result"`
	Error  *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
		Data    struct {
			Reason  string `json:"reason"`
			Errname string `json:"errname"`
		} `json:"data"`
	} `json:"error"`
}

func (w *wsConn) call(ctx context.Context, method string, params []any) (json.RawMessage, error) {
	ctx, cancel := context.WithTimeout(ctx, w.timeout)
	defer cancel()
	if params == nil {
		params = []any{}
	}
	id := w.nextID.Add(1)
	req, err := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": id, "method": method, "params": params})
	if err != nil {
		return nil, fmt.Errorf("%s: encoding the request: %w", method, err)
	}
	if err := w.c.Write(ctx, websocket.MessageText, req); err != nil {
		return nil, fmt.Errorf("%s: sending: %w", method, describeWSError(ctx, err, w.timeout))
	}
	want := fmt.Sprint(id)
	for {
		_, msg, err := w.c.Read(ctx)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", method, describeWSError(ctx, err, w.timeout))
		}
		var ans rpcAnswer
		if err := json.Unmarshal(msg, &ans); err != nil {
			return nil, fmt.Errorf("%s: malformed JSON answer (%d bytes): %w", method, len(msg), err)
		}
		if len(ans.ID) == 0 || string(ans.ID) == "null" {
			if ans.Method != "" {
				continue // a notification (collection_update, ...): not ours
			}
			if ans.Error != nil {
				return nil, fmt.Errorf("%s: JSON-RPC error %d %s", method, ans.Error.Code, ans.Error.Message)
			}
			continue
		}
		if string(ans.ID) != want {
			continue // an answer to an earlier, abandoned call
		}
		if ans.Error != nil {
			return nil, &rpcCallError{Method: method, Code: ans.Error.Code, Message: ans.Error.Message, Reason: ans.Error.Data.Reason}
		}
		if len(ans.Result) == 0 {
			return nil, fmt.Errorf("%s: answer has neither result nor error", method)
		}
		return ans.Result, nil
	}
}

// codeMethodNotFound is JSON-RPC's "Method not found".
const codeMethodNotFound = -32601

// rpcCallError is a JSON-RPC error answer; Reason is the middleware's error.data.reason.
type rpcCallError struct {
	Method  string
	Code    int
	Message string
	Reason  string
}

func (e *rpcCallError) Error() string {
	reason := e.Reason
	if reason == "" {
		reason = e.Message
	}
	return fmt.Sprintf("%s: JSON-RPC error %d (%s): %s", e.Method, e.Code, e.Message, reason)
}

func describeWSError(ctx context.Context, err error, timeout time.Duration) error {
	if ctx.Err() != nil {
		return fmt.Errorf("no answer within the timeout of %s: %w", timeout, err)
	}
	if s := websocket.CloseStatus(err); s != -1 {
		return fmt.Errorf("the server closed the websocket (%d): %w", s, err)
	}
	return describeTransportError(err, timeout)
}
