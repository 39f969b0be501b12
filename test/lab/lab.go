package lab

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/netbox-agent/netbox-agent/netbox/netboxtest"
	"github.com/netbox-agent/netbox-agent/sources/homeassistant/homeassistanttest"
	"github.com/netbox-agent/netbox-agent/sources/proxmox/proxmoxtest"
	"github.com/netbox-agent/netbox-agent/sources/truenas/truenastest"
)

// Options say what to start.
type Options struct {
	// Dir receives netbox-agent.yaml, the inventory CSV, CA files and the agent's state_dir.
	// Empty: a new temporary directory, removed by Close.
	Dir string
	// VMs adds that many synthetic guests (three quarters QEMU, a quarter LXC, some templates)
	// spread over the three nodes, for benchmarks; 0 serves the sample only.
	VMs int
	// NetBoxProfile is the NetBox version simulated: "4.3" (default) or "4.7".
	NetBoxProfile string
	// Logger receives the lab's own messages and the NetBox simulator's request log (debug).
	Logger *slog.Logger
}

// Service is one running simulator.
type Service struct {
	Name    string // source instance name in the config ("netbox" for NetBox)
	Product string // "NetBox 4.3", "Proxmox VE 8.2.4", ...
	URL     string
}

// Lab is a running set of simulators.
type Lab struct {
	dir     string
	ownDir  bool
	log     *slog.Logger
	netbox  *netboxtest.Server
	pve     *proxmoxtest.Server
	nas     *truenastest.Server
	ha      *homeassistanttest.Server
	pveTok  proxmoxtest.Token
	nasKey  string
	haToken string
	vms     int
	// templates counts template guests served (the agent skips them by default).
	templates int
	exp       Expected

	// netboxDown makes every NetBox request fail with 500 (FailSource("netbox", true)).
	netboxDown atomic.Bool

	closeOnce sync.Once
	closeErr  error
}

// Config file and directory names inside Dir.
const (
	ConfigFile    = "netbox-agent.yaml"
	InventoryFile = "inventory.csv"
	HostsFile     = "hosts"
	LeasesFile    = "dnsmasq.leases"
	StateDir      = "state"
	caDir         = "ca"
)

// Start starts the simulators and writes the config. The NetBox simulator loads NetBox's
// OpenAPI spec from the Go module cache (1-5 s the first time in a process).
func Start(ctx context.Context, opts Options) (_ *Lab, err error) {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var profile netboxtest.Profile
	switch opts.NetBoxProfile {
	case "", "4.3":
		profile = netboxtest.Profile43
	case "4.7":
		profile = netboxtest.Profile47
	default:
		return nil, fmt.Errorf("lab: netbox profile %q: want 4.3 or 4.7", opts.NetBoxProfile)
	}
	if opts.VMs < 0 || opts.VMs > maxVMs {
		return nil, fmt.Errorf("lab: vms %d: want 0 to %d", opts.VMs, maxVMs)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("lab: %w", err)
	}

	l := &Lab{dir: opts.Dir, log: log, vms: opts.VMs}
	if l.dir == "" {
		d, err := os.MkdirTemp("", "netbox-lab-")
		if err != nil {
			return nil, fmt.Errorf("lab: temp dir: %w", err)
		}
		l.dir, l.ownDir = d, true
	} else {
		abs, err := filepath.Abs(l.dir)
		if err != nil {
			return nil, fmt.Errorf("lab: dir %q: %w", l.dir, err)
		}
		if err := os.MkdirAll(abs, 0o755); err != nil {
			return nil, fmt.Errorf("lab: dir: %w", err)
		}
		l.dir = abs
	}
	defer func() {
		if err != nil {
			_ = l.Close()
		}
	}()

	// NetBox's spec takes seconds to load: start it while the others start.
	type nbResult struct {
		srv *netboxtest.Server
		err error
	}
	nbc := make(chan nbResult, 1)
	go func() {
		srv, err := netboxtest.Start(netboxtest.WithProfile(profile), netboxtest.WithLogger(log),
			netboxtest.WithFaultFunc(func(*http.Request, int) netboxtest.Fault {
				if l.netboxDown.Load() {
					return netboxtest.Fault{Kind: netboxtest.FaultServerError}
				}
				return netboxtest.Fault{}
			}))
		nbc <- nbResult{srv, err}
	}()

	guests := append(sampleGuests(), syntheticGuests(opts.VMs)...)
	// A privilege-separated token with the PVEAuditor role, as the adapter's docs ask for.
	l.pveTok = proxmoxtest.Token{ID: "netbox-agent@pve!lab", Secret: uuid(), ACL: proxmoxtest.AuditorACL()}
	l.pve = proxmoxtest.NewTLSServer(proxmoxtest.WithCluster(ClusterName), proxmoxtest.WithTokens(l.pveTok),
		proxmoxtest.WithNodes(sampleNodes()...), proxmoxtest.WithGuests(guests...))
	l.nasKey = "1-" + randomHex(32)
	l.nas = truenastest.NewTLSServer(truenastest.WithAPIKey(l.nasKey), truenastest.WithState(sampleTrueNAS()))
	l.haToken = randomHex(32)
	l.ha = homeassistanttest.NewTLSServer(homeassistanttest.WithToken(l.haToken), homeassistanttest.WithDataset(sampleHome()))
	l.exp = expected(guests)
	for _, g := range guests {
		if g.Template {
			l.templates++
		}
	}

	nb := <-nbc
	if nb.err != nil {
		return nil, fmt.Errorf("lab: netbox simulator: %w", nb.err)
	}
	l.netbox = nb.srv
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("lab: %w", err)
	}
	if err := l.writeFiles(); err != nil {
		return nil, err
	}
	log.Info("lab started", "dir", l.dir, "netbox", l.netbox.URL, "proxmox", l.pve.URL,
		"truenas", l.nas.URL, "homeassistant", l.ha.URL, "guests", len(guests))
	return l, nil
}

