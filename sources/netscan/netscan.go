package netscan

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/netip"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/Ullaakut/nmap/v3"

	"github.com/netbox-agent/netbox-agent/sources"
)

// AdapterName is the adapter type of this package.
const AdapterName = "netscan"

// ScanRequest is one scan as the scan_subnet tool asks for it; empty fields take the config's
// (targets, profile, ports).
type ScanRequest struct {
	Targets []string `json:"targets"`
	Profile Profile  `json:"profile,omitempty"`
	Ports   []string `json:"ports,omitempty"`
}

// runner runs nmap once with opts, writing XML to xmlPath. *nmap.Scanner does not satisfy the
// library's own ScanRunner, and tests substitute a fake, so the seam is ours.
type runner interface {
	Run(ctx context.Context, xmlPath string, opts ...nmap.Option) (*nmap.Run, []string, error)
}

// libRunner runs the real nmap through the library. It writes XML to a file rather than using
// the library's Progress or Streamer: both race on the library's internal buffers (seen with
// -race), while a file can be polled for <taskprogress> safely.
type libRunner struct{}

func (libRunner) Run(ctx context.Context, xmlPath string, opts ...nmap.Option) (*nmap.Run, []string, error) {
	sc, err := nmap.NewScanner(ctx, opts...)
	if err != nil {
		return nil, nil, err
	}
	sc.ToFile(xmlPath)
	run, warnings, err := sc.Run()
	var w []string
	if warnings != nil {
		w = *warnings
	}
	return run, w, err
}

// Source is a configured netscan instance.
type Source struct {
	cfg        Config
	allowed    []netip.Prefix
	privileged bool
	log        *slog.Logger
	runner     runner
	now        func() time.Time
}

// New checks cfg (after SetDefaults) and returns the source.
func New(cfg Config, logger *slog.Logger) (*Source, error) {
	if err := sources.Configure(&cfg); err != nil {
		return nil, fmt.Errorf("netscan %q: invalid config: %w", cfg.Name, err)
	}
	allowed, _ := parseAllowed(cfg.AllowedNetworks)
	s := &Source{
		cfg:     cfg,
		allowed: allowed,
		log:     sources.AdapterLogger(logger, cfg.Name, AdapterName),
		runner:  libRunner{},
		now:     time.Now,
	}
	switch cfg.Privileged {
	case PrivilegeTrue:
		s.privileged = true
	case PrivilegeFalse:
		s.privileged = false
	default:
		s.privileged = detectPrivileged()
	}
	return s, nil
}

// Name is the instance name.
func (s *Source) Name() string { return s.cfg.Name }

// Adapter is "netscan".
func (s *Source) Adapter() string { return AdapterName }

// EnumeratesMachines: records may describe one machine twice; they join like two sources' (sync/identity.go).
func (s *Source) EnumeratesMachines() bool { return false }

// Privileged reports whether scans use raw sockets (ARP, SYN scan, OS detection).
func (s *Source) Privileged() bool { return s.privileged }

// Config returns the effective config (defaults applied).
func (s *Source) Config() Config { return s.cfg }

// Check verifies that nmap can be run.
func (s *Source) Check(ctx context.Context) error {
	path, err := s.nmapPath()
	if err != nil {
		return err
	}
	out, err := exec.CommandContext(ctx, path, "--version").CombinedOutput()
	if err != nil {
		return fmt.Errorf("netscan %q: running %s --version: %w", s.cfg.Name, path, err)
	}
	if !strings.Contains(string(out), "Nmap version") {
		return fmt.Errorf("netscan %q: %s does not look like nmap", s.cfg.Name, path)
	}
	return nil
}

func (s *Source) nmapPath() (string, error) {
	if s.cfg.NmapPath != "" {
		if _, err := os.Stat(s.cfg.NmapPath); err != nil {
			return "", fmt.Errorf("netscan %q: nmap_path %q: %w", s.cfg.Name, s.cfg.NmapPath, errors.Join(err, nmap.ErrNmapNotInstalled))
		}
		return s.cfg.NmapPath, nil
	}
	p, err := exec.LookPath("nmap")
	if err != nil {
		return "", fmt.Errorf("netscan %q: nmap is not installed (not in PATH; install the nmap package or set nmap_path): %w", s.cfg.Name, nmap.ErrNmapNotInstalled)
	}
	return p, nil
}

