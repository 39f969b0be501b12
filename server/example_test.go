package server_test

import (
	"context"
	"log/slog"
	"net"
	"os"

	"github.com/netbox-agent/netbox-agent/internal/secret"
	"github.com/netbox-agent/netbox-agent/netbox"
	"github.com/netbox-agent/netbox-agent/server"
	"github.com/netbox-agent/netbox-agent/sources"
	"github.com/netbox-agent/netbox-agent/sources/homeassistant"
	"github.com/netbox-agent/netbox-agent/sources/inventory"
	"github.com/netbox-agent/netbox-agent/sources/netscan"
	"github.com/netbox-agent/netbox-agent/sources/proxmox"
	"github.com/netbox-agent/netbox-agent/sources/truenas"
	syncengine "github.com/netbox-agent/netbox-agent/sync"
)

// How cmd/netbox-agent wires the server: adapters built from the config, the NetBox client
// reporting to the server's metrics, the engine behind EngineSyncer. (Compiled, not run.)
func Example_wiring() {
	ctx := context.Background()
	logger := slog.New(slog.NewJSONHandler(os.Stderr, nil)) // stderr: stdout is the protocol
	var (
		cfg         server.Config // the config file's mcp section, MCP_TOKEN from the environment
		nbCfg       netbox.Config
		pveCfg      proxmox.Config
		nasCfg      truenas.Config
		haCfg       homeassistant.Config
		invCfg      inventory.Config
		scanCfg     netscan.Config
		syncCfg     syncengine.Config
		redacted    any    // the effective config; secret.Secret fields print as [redacted]
		planDir     string // e.g. $STATE_DIRECTORY/plans
		httpAddr    string // --http
		credentials []secret.Secret
	)

	cfg.Listen = httpAddr // set before New: Validate refuses a non-loopback address without a token
	metrics := server.NewMetrics()
	nb, _ := netbox.New(nbCfg, logger, netbox.WithObserver(metrics.ObserveNetBoxRequest))
	pve, _ := proxmox.New(pveCfg, logger)
	nas, _ := truenas.New(nasCfg, logger)
	ha, _ := homeassistant.New(haCfg, logger)
	inv, _ := inventory.New(invCfg, logger)
	scan, _ := netscan.New(scanCfg, logger)
	all := []sources.Source{pve, nas, ha, inv, scan}

	syncer, _ := server.NewEngineSyncer(server.EngineSyncerConfig{
		Engine:  syncengine.NewEngine(syncengine.FromClient(nb), syncCfg, logger),
		Sources: all, Merge: syncengine.DefaultMergeConfig(), PlanDir: planDir, Metrics: metrics, Logger: logger,
	})
	var invPaths []string
	for _, f := range invCfg.Files {
		invPaths = append(invPaths, f.Path)
	}
	invPaths = append(invPaths, invCfg.ReadDirs...)

	srv, err := server.New(cfg, server.Deps{
		Logger:          logger,
		Proxmox:         []sources.Source{pve},
		HomeAssistant:   []sources.Source{ha},
		TrueNAS:         []server.PoolLister{nas},
		Scanner:         scan,
		Inventory:       inv,
		InventoryPaths:  invPaths,
		AllSources:      all,
		Sync:            syncer,
		Ready:           server.Readiness(func(ctx context.Context) error { _, _, err := syncengine.FromClient(nb).Version(ctx); return err }, len(all)),
		EffectiveConfig: func() any { return redacted },
		Secrets:         credentials,
		Version:         "v1.0.0",
	}, metrics)
	if err != nil {
		logger.Error("mcp server", "error", err)
		return
	}
	if httpAddr != "" {
		_ = srv.ListenAndServe(ctx, func(a net.Addr) { logger.Info("listening", "addr", a.String()) })
		return
	}
	_ = srv.ServeStdio(ctx, os.Stdin, os.Stdout)
}
