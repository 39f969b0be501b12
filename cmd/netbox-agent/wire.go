package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/debug"

	"github.com/netbox-agent/netbox-agent/netbox"
	"github.com/netbox-agent/netbox-agent/sources"
	"github.com/netbox-agent/netbox-agent/sync"
)

// agent is everything the config builds: the NetBox client, the engine and every source
// instance (sourcesOf picks one adapter's).
type agent struct {
	cfg    *Config
	log    *slog.Logger
	nb     *netbox.Client
	engine *sync.Engine

	all []sources.Source // in adapterKinds order, then config order
}

// buildAgent constructs the client and the sources. It contacts nothing: a source that is down
// fails at discovery, alone.
func buildAgent(cfg *Config, logger *slog.Logger, nbOpts ...netbox.Option) (*agent, error) {
	nb, err := netbox.New(cfg.NetBox, logger.With("component", "netbox"), nbOpts...)
	if err != nil {
		return nil, fmt.Errorf("netbox: %w", err)
	}
	a := &agent{cfg: cfg, log: logger, nb: nb}
	// Each adapter adds its own source attribute to the logger it is given.
	a.engine = sync.NewEngine(sync.FromClient(nb), cfg.Sync, logger.With("component", "sync"))
	for _, in := range cfg.Sources.instances() {
		s, err := in.build(logger)
		if err != nil {
			return nil, err
		}
		a.all = append(a.all, s)
	}
	// The merge learns from each adapter whether its native ids are distinct machines.
	cfg.Merge = cfg.Merge.WithSources(a.all)
	return a, nil
}

// netboxUp checks that NetBox answers and its version is known.
func (a *agent) netboxUp(ctx context.Context) error {
	_, _, err := sync.FromClient(a.nb).Version(ctx)
	return err
}

// stateDir is where plans are kept: the config's state_dir, else systemd's $STATE_DIRECTORY,
// else ~/.local/state/netbox-agent. "" keeps plans in memory only.
func stateDir(cfg *Config, environ map[string]string) string {
	if cfg.StateDir != "" {
		return cfg.StateDir
	}
	if d := environ["STATE_DIRECTORY"]; d != "" {
		return filepath.SplitList(d)[0]
	}
	if d := environ["XDG_STATE_HOME"]; d != "" {
		return filepath.Join(d, "netbox-agent")
	}
	if home, err := os.UserHomeDir(); err == nil {
		return filepath.Join(home, ".local", "state", "netbox-agent")
	}
	return ""
}

// snapshotCache is the file where the engine keeps its copy of NetBox between runs (so a
// --run-once reads only what changed since the last one) and the key naming the NetBox it
// belongs to: one file per NetBox URL and instance, in the state directory.
func snapshotCache(state string, cfg *Config) (file, key string) {
	key = cfg.NetBox.URL + "|" + cfg.Sync.Instance
	if state == "" {
		return "", key
	}
	sum := sha256.Sum256([]byte(key))
	return filepath.Join(state, "cache", "snapshot-"+hex.EncodeToString(sum[:6])+".json"), key
}

// defaultMemoryLimit is a soft heap limit for the process when GOMEMLIMIT is not set: a full
// sync of a large estate stays near it instead of growing to twice the live heap.
const defaultMemoryLimit = 192 << 20

func setMemoryLimit(environ map[string]string) {
	if _, set := environ["GOMEMLIMIT"]; !set {
		debug.SetMemoryLimit(defaultMemoryLimit)
	}
}
