package netbox

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	gonetbox "github.com/netbox-community/go-netbox/v4"
	"golang.org/x/time/rate"

	"github.com/netbox-agent/netbox-agent/internal/secret"
	"github.com/netbox-agent/netbox-agent/internal/tlsconfig"
)

// Observer is told about every HTTP request sent to NetBox: method, URL path without query
// (ids included for single-object paths), status (0 when no answer came) and duration. The
// server uses it for metrics; it must be fast and safe for concurrent use.
type Observer func(method, path string, status int, d time.Duration)

// Option tunes a Client beyond its Config.
type Option func(*options)

type options struct {
	observer    Observer
	backoffBase time.Duration
	backoffMax  time.Duration
	maxWait     time.Duration
}

// WithObserver sets the hook called after every request.
func WithObserver(o Observer) Option { return func(op *options) { op.observer = o } }

// WithBackoff sets the first retry delay and the cap (default 250ms and 10s). Delays double
// per attempt with full jitter; a Retry-After from the server wins when it is longer.
func WithBackoff(base, maxDelay time.Duration) Option {
	return func(op *options) { op.backoffBase, op.backoffMax = base, maxDelay }
}

// WithMaxRetryAfter caps how long a Retry-After is honoured (default 60s).
func WithMaxRetryAfter(d time.Duration) Option { return func(op *options) { op.maxWait = d } }

// Client talks to one NetBox. It is safe for concurrent use.
type Client struct {
	cfg     Config
	opts    options
	logger  *slog.Logger
	base    *url.URL // scheme://host[/prefix], no trailing slash
	http    *http.Client
	nb      *gonetbox.APIClient
	scrub   *secret.Scrubber
	limiter *rate.Limiter
	sem     chan struct{}

	mu     sync.Mutex
	status *Status
}

// Status is what /api/status/ says about the server.
type Status struct {
	Version      string // e.g. "4.3.7"
	Major, Minor int
	Raw          map[string]any
}

// AtLeast reports whether the server is version major.minor or newer.
func (s Status) AtLeast(major, minor int) bool {
	return s.Major > major || (s.Major == major && s.Minor >= minor)
}

// New builds a client. It sends nothing; call Status to check the connection and token.
func New(cfg Config, logger *slog.Logger, opts ...Option) (*Client, error) {
	cfg.SetDefaults()
	if errs := cfg.Validate(); len(errs) > 0 {
		return nil, fmt.Errorf("netbox config: %w", errors.Join(errs...))
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	o := options{backoffBase: 250 * time.Millisecond, backoffMax: 10 * time.Second, maxWait: 60 * time.Second}
	for _, opt := range opts {
		opt(&o)
	}
	base, _ := url.Parse(cfg.URL)
	base.Path = strings.TrimSuffix(strings.TrimRight(base.Path, "/"), "/api")
	base.RawPath = ""

	tr, err := tlsconfig.Transport(cfg.Settings, logger, "netbox")
	if err != nil {
		return nil, fmt.Errorf("netbox config: %w", err)
	}
	tr.MaxIdleConnsPerHost = cfg.MaxInFlight * 2
	if base.Scheme == "http" && !isLoopback(base.Hostname()) {
		logger.Warn("netbox: the URL is plain http: the token crosses the network unencrypted", "url", redactURL(cfg.URL))
	}

	limit := rate.Limit(cfg.RequestsPerSecond)
	if cfg.RequestsPerSecond < 0 {
		limit = rate.Inf
	}
	c := &Client{
		cfg:     cfg,
		opts:    o,
		logger:  logger,
		base:    base,
		scrub:   secret.NewScrubber(cfg.Token),
		limiter: rate.NewLimiter(limit, max(1, cfg.MaxInFlight)),
		sem:     make(chan struct{}, cfg.MaxInFlight),
	}
	c.http = &http.Client{
		Transport: &transport{c: c, inner: tr},
		// Per-attempt contexts carry cfg.Timeout; this is the backstop.
		Timeout: cfg.Timeout + 5*time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			// A redirect (http -> https, a login page) would drop or leak the token: report it.
			return http.ErrUseLastResponse
		},
	}
	nbCfg := gonetbox.NewConfiguration()
	nbCfg.Servers = gonetbox.ServerConfigurations{{URL: base.String()}}
	nbCfg.HTTPClient = c.http
	nbCfg.UserAgent = "netbox-agent"
	c.nb = gonetbox.NewAPIClient(nbCfg)
	return c, nil
}