// Close stops every simulator and, when Start made the directory, removes it. It is safe to
// call more than once.
func (l *Lab) Close() error {
	l.closeOnce.Do(func() {
		if l.netbox != nil {
			l.netbox.Close()
		}
		if l.pve != nil {
			l.pve.Close()
		}
		if l.nas != nil {
			l.nas.Close()
		}
		if l.ha != nil {
			l.ha.Close()
		}
		if l.ownDir {
			if err := os.RemoveAll(l.dir); err != nil {
				l.closeErr = fmt.Errorf("lab: remove %s: %w", l.dir, err)
			}
		}
	})
	return l.closeErr
}

// Dir is the lab directory.
func (l *Lab) Dir() string { return l.dir }

// ConfigPath is Dir/netbox-agent.yaml, written by Start.
func (l *Lab) ConfigPath() string { return filepath.Join(l.dir, ConfigFile) }

// InventoryPath is the inventory CSV the config points at.
func (l *Lab) InventoryPath() string { return filepath.Join(l.dir, InventoryFile) }

// HostsPath and LeasesPath are the inventory source's hosts file and dnsmasq lease file.
func (l *Lab) HostsPath() string  { return filepath.Join(l.dir, HostsFile) }
func (l *Lab) LeasesPath() string { return filepath.Join(l.dir, LeasesFile) }

// StateDir is the agent's state_dir in the config (plans and run records).
func (l *Lab) StateDir() string { return filepath.Join(l.dir, StateDir) }

// NetBoxURL is the NetBox simulator's base URL (plain HTTP on loopback).
func (l *Lab) NetBoxURL() string { return l.netbox.URL }

// NetBoxToken is the API token the NetBox simulator accepts (a lab token, not a secret of any
// real system).
func (l *Lab) NetBoxToken() string { return l.netbox.Token() }

// NetBox is the NetBox simulator, for tests to inspect what the agent wrote.
func (l *Lab) NetBox() *netboxtest.Server { return l.netbox }

// Proxmox, TrueNAS and HomeAssistant are the source simulators, for tests that change the
// world between runs (stop a guest, add a device).
func (l *Lab) Proxmox() *proxmoxtest.Server             { return l.pve }
func (l *Lab) TrueNAS() *truenastest.Server             { return l.nas }
func (l *Lab) HomeAssistant() *homeassistanttest.Server { return l.ha }

