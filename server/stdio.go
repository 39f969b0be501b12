package server

import (
	"context"
	"errors"
	"io"
	"log"
	"log/slog"
	"time"

	mcpserver "github.com/mark3labs/mcp-go/server"
)

// ServeStdio serves MCP on in/out (the process's stdin and stdout) until ctx ends or in is
// closed. Only protocol goes to out: every log line goes to the logger (stderr). On the way
// out a running apply gets the grace period, then is cancelled.
func (s *Server) ServeStdio(ctx context.Context, in io.Reader, out io.Writer) error {
	stdio := mcpserver.NewStdioServer(s.mcp)
	stdio.SetErrorLogger(slogErrorLog(s.log))
	// The protocol loop outlives ctx by up to the grace period, so a running apply can
	// finish and its reply reach the client; after that it is cancelled.
	listenCtx, stopListening := context.WithCancel(context.WithoutCancel(ctx))
	defer stopListening()
	// Tool calls run under listenCtx: they find the counter of what reached stdout there.
	wire := newWireCounter()
	out = countingWriter{w: out, c: wire}
	listenCtx = withWire(listenCtx, wire)
	go func() {
		select {
		case <-ctx.Done():
		case <-listenCtx.Done():
			return
		}
		if !s.waitApplies(s.cfg.ShutdownGrace) {
			s.log.Warn("shutdown grace over: cancelling the running apply")
			s.stopNow()
			s.waitApplies(5 * time.Second)
		}
		time.Sleep(50 * time.Millisecond) // let the last reply be written
		stopListening()
	}()
	err := stdio.Listen(listenCtx, in, out)
	s.Close()
	if err != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, io.EOF) {
		return err
	}
	return nil
}

// slogErrorLog adapts the logger for APIs that want a *log.Logger.
func slogErrorLog(l *slog.Logger) *log.Logger {
	return slog.NewLogLogger(l.Handler(), slog.LevelWarn)
}