// authHeader picks the scheme from the token's form: v2 tokens (nbt_<key>.<secret>, NetBox
// 4.5+) go as Bearer, v1 tokens as Token.
func (c *Client) authHeader() string {
	tok := c.cfg.Token.Reveal()
	if strings.HasPrefix(tok, "nbt_") {
		return "Bearer " + tok
	}
	return "Token " + tok
}

// transport adds the token, the rate limit, the in-flight bound and the observer to every
// request, go-netbox's included. The in-flight slot is held until the body is closed.
type transport struct {
	c     *Client
	inner http.RoundTripper
}

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	c := t.c
	ctx := req.Context()
	if err := c.limiter.Wait(ctx); err != nil {
		return nil, fmt.Errorf("rate limit wait: %w", err)
	}
	select {
	case c.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	req = req.Clone(ctx)
	req.Header.Set("Authorization", c.authHeader())
	if req.Header.Get("Accept") == "" {
		req.Header.Set("Accept", "application/json")
	}
	start := time.Now()
	resp, err := t.inner.RoundTrip(req)
	if err != nil {
		<-c.sem
		c.observe(req.Method, req.URL.Path, 0, time.Since(start))
		return nil, err
	}
	var once sync.Once
	resp.Body = &releasingBody{ReadCloser: resp.Body, release: func() {
		once.Do(func() {
			<-c.sem
			c.observe(req.Method, req.URL.Path, resp.StatusCode, time.Since(start))
		})
	}}
	return resp, nil
}

type releasingBody struct {
	io.ReadCloser
	release func()
}

func (b *releasingBody) Close() error {
	err := b.ReadCloser.Close()
	b.release()
	return err
}

func (c *Client) observe(method, path string, status int, d time.Duration) {
	if c.opts.observer != nil {
		c.opts.observer(method, path, status, d)
	}
}

// response is a complete answer: body read, connection released.
type response struct {
	status int
	header http.Header
	body   []byte
}

// errNoAnswer wraps the failure of a non-idempotent request whose outcome is unknown: the
// connection dropped or a gateway answered 502/503/504 after the request was sent.
type errNoAnswer struct {
	err error
	// slow: the request may still be running in NetBox (our timeout, or a proxy's 504), so a
	// lookup right away could miss what it is about to commit.
	slow bool
}

func (e *errNoAnswer) Error() string { return e.err.Error() }
func (e *errNoAnswer) Unwrap() error { return e.err }

// attempt sends a request once within ctx and returns the complete answer.
type attempt func(ctx context.Context) (*response, error)