// Discover scans the configured targets with the configured profile.
func (s *Source) Discover(ctx context.Context, progress sources.Progress) (sources.Result, error) {
	if len(s.cfg.Targets) == 0 {
		return sources.Result{}, fmt.Errorf("netscan %q: no targets configured", s.cfg.Name)
	}
	return s.Scan(ctx, ScanRequest{Targets: s.cfg.Targets}, progress)
}

// Scan runs one scan; it is what the scan_subnet tool calls. Targets outside allowed_networks,
// more than max_hosts addresses, or anything that is not an address, CIDR or range is refused
// before nmap starts. Cancelling ctx stops nmap.
func (s *Source) Scan(ctx context.Context, req ScanRequest, progress sources.Progress) (sources.Result, error) {
	targets := req.Targets
	if len(targets) == 0 {
		targets = s.cfg.Targets
	}
	set, err := ParseTargets(targets, s.allowed, s.cfg.MaxHosts)
	if err != nil {
		return sources.Result{}, fmt.Errorf("netscan %q: %w", s.cfg.Name, err)
	}
	profile := s.cfg.Profile
	if req.Profile != "" {
		if profile, err = ParseProfile(string(req.Profile)); err != nil {
			return sources.Result{}, fmt.Errorf("netscan %q: profile: %w", s.cfg.Name, err)
		}
	}
	portsIn := s.cfg.Ports
	if len(req.Ports) > 0 {
		portsIn = req.Ports
	}
	ports, err := PortList(portsIn)
	if err != nil {
		return sources.Result{}, fmt.Errorf("netscan %q: ports: %w", s.cfg.Name, err)
	}
	if profile == ProfileOS && !s.privileged {
		return sources.Result{}, fmt.Errorf("netscan %q: profile os needs root or CAP_NET_RAW (OS detection uses raw packets): %w", s.cfg.Name, nmap.ErrRequiresRoot)
	}
	path, err := s.nmapPath()
	if err != nil {
		return sources.Result{}, err
	}

	opts := []nmap.Option{
		nmap.WithBinaryPath(path),
		nmap.WithTargets(set.Args()...),
		nmap.WithStatsEvery("500ms"),
	}
	if set.IPv6 {
		opts = append(opts, nmap.WithIPv6Scanning())
	}
	if s.privileged {
		opts = append(opts, nmap.WithPrivileged())
	} else {
		opts = append(opts, nmap.WithUnprivileged())
	}
	if s.cfg.HostTimeout > 0 {
		opts = append(opts, nmap.WithHostTimeout(s.cfg.HostTimeout))
	}
	if s.cfg.ReverseDNS != nil && !*s.cfg.ReverseDNS {
		opts = append(opts, nmap.WithDisabledDNSResolution())
	}
	switch profile {
	case ProfilePing:
		opts = append(opts, nmap.WithPingScan())
	case ProfilePorts:
		opts = append(opts, nmap.WithPorts(ports))
	case ProfileServices:
		opts = append(opts, nmap.WithPorts(ports), nmap.WithServiceInfo())
	case ProfileOS:
		opts = append(opts, nmap.WithPorts(ports), nmap.WithServiceInfo(), nmap.WithOSDetection())
	}

	scanCtx := ctx
	if s.cfg.Timeout > 0 {
		var cancel context.CancelFunc
		scanCtx, cancel = context.WithTimeout(ctx, s.cfg.Timeout)
		defer cancel()
	}

	tmp, err := os.CreateTemp("", "netscan-*.xml")
	if err != nil {
		return sources.Result{}, fmt.Errorf("netscan %q: temporary file for nmap XML: %w", s.cfg.Name, err)
	}
	xmlPath := tmp.Name()
	_ = tmp.Close()
	defer os.Remove(xmlPath)

	s.log.InfoContext(ctx, "scan starting", "targets", set.Args(), "addresses", set.Count, "profile", profile, "privileged", s.privileged)
	progress.Report(0, set.Count, fmt.Sprintf("nmap %s scan of %d addresses", profile, set.Count))
	stopProgress := watchProgress(scanCtx, xmlPath, set.Count, progress)
	started := s.now()
	run, warnings, err := s.runner.Run(scanCtx, xmlPath, opts...)
	stopProgress()
	if err != nil {
		return sources.Result{}, s.scanError(ctx, err, profile, path, warnings)
	}
	res := s.Convert(run)
	for _, w := range warnings {
		if w = strings.TrimSpace(w); w != "" {
			res.Warnings = append(res.Warnings, sources.Warning{Item: "nmap", Message: w})
		}
	}
	progress.Report(set.Count, set.Count, fmt.Sprintf("nmap done: %d hosts up", len(res.Observations)))
	s.log.InfoContext(ctx, "scan done", "hosts_up", len(res.Observations), "elapsed", s.now().Sub(started).Round(time.Millisecond))
	return res, nil
}

