package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/netbox-agent/netbox-agent/sources"
	"github.com/netbox-agent/netbox-agent/sources/truenas"
)

// The server's test binary doubles as a stand-in agent binary (NETBOX_AGENT_FAKE_AGENT=1) so
// test/mcp-clients/run.sh can be exercised with real MCP clients before cmd/netbox-agent is
// wired: same command line shape (--config FILE [--http ADDR]), fake backends.
func TestMain(m *testing.M) {
	if os.Getenv("NETBOX_AGENT_FAKE_AGENT") == "1" {
		os.Exit(fakeAgentMain(os.Args[1:]))
	}
	os.Exit(m.Run())
}

// fakeAgentConfig is the config file of the stand-in agent.
type fakeAgentConfig struct {
	MCP      Config `yaml:"mcp"`
	StateDir string `yaml:"state_dir"`
}

func fakeAgentMain(args []string) int {
	fs := flag.NewFlagSet("fake-agent", flag.ContinueOnError)
	configPath := fs.String("config", "", "config file")
	httpAddr := fs.String("http", "", "serve streamable HTTP on this address")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	logger := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	var cfg fakeAgentConfig
	if *configPath != "" {
		b, err := os.ReadFile(*configPath)
		if err != nil {
			logger.Error("config", "error", err)
			return 2
		}
		if err := yaml.Unmarshal(b, &cfg); err != nil {
			logger.Error("config", "file", *configPath, "error", err)
			return 2
		}
	}
	if tok := os.Getenv("MCP_TOKEN"); tok != "" {
		_ = cfg.MCP.AuthToken.UnmarshalText([]byte(tok))
	}
	if *httpAddr != "" {
		cfg.MCP.Listen = *httpAddr
	}
	if cfg.StateDir == "" {
		cfg.StateDir = filepath.Join(os.TempDir(), "netbox-agent-fake-state")
	}
	if err := os.MkdirAll(cfg.StateDir, 0o700); err != nil {
		logger.Error("state dir", "error", err)
		return 2
	}
	pve := &fakeSource{name: "pve", adapter: "proxmox", obs: observations("pve", "proxmox", 5, sources.KindVM)}
	ha := &fakeSource{name: "ha", adapter: "homeassistant", obs: observations("ha", "homeassistant", 2, sources.KindDevice)}
	deps := Deps{
		Logger:          logger,
		Proxmox:         []sources.Source{pve},
		HomeAssistant:   []sources.Source{ha},
		TrueNAS:         []PoolLister{fakePools{name: "nas", pools: []truenas.Pool{{Name: "tank", Status: "ONLINE", Healthy: true}}}},
		Scanner:         &fakeScanner{cancelled: make(chan error, 1)},
		AllSources:      []sources.Source{pve, ha},
		Sync:            &storedSyncer{fakeSyncer: &fakeSyncer{actions: 4, conflicts: 1}, dir: cfg.StateDir},
		EffectiveConfig: func() any { return cfg },
		Version:         "fake",
	}
	srv, err := New(cfg.MCP, deps, nil)
	if err != nil {
		logger.Error("server", "error", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if cfg.MCP.Listen != "" {
		err = srv.ListenAndServe(ctx, func(a net.Addr) { logger.Info("listening", "addr", a.String()) })
	} else {
		err = srv.ServeStdio(ctx, os.Stdin, os.Stdout)
	}
	if err != nil {
		logger.Error("serve", "error", err)
		return 1
	}
	return 0
}

// storedSyncer keeps plans in a directory so a later process (a new stdio session) can apply
// them: what a real deployment does with sync.SavePlan.
type storedSyncer struct {
	*fakeSyncer
	dir string
}

func (s *storedSyncer) Preview(ctx context.Context, req PreviewRequest, progress sources.Progress) (*Plan, error) {
	p, err := s.fakeSyncer.Preview(ctx, req, progress)
	if err != nil {
		return nil, err
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	p.ID = "plan-" + hex.EncodeToString(b)
	data, err := json.Marshal(p)
	if err != nil {
		return nil, err
	}
	return p, os.WriteFile(filepath.Join(s.dir, p.ID+".json"), data, 0o600)
}

// LatestPlan is the newest plan file, so a new process finds "the latest plan".
func (s *storedSyncer) LatestPlan(ctx context.Context) (*Plan, error) {
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return nil, err
	}
	var newest string
	var at time.Time
	for _, e := range entries {
		info, err := e.Info()
		if err != nil || !strings.HasSuffix(e.Name(), ".json") {
			continue
		}
		if newest == "" || info.ModTime().After(at) {
			newest, at = strings.TrimSuffix(e.Name(), ".json"), info.ModTime()
		}
	}
	if newest == "" {
		return nil, fmt.Errorf("no plan in %s: %w", s.dir, fs.ErrNotExist)
	}
	return s.LoadPlan(ctx, newest)
}

func (s *storedSyncer) LoadPlan(_ context.Context, id string) (*Plan, error) {
	if strings.ContainsAny(id, `/\.`) {
		return nil, fmt.Errorf("plan id %q: %w", id, fs.ErrNotExist)
	}
	data, err := os.ReadFile(filepath.Join(s.dir, id+".json"))
	if err != nil {
		return nil, err
	}
	var p Plan
	return &p, json.Unmarshal(data, &p)
}

// TestRealClients drives the stand-in agent with the MCP Inspector CLI and the conformance
// suite through test/mcp-clients/run.sh (needs `npm ci` in test/mcp-clients).
func TestRealClients(t *testing.T) {
	if testing.Short() {
		t.Skip("real MCP clients take a while")
	}
	root, err := filepath.Abs(filepath.Join("..", "test", "mcp-clients"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "node_modules", ".bin", "mcp-inspector")); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("node_modules missing in test/mcp-clients: CI runs `npm ci` there, the real-client checks must not be skipped")
		}
		t.Skip("node_modules missing: run `npm ci` in test/mcp-clients")
	}
	dir := t.TempDir()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "netbox-agent")
	script := fmt.Sprintf("#!/bin/sh\nNETBOX_AGENT_FAKE_AGENT=1 exec %q \"$@\"\n", self)
	if err := os.WriteFile(bin, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "agent.yaml")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf("state_dir: %s\nmcp:\n  writes_enabled: true\n  allow_unauthenticated_loopback: true\n", filepath.Join(dir, "state"))), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", filepath.Join(root, "run.sh"), bin, cfg)
	out, err := cmd.CombinedOutput()
	if err != nil {
		var ee *exec.ExitError
		errors.As(err, &ee)
		t.Fatalf("run.sh failed: %v\n%s", err, out)
	}
	for _, want := range []string{"stdio: tools/list ok", "stdio: budgets: ok", "http: apply_sync ok", "conformance prompts-list: ok", "conformance resources-list: ok", "conformance dns-rebinding-protection: ok"} {
		if !strings.Contains(string(out), want) {
			t.Fatalf("run.sh output lacks %q:\n%s", want, out)
		}
	}
	t.Logf("%s", out)
}