// withRetries runs try until it gets an answer that is not worth retrying. Reads and
// idempotent writes (idempotent=true) are retried on 429, 502/503/504 and connection errors;
// other writes only on 429 (rejected before NetBox saw them), and any other failure comes back
// as *errNoAnswer. A non-2xx answer that is not retried is returned as a response, not an
// error: callers read NetBox's body.
func (c *Client) withRetries(ctx context.Context, method, path string, idempotent bool, try attempt) (*response, int, error) {
	var lastErr error
	for n := 0; ; n++ {
		actx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
		resp, err := try(actx)
		timedOut := actx.Err() == context.DeadlineExceeded
		cancel()
		var wait time.Duration
		switch {
		case err != nil:
			if ctx.Err() != nil {
				return nil, n + 1, fmt.Errorf("netbox: %s %s: %w", method, path, ctx.Err())
			}
			if timedOut {
				err = fmt.Errorf("no answer within %s (timeout): %w", c.cfg.Timeout, err)
			}
			lastErr = fmt.Errorf("netbox: %s %s: %s", method, path, c.scrub.Scrub(err.Error()))
			if !idempotent {
				return nil, n + 1, &errNoAnswer{err: lastErr, slow: timedOut}
			}
		case resp.status == http.StatusTooManyRequests:
			wait = retryAfter(resp.header, c.opts.maxWait)
			lastErr = c.apiError(method, path, resp, n+1)
		case resp.status == http.StatusBadGateway || resp.status == http.StatusServiceUnavailable || resp.status == http.StatusGatewayTimeout:
			wait = retryAfter(resp.header, c.opts.maxWait) // maintenance pages often say when to come back
			lastErr = c.apiError(method, path, resp, n+1)
			if !idempotent {
				return nil, n + 1, &errNoAnswer{err: lastErr, slow: resp.status == http.StatusGatewayTimeout}
			}
		default:
			return resp, n + 1, nil
		}
		if n >= c.cfg.Retries {
			if ae, ok := lastErr.(*APIError); ok {
				ae.Attempts = n + 1
				return nil, n + 1, ae
			}
			return nil, n + 1, fmt.Errorf("%w (gave up after %d attempts)", lastErr, n+1)
		}
		d := c.backoff(n)
		if wait > d {
			d = wait
		}
		c.logger.Debug("netbox: retrying", "method", method, "path", path, "attempt", n+1, "delay", d, "cause", lastErr)
		if err := sleep(ctx, d); err != nil {
			return nil, n + 1, fmt.Errorf("netbox: %s %s: %w (while waiting to retry after: %v)", method, path, err, lastErr)
		}
	}
}

// backoff is exponential with full jitter: uniform in [base*2^n/2, base*2^n], capped.
func (c *Client) backoff(n int) time.Duration {
	d := c.opts.backoffBase << min(n, 20)
	if d > c.opts.backoffMax || d <= 0 {
		d = c.opts.backoffMax
	}
	half := d / 2
	return half + rand.N(half+1)
}