// scanError turns the library's errors into ones a person can act on.
func (s *Source) scanError(ctx context.Context, err error, profile Profile, path string, warnings []string) error {
	name := s.cfg.Name
	switch {
	case errors.Is(err, nmap.ErrNmapNotInstalled), errors.Is(err, fs.ErrNotExist), errors.Is(err, exec.ErrNotFound):
		return fmt.Errorf("netscan %q: nmap not found at %q (install the nmap package or set nmap_path): %w", name, path, nmap.ErrNmapNotInstalled)
	case errors.Is(err, nmap.ErrRequiresRoot):
		return fmt.Errorf("netscan %q: profile %s needs root or CAP_NET_RAW: %w", name, profile, err)
	case ctx.Err() != nil && errors.Is(ctx.Err(), context.Canceled):
		return fmt.Errorf("netscan %q: scan cancelled, nmap stopped: %w", name, ctx.Err())
	case ctx.Err() != nil && errors.Is(ctx.Err(), context.DeadlineExceeded):
		return fmt.Errorf("netscan %q: scan stopped at the caller's deadline: %w", name, errors.Join(ctx.Err(), nmap.ErrScanTimeout))
	case errors.Is(err, nmap.ErrScanTimeout):
		return fmt.Errorf("netscan %q: scan timed out after %s (config timeout): %w", name, s.cfg.Timeout, err)
	case errors.Is(err, nmap.ErrScanInterrupt):
		return fmt.Errorf("netscan %q: nmap was interrupted: %w", name, err)
	}
	if len(warnings) > 0 {
		return fmt.Errorf("netscan %q: nmap failed: %w (nmap said: %s)", name, err, strings.Join(lastN(warnings, 3), "; "))
	}
	return fmt.Errorf("netscan %q: nmap failed: %w", name, err)
}

func lastN(s []string, n int) []string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// Convert turns an nmap run into observations: one KindHost per host that is up.
func (s *Source) Convert(run *nmap.Run) sources.Result {
	var res sources.Result
	if run == nil {
		return res
	}
	seenAt := s.now().UTC()
	res.Observations = make([]sources.Observation, 0, len(run.Hosts))
	seen := make(map[string]bool, len(run.Hosts))
	for i := range run.Hosts {
		obs, ok, warn := s.hostObservation(&run.Hosts[i], seenAt)
		// Overlapping targets make nmap report a host twice; the first report stands.
		if ok && seen[obs.NativeID] {
			continue
		}
		seen[obs.NativeID] = true
		if warn != "" {
			res.Warnings = append(res.Warnings, sources.Warning{Item: hostItem(&run.Hosts[i]), Message: warn})
		}
		if ok {
			res.Observations = append(res.Observations, obs)
		}
	}
	return res
}

func hostItem(h *nmap.Host) string {
	for _, a := range h.Addresses {
		if a.AddrType != "mac" {
			return a.Addr
		}
	}
	return "host"
}

