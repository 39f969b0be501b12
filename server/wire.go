package server

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	mcpserver "github.com/mark3labs/mcp-go/server"
)

// mcp-go queues notifications on a channel that another goroutine writes out, so a tool's
// result can overtake its own progress and log notifications (the client then rejects them:
// "unknown progress token"), and over HTTP a notification dequeued just as the result is
// written is dropped. The server therefore counts the notifications it queues and the ones
// the transport has written (a counting writer under stdio's stdout and under each HTTP
// response of a session), and a tool returns only once its notifications are on the wire.

// wireCounter counts the notifications of one stream of messages: queued by our tools and
// written by the transport.
type wireCounter struct {
	mu        sync.Mutex
	queued    int64
	written   int64
	lastWrite time.Time
	changed   chan struct{} // closed and replaced whenever written grows
}

func newWireCounter() *wireCounter { return &wireCounter{changed: make(chan struct{})} }

func (c *wireCounter) queuedOne() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.queued++
	return c.queued
}

func (c *wireCounter) wrote(n int) {
	if n == 0 {
		return
	}
	c.mu.Lock()
	c.written += int64(n)
	c.lastWrite = time.Now()
	close(c.changed)
	c.changed = make(chan struct{})
	c.mu.Unlock()
}

// waitWritten waits until every notification queued so far is written, ctx ends or limit
// passes; it reports whether they all went out.
func (c *wireCounter) waitWritten(ctx context.Context, limit time.Duration) bool {
	c.mu.Lock()
	target := c.queued
	c.mu.Unlock()
	deadline := time.NewTimer(limit)
	defer deadline.Stop()
	for {
		c.mu.Lock()
		done, changed := c.written >= target, c.changed
		c.mu.Unlock()
		if done {
			return true
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return false
		case <-deadline.C:
			return false
		}
	}
}

// Only the notifications our tools send are counted (a JSON string value cannot contain
// these bytes unescaped, so message text never matches).
var (
	progressMarker = []byte(`"method":"notifications/progress"`)
	logMarker      = []byte(`"method":"notifications/message"`)
)

func countNotifications(p []byte) int {
	return bytes.Count(p, progressMarker) + bytes.Count(p, logMarker)
}

// countingWriter counts the notifications written through it (stdio's stdout).
type countingWriter struct {
	w io.Writer
	c *wireCounter
}

func (cw countingWriter) Write(p []byte) (int, error) {
	n, err := cw.w.Write(p)
	if err == nil {
		cw.c.wrote(countNotifications(p))
	}
	return n, err
}

// countingResponseWriter counts the notifications an HTTP response (an SSE stream) carries.
type countingResponseWriter struct {
	http.ResponseWriter
	c *wireCounter
}

func (w countingResponseWriter) Write(p []byte) (int, error) {
	return countingWriter{w.ResponseWriter, w.c}.Write(p)
}

func (w countingResponseWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (w countingResponseWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

type wireKey struct{}

func withWire(ctx context.Context, c *wireCounter) context.Context {
	return context.WithValue(ctx, wireKey{}, c)
}

func wireFrom(ctx context.Context) *wireCounter {
	c, _ := ctx.Value(wireKey{}).(*wireCounter)
	return c
}

// notifyWait bounds how long a result waits for its notifications (a client that stopped
// reading its stream must not hold the result forever).
const notifyWait = 2 * time.Second

// progressInterval spaces progress notifications: at most 4 a second.
const progressInterval = 260 * time.Millisecond

// resultGap separates a call's last notification from its result on the wire. Being
// written first is not enough: the TypeScript SDK (1.32) handles a notification in a
// microtask but a response at once, so a notification read in the same chunk as the result
// finds its progress token already gone ("unknown progress token"). A short gap puts them in
// different reads.
const resultGap = 15 * time.Millisecond

// callState is the per-call notification state the tool middleware puts in the context.
type callState struct {
	mu       sync.Mutex
	lastSent time.Time
	last     float64 // the last progress value sent; values only increase
	sent     int
	notified atomic.Bool // any notification of this call was queued
}

func newCallState() *callState { return &callState{last: -1} }

type callKey struct{}

func callFrom(ctx context.Context) *callState {
	c, _ := ctx.Value(callKey{}).(*callState)
	return c
}

// notify queues a notification for the client and counts it when a transport counter is in
// the context.
func (s *Server) notify(ctx context.Context, method string, params map[string]any) {
	if err := s.mcp.SendNotificationToClient(ctx, method, params); err != nil {
		s.log.Debug("notification not sent", "method", method, "error", err)
		return
	}
	if c := wireFrom(ctx); c != nil {
		c.queuedOne()
	}
	if st := callFrom(ctx); st != nil {
		st.notified.Store(true)
	}
}

// flushNotifications waits until the notifications queued so far are written.
func (s *Server) flushNotifications(ctx context.Context) {
	c := wireFrom(ctx)
	if c == nil {
		return
	}
	if !c.waitWritten(ctx, notifyWait) {
		s.log.Warn("notifications not written before the result", "waited", notifyWait)
		return
	}
	if st := callFrom(ctx); st == nil || !st.notified.Load() {
		return
	}
	c.mu.Lock()
	wait := time.Until(c.lastWrite.Add(resultGap))
	c.mu.Unlock()
	if wait > 0 {
		select {
		case <-time.After(wait):
		case <-ctx.Done():
		}
	}
}

// clientLog sends a log message to the client when its level asks for it (and to our log).
// It applies the level rules mcp-go's SendLogMessageToClient applies, so a message filtered
// out is never counted as queued.
func (s *Server) clientLog(ctx context.Context, level mcp.LoggingLevel, msg string) {
	msg = s.scrubber.Scrub(msg)
	session := mcpserver.ClientSessionFromContext(ctx)
	if session == nil || !session.Initialized() {
		return
	}
	if info := mcpserver.RequestProtocolInfoFromContext(ctx); info != nil && info.Modern {
		if info.LogLevel == "" || !level.ShouldSendTo(info.LogLevel) {
			return
		}
	} else if sl, ok := session.(mcpserver.SessionWithLogging); !ok || !level.ShouldSendTo(sl.GetLogLevel()) {
		return
	}
	s.notify(ctx, "notifications/message", map[string]any{"level": level, "logger": Name, "data": msg})
}