// retryAfter reads Retry-After (seconds or an HTTP date), capped at maxWait.
func retryAfter(h http.Header, maxWait time.Duration) time.Duration {
	v := h.Get("Retry-After")
	if v == "" {
		return 0
	}
	var d time.Duration
	if secs, err := strconv.ParseFloat(v, 64); err == nil {
		d = time.Duration(secs * float64(time.Second))
	} else if t, err := http.ParseTime(v); err == nil {
		d = time.Until(t)
	}
	return max(0, min(d, maxWait))
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// apiPath gives the URL path of an endpoint's list, or of one object when id > 0.
func (c *Client) apiPath(endpoint string, id int) string {
	p := c.base.Path + "/api/" + strings.Trim(endpoint, "/") + "/"
	if id > 0 {
		p += strconv.Itoa(id) + "/"
	}
	return p
}

// do sends one request with retries. body is JSON-encoded when not nil.
func (c *Client) do(ctx context.Context, method, path string, q url.Values, body []byte, idempotent bool) (*response, error) {
	u := *c.base
	u.Path = path
	u.RawQuery = q.Encode()
	full := u.String()
	resp, _, err := c.withRetries(ctx, method, path, idempotent, func(actx context.Context) (*response, error) {
		var rd io.Reader
		if body != nil {
			rd = bytes.NewReader(body)
		}
		req, err := http.NewRequestWithContext(actx, method, full, rd)
		if err != nil {
			return nil, err
		}
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		req.Header.Set("User-Agent", "netbox-agent")
		hr, err := c.http.Do(req)
		if err != nil {
			return nil, err
		}
		defer hr.Body.Close()
		b, err := readAnswer(hr.Body, hr.ContentLength)
		if err != nil {
			return nil, fmt.Errorf("reading answer (status %d): %w", hr.StatusCode, err)
		}
		return &response{status: hr.StatusCode, header: hr.Header, body: b}, nil
	})
	return resp, err
}

// apiError builds the error for a non-success answer.
func (c *Client) apiError(method, path string, resp *response, attempts int) *APIError {
	detail, fields := parseErrorBody(resp.body)
	e := &APIError{
		StatusCode: resp.status,
		Method:     method,
		Path:       path,
		Detail:     c.scrub.Scrub(detail),
		Fields:     fields,
		Index:      -1,
		RequestID:  resp.header.Get("X-Request-ID"),
		Attempts:   attempts,
	}
	for k, msgs := range e.Fields {
		for i := range msgs {
			msgs[i] = c.scrub.Scrub(msgs[i])
		}
		e.Fields[k] = msgs
	}
	if resp.status >= 300 && resp.status < 400 {
		e.Detail = "redirected to " + redactURL(resp.header.Get("Location")) + " (set url to the final address)"
	}
	return e
}

// Status reads /api/status/ (through go-netbox: its answer is a free-form map, so strict
// decoding cannot break on newer servers), records the version, and checks that the token
// scheme suits it. NetBox checks a token that is sent on every path, /api/status/ included,
// so a refused token shows here as ErrForbidden.
func (c *Client) Status(ctx context.Context) (Status, error) {
	path := c.base.Path + "/api/status/"
	var raw map[string]any
	resp, _, err := c.withRetries(ctx, http.MethodGet, path, true, func(actx context.Context) (*response, error) {
		m, hr, err := c.nb.StatusAPI.StatusRetrieve(actx).Execute()
		if hr == nil {
			if err == nil {
				err = errors.New("no answer")
			}
			return nil, err
		}
		body, _ := io.ReadAll(hr.Body)
		raw = m
		return &response{status: hr.StatusCode, header: hr.Header, body: body}, nil
	})
	if err != nil {
		return Status{}, err
	}
	if resp.status != http.StatusOK {
		return Status{}, c.apiError(http.MethodGet, path, resp, 1)
	}
	if raw == nil {
		return Status{}, fmt.Errorf("netbox: GET %s: the answer is not a status object (is %s a NetBox?)", path, redactURL(c.cfg.URL))
	}
	st := Status{Raw: raw}
	st.Version, _ = raw["netbox-version"].(string)
	if st.Version == "" {
		return Status{}, fmt.Errorf("netbox: GET %s: no netbox-version in the answer (is %s a NetBox?)", path, redactURL(c.cfg.URL))
	}
	st.Major, st.Minor = parseVersion(st.Version)
	if st.Major < 4 {
		return Status{}, fmt.Errorf("netbox: version %s is not supported (4.3 or newer needed)", st.Version)
	}
	if strings.HasPrefix(c.cfg.Token.Reveal(), "nbt_") && !st.AtLeast(4, 5) {
		return Status{}, fmt.Errorf("netbox: the token is a v2 token (nbt_...), which NetBox %s does not know (v2 tokens need 4.5+); use a v1 token", st.Version)
	}
	c.mu.Lock()
	c.status = &st
	c.mu.Unlock()
	c.logger.Debug("netbox: connected", "url", redactURL(c.cfg.URL), "version", st.Version)
	return st, nil
}

// knownStatus returns the recorded status, asking the server the first time.
func (c *Client) knownStatus(ctx context.Context) (Status, error) {
	c.mu.Lock()
	st := c.status
	c.mu.Unlock()
	if st != nil {
		return *st, nil
	}
	return c.Status(ctx)
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func parseVersion(v string) (major, minor int) {
	v = strings.TrimPrefix(strings.TrimSpace(v), "v")
	parts := strings.SplitN(v, ".", 3)
	if len(parts) >= 1 {
		major, _ = strconv.Atoi(leadingDigits(parts[0]))
	}
	if len(parts) >= 2 {
		minor, _ = strconv.Atoi(leadingDigits(parts[1]))
	}
	return major, minor
}

func leadingDigits(s string) string {
	for i, r := range s {
		if r < '0' || r > '9' {
			return s[:i]
		}
	}
	return s
}

// readAnswer reads a whole answer into a buffer of the announced length (bulk answers are
// megabytes: io.ReadAll would grow and copy its buffer a dozen times), or as io.ReadAll does
// when the length is unknown or implausible.
func readAnswer(r io.Reader, length int64) ([]byte, error) {
	if length <= 0 || length > 1<<30 {
		return io.ReadAll(r)
	}
	b := make([]byte, 0, length+1) // +1: the read that meets EOF needs no new buffer
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return b, err
		}
	}
}