// Services lists the running simulators.
func (l *Lab) Services() []Service {
	return []Service{
		{Name: "netbox", Product: "NetBox " + l.netbox.Profile().NetBoxVersion(), URL: l.netbox.URL},
		{Name: ProxmoxSource, Product: "Proxmox VE " + proxmoxtest.DefaultVersion, URL: l.pve.URL},
		{Name: TrueNASSource, Product: l.nas.Flavour().Version(), URL: l.nas.URL},
		{Name: HomeAssistantSource, Product: "Home Assistant " + homeassistanttest.DefaultVersion, URL: l.ha.URL},
	}
}

// Expected is what the agent should create from the lab.
func (l *Lab) Expected() Expected { return l.exp.clone() }

// Summary is a short description of the lab for people.
func (l *Lab) Summary() string {
	var b strings.Builder
	fmt.Fprintf(&b, "netbox-lab in %s\n", l.dir)
	for _, s := range l.Services() {
		fmt.Fprintf(&b, "  %-14s %-26s %s\n", s.Name, s.Product, s.URL)
	}
	fmt.Fprintf(&b, "  %-14s %-26s %s\n", InventorySource, "CSV file", l.InventoryPath())
	e := l.exp
	fmt.Fprintf(&b, "sample homelab (site %s): Proxmox cluster %s with 3 nodes and %d VMs and containers (%d stopped",
		e.Site, e.Cluster, len(e.VMs), len(e.StoppedVMs))
	if l.vms > 0 {
		fmt.Fprintf(&b, ", %d of them synthetic", l.vms-l.templates+1)
	}
	fmt.Fprintf(&b, ") plus %d template(s) the agent skips;\n  TrueNAS nas01 with pools, datasets, NFS/SMB shares; Home Assistant with UniFi gear, a printer,\n  a Hue bridge and device trackers; an inventory CSV\n", l.templates)
	fmt.Fprintf(&b, "expected in NetBox: %d devices, %d virtual machines; seen by several sources: ", len(e.Devices), len(e.VMs))
	var merged []string
	for _, name := range []string{"nas01", "pve1", "pve2", "pve3", "dns01", "pihole"} {
		merged = append(merged, name+" ("+strings.Join(e.Merged[name], "+")+")")
	}
	b.WriteString(strings.Join(merged, ", "))
	b.WriteString("\n")
	return b.String()
}

// FailSource makes one simulator fail every request (fail true) or heal it (false): "netbox"
// answers 500; a source, by instance or adapter name ("pve-lab"/"proxmox", "nas"/"truenas",
// "home"/"homeassistant"), refuses its credentials as after a revoked token. Healing removes
// every fault of that simulator.
func (l *Lab) FailSource(name string, fail bool) error {
	switch name {
	case "netbox":
		l.netboxDown.Store(fail)
	case ProxmoxSource, "proxmox":
		l.pve.ClearFaults()
		if fail {
			l.pve.AddFault(proxmoxtest.Fault{Status: http.StatusUnauthorized, Message: "authentication failure"})
		}
	case TrueNASSource, "truenas":
		l.nas.ClearFaults()
		if fail {
			f := truenastest.Fault{Status: http.StatusUnauthorized, Reason: "Invalid API key"}
			for _, target := range []string{"websocket", "auth", "*"} {
				l.nas.Fail(target, f)
			}
		}
	case HomeAssistantSource, "homeassistant":
		l.ha.ClearFaults()
		if fail {
			f := homeassistanttest.Fault{Status: http.StatusUnauthorized}
			for _, target := range []string{homeassistanttest.TargetWebsocket, "/api/", "/api/config", "/api/states"} {
				l.ha.SetFault(target, f)
			}
			l.ha.SetFault(homeassistanttest.TargetAuth, homeassistanttest.Fault{AuthInvalid: true})
		}
	default:
		return fmt.Errorf("lab: no simulator %q (want netbox, %s, %s or %s)", name, ProxmoxSource, TrueNASSource, HomeAssistantSource)
	}
	l.log.Info("lab fault", "simulator", name, "failing", fail)
	return nil
}

func randomHex(n int) string {
	b := make([]byte, n/2)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func uuid() string {
	h := randomHex(32)
	return h[:8] + "-" + h[8:12] + "-4" + h[13:16] + "-a" + h[17:20] + "-" + h[20:]
}
