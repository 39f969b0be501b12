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
	"path/filepath"
	"syscall"
	"time"

	"github.com/netbox-agent/netbox-agent/test/lab"
)

var version = "dev"

// ReadyFile appears in the lab dir once the simulators serve.
const ReadyFile = "ready"

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("netbox-lab", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("dir", "", "lab directory for the config, inventory CSV, CA files and agent state (default: a new temporary directory, removed on exit)")
	vms := fs.Int("vms", 0, "extra synthetic VMs and containers spread over the 3 Proxmox nodes (benchmarks)")
	nb := fs.String("netbox", "4.3", "NetBox version to simulate: 4.3 or 4.7")
	printConfig := fs.Bool("print-config", false, "print the agent config on stdout after the summary")
	debug := fs.Bool("debug", false, "log every NetBox request")
	showVersion := fs.Bool("version", false, "print the version and exit")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: netbox-lab [flags]\n\nRuns simulators of NetBox, Proxmox VE, TrueNAS and Home Assistant on 127.0.0.1 with a\nsample homelab and writes a netbox-agent config for them. Stops on SIGINT/SIGTERM.\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "netbox-lab: unexpected arguments %q\n", fs.Args())
		return 2
	}
	if *showVersion {
		fmt.Fprintln(stdout, "netbox-lab", version)
		return 0
	}
	level := slog.LevelInfo
	if *debug {
		level = slog.LevelDebug
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	started := time.Now()
	l, err := lab.Start(ctx, lab.Options{Dir: *dir, VMs: *vms, NetBoxProfile: *nb, Logger: logger})
	if err != nil {
		fmt.Fprintf(stderr, "netbox-lab: %v\n", err)
		return 1
	}
	ready := filepath.Join(l.Dir(), ReadyFile)
	defer func() {
		_ = os.Remove(ready)
		if err := l.Close(); err != nil {
			logger.Error("close", "err", err)
		}
		logger.Info("lab stopped")
	}()
	logger.Info("lab ready", "took", time.Since(started).Round(time.Millisecond))

	fmt.Fprintln(stdout, l.ConfigPath())
	fmt.Fprint(stdout, l.Summary())
	fmt.Fprintf(stdout, "try: netbox-agent --config %s --run-once\n", l.ConfigPath())
	if *printConfig {
		fmt.Fprintf(stdout, "--- %s\n%s", l.ConfigPath(), l.Config())
	}
	if f, ok := stdout.(*os.File); ok {
		_ = f.Sync()
	}
	if err := os.WriteFile(ready, []byte(l.ConfigPath()+"\n"), 0o644); err != nil {
		fmt.Fprintf(stderr, "netbox-lab: %v\n", err)
		return 1
	}

	<-ctx.Done()
	logger.Info("stopping")
	return 0
}
