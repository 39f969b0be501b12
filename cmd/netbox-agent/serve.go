package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	gosync "sync"
	"time"

	"github.com/netbox-agent/netbox-agent/internal/schedule"
	"github.com/netbox-agent/netbox-agent/netbox"
	"github.com/netbox-agent/netbox-agent/server"
)

// discoveryTTL is how long a discovery is reused by the MCP tools: long enough for one turn
// of a conversation (discover, then preview), short enough that a change made meanwhile
// shows in the next preview.
const discoveryTTL = 15 * time.Second

// mcpServer wires the MCP server: every configured adapter behind its tools, the engine behind
// preview_sync/apply_sync, the NetBox client reporting to the server's metrics.
func mcpServer(cfg *Config, a *agent, metrics *server.Metrics, plansDir string, ready func(func(context.Context) error) func(context.Context) error) (*server.Server, *server.EngineSyncer, error) {
	// One discovery cache for the previews and the discover_* tools: concurrent previews of
	// one estate share a discovery, and a preview right after a discovery reuses it.
	discovery := server.NewDiscoveryCache(discoveryTTL)
	syncer, err := server.NewEngineSyncer(server.EngineSyncerConfig{
		Engine: a.engine, Sources: a.all, Merge: cfg.Merge, PlanDir: plansDir, AgentVersion: version,
		Discovery: discovery, Metrics: metrics, Logger: a.log.With("component", "sync"),
	})
	if err != nil {
		return nil, nil, err
	}
	deps := server.Deps{
		Logger:     a.log.With("component", "mcp"),
		AllSources: a.all,
		Sync:       syncer,
		Discovery:  discovery,
		Ready:      server.Readiness(a.netboxUp, len(a.all)),
		// The config with every secret.Secret marshalled as [redacted].
		EffectiveConfig: func() any { return cfg },
		Secrets:         cfg.secrets(),
		Version:         version,
	}
	cfg.Sources.serve(&deps, a.all)
	if ready != nil {
		deps.Ready = ready(deps.Ready)
	}
	srv, err := server.New(cfg.MCP, deps, metrics)
	return srv, syncer, err
}

func plansDir(state string) string {
	if state == "" {
		return ""
	}
	return filepath.Join(state, "plans")
}

// serve runs the MCP server over stdio (stdout carries protocol only) or HTTP.
func serve(ctx context.Context, o options, cfg *Config, logger *slog.Logger, environ map[string]string, stdin io.Reader, stdout io.Writer) (int, error) {
	metrics := server.NewMetrics()
	a, err := buildAgent(cfg, logger, netbox.WithObserver(metrics.ObserveNetBoxRequest))
	if err != nil {
		return exitFailure, err
	}
	// The scheduler (HTTP mode, schedule.enabled) and the server refer to each other: runs
	// are recorded by the server, /readyz reports the runs.
	var (
		sched  *schedule.Scheduler
		runner schedule.Runner
	)
	withSchedule := func(base func(context.Context) error) func(context.Context) error { return base }
	if o.httpAddr != "" && cfg.Schedule.Enabled {
		names := make([]string, len(a.all))
		for i, s := range a.all {
			names[i] = s.Name()
		}
		sched, err = schedule.New(cfg.Schedule, names, func(ctx context.Context, r schedule.Run) schedule.Outcome { return runner(ctx, r) },
			logger.With("component", "schedule"))
		if err != nil {
			return exitFailure, fmt.Errorf("schedule: %w", err)
		}
		withSchedule = func(base func(context.Context) error) func(context.Context) error {
			return scheduleReadiness(base, sched)
		}
	} else if cfg.Schedule.Enabled {
		logger.Info("schedule.enabled applies to the HTTP mode (--http); not scheduling here")
	}
	ops := newOpsMetrics(metrics.Registry(), cfg.Schedule)
	srv, syncer, err := mcpServer(cfg, a, metrics, plansDir(stateDir(cfg, environ)),
		func(base func(context.Context) error) func(context.Context) error {
			r := withSchedule(base)
			ops.setReady(r)
			return r
		})
	if err != nil {
		return exitFailure, fmt.Errorf("mcp server: %w", err)
	}
	if o.httpAddr == "" {
		if err := srv.ServeStdio(ctx, stdin, stdout); err != nil && ctx.Err() == nil {
			return exitFailure, fmt.Errorf("stdio: %w", err)
		}
		return exitOK, nil
	}
	var bg gosync.WaitGroup
	if sched != nil {
		runner = ops.wrap(scheduledRunner(cfg.Schedule, syncer, srv, ops, logger.With("component", "schedule")))
		sctx, stop := context.WithCancel(ctx)
		defer func() { stop(); bg.Wait() }()
		watchInventories(sctx, a, sched)
		bg.Add(1)
		go func() {
			defer bg.Done()
			if err := sched.Run(sctx); err != nil && sctx.Err() == nil {
				logger.Error("schedule stopped", "error", err)
			}
		}()
	}
	err = srv.ListenAndServe(ctx, func(addr net.Addr) {
		a.log.Info("serving MCP over HTTP", "url", "http://"+addr.String()+"/mcp", "health", "/healthz", "ready", "/readyz", "metrics", "/metrics")
	})
	if err != nil && ctx.Err() == nil {
		return exitFailure, fmt.Errorf("http: %w", err)
	}
	return exitOK, nil
}
