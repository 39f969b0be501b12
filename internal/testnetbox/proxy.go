package testnetbox

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/netbox-agent/netbox-agent/netbox/netboxtest"
)

// proxy stands between the agent and a real NetBox: it logs every request (so tests count
// writes in both tiers) and injects the same faults the simulator does, which is how the
// reliability rows "NetBox drops or delays connections" run against a real server.
type proxy struct {
	url    string
	up     string
	faults []netboxtest.FaultFunc
	hc     *http.Client
	srv    *http.Server
	ln     net.Listener

	// inflight counts requests being handled, until NetBox has answered them: a killed
	// agent's last request is still worked on by NetBox after the agent is gone.
	inflight atomic.Int64

	mu     sync.Mutex
	log    []Request
	counts map[string]int
}

func startProxy(upstream string, faults []netboxtest.FaultFunc) (*proxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("proxy: listen: %w", err)
	}
	p := &proxy{url: "http://" + ln.Addr().String(), up: upstream, faults: faults, ln: ln, counts: map[string]int{},
		// No client timeout: NetBox's answer is awaited even when the agent gave up (see
		// forward).
		hc: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16, IdleConnTimeout: 30 * time.Second},
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	p.srv = &http.Server{Handler: p, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = p.srv.Serve(ln) }()
	return p, nil
}

func (p *proxy) close() {
	_ = p.srv.Close()
	p.hc.CloseIdleConnections()
}

func (p *proxy) requests() []Request {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Request(nil), p.log...)
}

func (p *proxy) resetLog() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.log, p.counts = nil, map[string]int{}
}

// fault counts the request (per method and path, as netboxtest.FaultFunc expects) and asks
// the hooks what happens to it.
func (p *proxy) fault(r *http.Request) netboxtest.Fault {
	p.mu.Lock()
	key := r.Method + " " + r.URL.Path
	p.counts[key]++
	n := p.counts[key]
	p.mu.Unlock()
	for _, f := range p.faults {
		if ft := f(r, n); ft.Kind != netboxtest.FaultNone {
			return ft
		}
	}
	return netboxtest.Fault{}
}

func (p *proxy) record(r *http.Request, status int, kind netboxtest.FaultKind) {
	p.recordTimed(r, status, kind, time.Time{}, 0)
}

func (p *proxy) recordTimed(r *http.Request, status int, kind netboxtest.FaultKind, start time.Time, took time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.log = append(p.log, Request{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Status: status, Fault: kind,
		Start: start, Took: took})
}

func (p *proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.inflight.Add(1)
	defer p.inflight.Add(-1)
	body, err := io.ReadAll(r.Body)
	if err != nil {
		p.record(r, 0, netboxtest.FaultNone)
		return
	}
	ft := p.fault(r)
	switch ft.Kind {
	case netboxtest.FaultSlow:
		if ft.AfterApply {
			break // NetBox works on it now; the answer waits below
		}
		select {
		case <-time.After(ft.Delay):
		case <-r.Context().Done():
			p.record(r, 0, ft.Kind)
			return
		}
	case netboxtest.FaultRateLimit, netboxtest.FaultServerError, netboxtest.FaultBadGateway, netboxtest.FaultUnavailable, netboxtest.FaultDrop:
		if ft.AfterApply {
			// NetBox does the work; the answer is lost on the way back.
			if resp, err := p.forward(r, body); err == nil {
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		}
		p.fail(w, r, ft)
		return
	}
	start := time.Now()
	resp, err := p.forward(r, body)
	took := time.Since(start)
	if err != nil {
		p.record(r, http.StatusBadGateway, netboxtest.FaultNone)
		http.Error(w, "testnetbox proxy: "+err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	for k, vs := range resp.Header {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	if ft.Kind == netboxtest.FaultSlow && ft.AfterApply {
		select {
		case <-time.After(ft.Delay):
		case <-r.Context().Done():
			_, _ = io.Copy(io.Discard, resp.Body)
			p.recordTimed(r, 0, ft.Kind, start, took)
			return
		}
	}
	// Logged before the answer goes out, so a test that got its answer sees the entry.
	p.recordTimed(r, resp.StatusCode, ft.Kind, start, took)
	w.WriteHeader(resp.StatusCode)
	_, _ = io.Copy(w, resp.Body)
}

// forward sends the request on to NetBox and waits for its answer even when the agent has
// gone (timed out, or killed): NetBox finishes a request whose client left (gunicorn does
// not notice until it writes the answer), so the proxy counts it in flight until then.
func (p *proxy) forward(r *http.Request, body []byte) (*http.Response, error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), 5*time.Minute)
	out, err := http.NewRequestWithContext(ctx, r.Method, p.up+r.URL.RequestURI(), bytes.NewReader(body))
	if err != nil {
		cancel()
		return nil, err
	}
	out.Header = r.Header.Clone()
	// NetBox builds its "next" and "url" links from Host: keep the proxy's, so paging stays
	// behind the proxy.
	out.Host = r.Host
	resp, err := p.hc.Do(out)
	if err != nil {
		cancel()
		return nil, err
	}
	resp.Body = cancelOnClose{resp.Body, cancel}
	return resp, nil
}

// cancelOnClose releases the forwarded request's context with its body.
type cancelOnClose struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (c cancelOnClose) Close() error {
	err := c.ReadCloser.Close()
	c.cancel()
	return err
}

// waitIdle waits until no request is in flight, or d has passed.
func (p *proxy) waitIdle(d time.Duration) error {
	until := time.Now().Add(d)
	for p.inflight.Load() > 0 {
		if time.Now().After(until) {
			return fmt.Errorf("testnetbox proxy: %d requests still in flight after %s", p.inflight.Load(), d)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return nil
}

func (p *proxy) fail(w http.ResponseWriter, r *http.Request, ft netboxtest.Fault) {
	status := map[netboxtest.FaultKind]int{netboxtest.FaultRateLimit: http.StatusTooManyRequests,
		netboxtest.FaultServerError: http.StatusInternalServerError, netboxtest.FaultBadGateway: http.StatusBadGateway,
		netboxtest.FaultUnavailable: http.StatusServiceUnavailable}[ft.Kind]
	if ft.Kind == netboxtest.FaultDrop {
		p.record(r, 0, ft.Kind)
		if hj, ok := w.(http.Hijacker); ok {
			if c, _, err := hj.Hijack(); err == nil {
				c.Close()
				return
			}
		}
		panic(http.ErrAbortHandler)
	}
	if ft.Kind == netboxtest.FaultRateLimit {
		secs := max(1, int(ft.RetryAfter.Round(time.Second)/time.Second))
		w.Header().Set("Retry-After", strconv.Itoa(secs))
	}
	p.record(r, status, ft.Kind)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"detail":"injected by the testnetbox proxy: %s"}`, ft.Kind)
}