func (s *Source) hostObservation(h *nmap.Host, seenAt time.Time) (sources.Observation, bool, string) {
	if h.Status.State != "up" {
		return sources.Observation{}, false, ""
	}
	obs := sources.Observation{
		Source:  s.cfg.Name,
		Adapter: AdapterName,
		Kind:    sources.KindHost,
		SeenAt:  seenAt,
		Facts:   sources.Facts{Status: "active"},
	}
	var ifc sources.Interface
	var primary netip.Addr
	var problems []string
	for _, a := range h.Addresses {
		switch a.AddrType {
		case "ipv4", "ipv6":
			ip, err := sources.ParseIP(a.Addr)
			if err != nil {
				problems = append(problems, err.Error())
				continue
			}
			ifc.IPs = append(ifc.IPs, netip.PrefixFrom(ip, ip.BitLen()))
			if !primary.IsValid() || (ip.Is4() && !primary.Is4()) {
				primary = ip
			}
		case "mac":
			m, err := sources.ParseMAC(a.Addr)
			if err != nil {
				problems = append(problems, err.Error())
				continue
			}
			ifc.MAC = m
			if a.Vendor != "" {
				setAttr(&obs.Facts, "netscan.mac_vendor", a.Vendor)
			}
		}
	}
	if !primary.IsValid() {
		return sources.Observation{}, false, "no usable IP address: " + strings.Join(problems, "; ")
	}
	obs.NativeID = s.cfg.Name + "/" + primary.String()
	obs.Interfaces = []sources.Interface{ifc}

	// PTR names beat names the user typed as targets; nmap lists both.
	var userName string
	for _, hn := range h.Hostnames {
		short, fqdn := sources.SplitFQDN(hn.Name)
		if short == "" {
			continue
		}
		if hn.Type == "PTR" && obs.Name == "" {
			obs.Name = short
			obs.Keys.FQDN = fqdn
		} else if userName == "" {
			userName = short
		}
	}
	if obs.Name == "" {
		obs.Name = userName
	}

	for _, p := range h.Ports {
		if p.State.State != "open" {
			continue
		}
		svc := sources.Service{
			Name:     serviceName(p.Service.Name, p.Service.Tunnel),
			Protocol: p.Protocol,
			Ports:    []int{int(p.ID)},
		}
		if svc.Name == "" {
			svc.Name = p.Protocol + "/" + strconv.Itoa(int(p.ID))
		}
		svc.Description = strings.TrimSpace(strings.Join(nonEmpty(p.Service.Product, p.Service.Version, p.Service.ExtraInfo), " "))
		obs.Services = append(obs.Services, svc)
	}

	if best, ok := bestOSMatch(h.OS.Matches); ok {
		obs.Facts.OS = best.Name
		setAttr(&obs.Facts, "netscan.os_accuracy", strconv.Itoa(best.Accuracy))
	}
	obs.Normalize()
	return obs, true, ""
}

func bestOSMatch(ms []nmap.OSMatch) (nmap.OSMatch, bool) {
	var best nmap.OSMatch
	found := false
	for _, m := range ms {
		if m.Name != "" && (!found || m.Accuracy > best.Accuracy) {
			best, found = m, true
		}
	}
	return best, found
}

func setAttr(f *sources.Facts, k, v string) {
	if f.Attributes == nil {
		f.Attributes = map[string]string{}
	}
	f.Attributes[k] = v
}

func nonEmpty(ss ...string) []string {
	out := ss[:0:0]
	for _, s := range ss {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// tlsServiceNames are the names people (and IANA) give a service nmap reports as its plain
// protocol wrapped in TLS (tunnel="ssl").
var tlsServiceNames = map[string]string{
	"http": "https", "imap": "imaps", "pop3": "pop3s", "ldap": "ldaps", "smtp": "smtps", "ftp": "ftps",
	"telnet": "telnets", "irc": "ircs", "nntp": "nntps", "sip": "sips", "xmpp-client": "xmpps-client",
	"http-proxy": "https-proxy", "http-alt": "https-alt", "mqtt": "secure-mqtt", "rtsp": "rtsps",
}

// serviceName names a service as people do: 443/tcp that nmap reports as "http" with
// tunnel="ssl" is "https", "imap" over TLS is "imaps". Other tunnelled services are named as
// nmap prints them ("ssl/unknown"), never as the plain protocol.
func serviceName(name, tunnel string) string {
	name = strings.TrimSpace(name)
	if tunnel != "ssl" || name == "" {
		return name
	}
	if n, ok := tlsServiceNames[name]; ok {
		return n
	}
	return "ssl/" + name
}
