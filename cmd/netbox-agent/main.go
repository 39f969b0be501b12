package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	gosync "sync"
	"syscall"

	"github.com/netbox-agent/netbox-agent/internal/logging"
	"github.com/netbox-agent/netbox-agent/internal/secret"
)

// version is set at build time: -ldflags "-X main.version=v1.2.3".
var version = "dev"

// Exit codes: 0 all good; 2 finished with per-object or per-source failures; 1 could not run.
const (
	exitOK      = 0
	exitFailure = 1
	exitPartial = 2
)

type options struct {
	configPath  string
	httpAddr    string
	runOnce     bool
	dryRun      bool
	planOut     string
	applyPlan   string
	checkConfig bool
	output      string
	logFormat   string
	logLevel    string
	showVersion bool
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr, environMap(os.Environ()))
	stop()
	os.Exit(code)
}

func parseFlags(args []string, stderr io.Writer, environ map[string]string) (options, error) {
	var o options
	fs := flag.NewFlagSet("netbox-agent", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.configPath, "config", environ["NETBOX_AGENT_CONFIG"], "config file (YAML); default $NETBOX_AGENT_CONFIG")
	fs.StringVar(&o.httpAddr, "http", "", "serve MCP over streamable HTTP at ADDR (/mcp, /healthz, /readyz, /metrics)")
	fs.BoolVar(&o.runOnce, "run-once", false, "discover, plan and apply once, then exit")
	fs.BoolVar(&o.dryRun, "dry-run", false, "with --run-once: plan only, write nothing")
	fs.StringVar(&o.planOut, "plan-out", "", "with --run-once: save the plan to this file")
	fs.StringVar(&o.applyPlan, "apply-plan", "", "apply a plan saved with --plan-out, then exit")
	fs.BoolVar(&o.checkConfig, "check-config", false, "validate the config and exit")
	fs.StringVar(&o.output, "output", "table", "run report format: table or json")
	fs.StringVar(&o.logFormat, "log-format", "", "log format: auto, text or json (overrides the config)")
	fs.StringVar(&o.logLevel, "log-level", "", "log level: debug, info, warn, error (overrides the config)")
	fs.BoolVar(&o.showVersion, "version", false, "print the version and exit")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	modes := 0
	for _, on := range []bool{o.httpAddr != "", o.runOnce, o.applyPlan != "", o.checkConfig} {
		if on {
			modes++
		}
	}
	switch {
	case modes > 1:
		return o, errors.New("--http, --run-once, --apply-plan and --check-config are separate modes: give one")
	case (o.dryRun || o.planOut != "") && !o.runOnce:
		return o, errors.New("--dry-run and --plan-out go with --run-once")
	case o.output != "table" && o.output != "json":
		return o, fmt.Errorf("--output %q: want table or json", o.output)
	}
	return o, nil
}

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, environ map[string]string) int {
	// Logs and progress lines share stderr from several goroutines: one write at a time.
	stderr = &lockedWriter{w: stderr, tty: logging.IsTerminal(stderr)}
	o, err := parseFlags(args, stderr, environ)
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if err != nil {
		fmt.Fprintln(stderr, "netbox-agent:", err)
		return exitFailure
	}
	if o.showVersion {
		fmt.Fprintln(stdout, "netbox-agent", version)
		return exitOK
	}
	if o.configPath == "" {
		fmt.Fprintln(stderr, "netbox-agent: no config: give --config FILE or set NETBOX_AGENT_CONFIG")
		return exitFailure
	}
	cfg, err := loadConfig(o.configPath, environ)
	if err != nil {
		// Config errors never carry a secret's value: validation names fields, not contents.
		var es ConfigErrors
		if errors.As(err, &es) {
			fmt.Fprintf(stderr, "netbox-agent: %d problem(s) in the config:\n", len(es))
			for _, e := range es {
				fmt.Fprintln(stderr, "  "+e.Error())
			}
		} else {
			fmt.Fprintln(stderr, "netbox-agent:", err)
		}
		return exitFailure
	}
	if o.httpAddr != "" {
		// --http decides where to listen; the token rules apply to that address.
		cfg.MCP.Listen = o.httpAddr
		if errs := cfg.MCP.Validate(); len(errs) > 0 {
			for _, e := range errs {
				fmt.Fprintf(stderr, "netbox-agent: --http %s: mcp.%v\n", o.httpAddr, e)
			}
			return exitFailure
		}
	}
	if o.logFormat != "" {
		cfg.Log.Format = o.logFormat
	}
	if o.logLevel != "" {
		cfg.Log.Level = o.logLevel
	}
	if errs := cfg.Log.Validate(); len(errs) > 0 {
		fmt.Fprintln(stderr, "netbox-agent:", errors.Join(errs...))
		return exitFailure
	}
	logger := logging.New(cfg.Log, stderr, secret.NewScrubber(cfg.secrets()...))
	if o.checkConfig {
		fmt.Fprintf(stdout, "config %s is valid\n", o.configPath)
		return exitOK
	}
	return runMode(ctx, o, cfg, logger, environ, stdin, stdout, stderr)
}

// runMode starts the chosen mode.
func runMode(ctx context.Context, o options, cfg *Config, logger *slog.Logger, environ map[string]string, stdin io.Reader, stdout, stderr io.Writer) int {
	setMemoryLimit(environ)
	cfg.Sync.CacheFile, cfg.Sync.CacheKey = snapshotCache(stateDir(cfg, environ), cfg)
	if o.runOnce || o.applyPlan != "" {
		a, err := buildAgent(cfg, logger)
		if err != nil {
			fmt.Fprintln(stderr, "netbox-agent:", err)
			return exitFailure
		}
		if o.runOnce {
			return runOnce(ctx, o, a, stdout, stderr)
		}
		return runApplyPlan(ctx, o, a, stdout, stderr)
	}
	code, err := serve(ctx, o, cfg, logger, environ, stdin, stdout)
	if err != nil {
		logger.Error("server stopped", "error", err)
		fmt.Fprintln(stderr, "netbox-agent:", err)
	}
	return code
}

// lockedWriter serialises writes so log records and progress lines never interleave.
type lockedWriter struct {
	mu  gosync.Mutex
	w   io.Writer
	tty bool
}

// IsTerminal tells the logger and the progress printer what lies beneath.
func (l *lockedWriter) IsTerminal() bool { return l.tty }

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
