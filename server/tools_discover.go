package server

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/netbox-agent/netbox-agent/sources"
	"github.com/netbox-agent/netbox-agent/sources/inventory"
	"github.com/netbox-agent/netbox-agent/sources/netscan"
)

// DiscoverInput selects and pages a discovery.
type DiscoverInput struct {
	Source   string `json:"source,omitempty" jsonschema_description:"Instance name; default: every configured instance of this adapter."`
	Kind     string `json:"kind,omitempty" jsonschema:"enum=device,enum=virtual_machine,enum=host" jsonschema_description:"Only observations of this kind."`
	Name     string `json:"name,omitempty" jsonschema_description:"Only observations whose name contains this text (case-insensitive)."`
	NativeID string `json:"native_id,omitempty" jsonschema_description:"Return this one observation in full in 'detail'."`
	PageInput
}

func (in DiscoverInput) filter() observationFilter {
	return observationFilter{kind: in.Kind, name: in.Name, nativeID: in.NativeID, limit: in.Limit, offset: in.Offset}
}

// ScanInput is what scan_subnet takes.
type ScanInput struct {
	Targets []string `json:"targets" jsonschema_description:"IP addresses, CIDR prefixes (192.168.1.0/24) or ranges (192.168.1.10-20) inside the configured scan networks."`
	Profile string   `json:"profile,omitempty" jsonschema:"enum=ping,enum=ports,enum=services,enum=os" jsonschema_description:"ping: live hosts only; ports: also the port list; services: also what runs on open ports; os: also an OS guess (needs raw sockets). Default: the configured profile."`
	Ports   []string `json:"ports,omitempty" jsonschema_description:"TCP ports or port ranges (\"22\", \"8000-8100\") to probe instead of the configured list."`
	Kind    string   `json:"kind,omitempty" jsonschema:"enum=device,enum=virtual_machine,enum=host" jsonschema_description:"Only observations of this kind."`
	PageInput
}

// InventoryInput is what read_inventory takes.
type InventoryInput struct {
	Path string `json:"path,omitempty" jsonschema_description:"An inventory file inside the configured inventory files or directories (absolute, or relative to a configured directory); default: every configured file."`
	// Format's enum is inventory.Formats(), set on the tool (withEnum).
	Format   string `json:"format,omitempty" jsonschema_description:"File format; default: detected from the name and content."`
	Kind     string `json:"kind,omitempty" jsonschema:"enum=device,enum=virtual_machine,enum=host" jsonschema_description:"Only observations of this kind."`
	NativeID string `json:"native_id,omitempty" jsonschema_description:"Return this one observation in full in 'detail'."`
	PageInput
}

// PoolsInput is what list_truenas_pools takes.
type PoolsInput struct {
	Source          string `json:"source,omitempty" jsonschema_description:"TrueNAS instance name; default: every configured instance."`
	IncludeDatasets bool   `json:"include_datasets,omitempty" jsonschema_description:"Also list each pool's datasets and zvols."`
}

// PoolsOutput lists pools per TrueNAS instance.
type PoolsOutput struct {
	TotalPools int             `json:"total_pools"`
	Unhealthy  int             `json:"unhealthy"`
	Instances  []PoolsInstance `json:"instances"`
}

// PoolsInstance is the pools of one TrueNAS instance (or why they could not be read).
type PoolsInstance struct {
	Source string `json:"source"`
	Pools  []Pool `json:"pools"`
	Error  string `json:"error,omitempty"`
}

const (
	maxScanTargets = 16
	maxToolTargets = 64
)

func (s *Server) registerDiscoveryTools() {
	for _, d := range []struct {
		adapter, title, what string
		srcs                 []sources.Source
	}{
		{"proxmox", "Discover Proxmox VE", "the nodes, VMs and containers of the configured Proxmox VE clusters", s.deps.Proxmox},
		{"homeassistant", "Discover Home Assistant devices", "the devices Home Assistant knows (with their areas and network identities)", s.deps.HomeAssistant},
	} {
		if len(d.srcs) == 0 {
			continue
		}
		addTool(s, toolSpec{"discover_" + d.adapter, d.title, "Discover " + d.what + ". Writes nothing. Returns per-source counts, then a page of observations; pass native_id for one in full."}, s.discoverHandler(d.adapter, d.srcs), readOnly(true))
	}
	if len(s.deps.TrueNAS) > 0 {
		addTool(s, toolSpec{"list_truenas_pools", "List TrueNAS pools", "List the storage pools of the configured TrueNAS systems with health and capacity. Writes nothing."}, s.listPools, readOnly(true))
	}
	scannerOK := s.deps.Scanner != nil
	if scannerOK && s.deps.ScannerReady != nil {
		// A tool that can only fail (nmap missing) must not be offered: the model would
		// pick it and the person would wonder why it never works.
		if err := s.deps.ScannerReady(); err != nil {
			s.log.Warn("scan_subnet not offered: the scanner cannot run", "error", err)
			scannerOK = false
		}
	}
	if scannerOK {
		addTool(s, toolSpec{"scan_subnet", "Scan a subnet", "Scan addresses or CIDR prefixes with nmap to find live hosts, their MACs and open ports. Only targets inside the configured scan networks and size limits are accepted. Sends progress notifications; can be cancelled. Writes nothing to NetBox."}, s.scanSubnet, readOnly(true))
	}
	if s.deps.Inventory != nil && len(s.deps.InventoryPaths) > 0 {
		var formats []string
		for _, f := range inventory.Formats() {
			formats = append(formats, string(f))
		}
		addTool(s, toolSpec{"read_inventory", "Read inventory files", "Read hosts from the configured inventory files (" + strings.Join(formats, ", ") + "). Only files inside the configured inventory paths can be read."}, s.readInventory, withEnum("format", formats), readOnly(false))
	}
}

// discoverHandler runs Discover on the selected instances of one adapter.
func (s *Server) discoverHandler(adapter string, srcs []sources.Source) func(context.Context, mcp.CallToolRequest, DiscoverInput) (DiscoverOutput, error) {
	return func(ctx context.Context, req mcp.CallToolRequest, in DiscoverInput) (DiscoverOutput, error) {
		selected := srcs
		if in.Source != "" {
			i := slices.IndexFunc(srcs, func(src sources.Source) bool { return src.Name() == in.Source })
			if i < 0 {
				return DiscoverOutput{}, fmt.Errorf("source: %s is not a configured %s instance (configured: %s)", quoteArg(in.Source), adapter, strings.Join(sourceNames(srcs), ", "))
			}
			selected = srcs[i : i+1]
		}
		progress := s.progress(ctx, req, "discover "+adapter)
		var (
			runs     []SourceRun
			obs      []sources.Observation
			warnings []SourceWarning
			failed   []string
		)
		for i, src := range selected {
			inner := progress
			if len(selected) > 1 {
				inner = nil // per-source progress would restart at 0; report sources instead
			}
			run, res := s.discoverOne(ctx, src, inner)
			if len(selected) > 1 {
				progress.Report(i+1, len(selected), "discovered "+src.Name())
			}
			runs = append(runs, run)
			if run.Error != "" {
				failed = append(failed, fmt.Sprintf("%s: %s", src.Name(), run.Error))
				continue
			}
			obs = append(obs, res.Observations...)
			warnings = append(warnings, sourceWarnings(src.Name(), res.Warnings)...)
		}
		if err := ctx.Err(); err != nil {
			return DiscoverOutput{}, fmt.Errorf("discovery cancelled: %w", err)
		}
		if len(failed) == len(selected) {
			return DiscoverOutput{}, fmt.Errorf("every %s source failed: %s", adapter, strings.Join(failed, "; "))
		}
		return buildDiscoverOutput(runs, obs, warnings, in.filter())
	}
}

func (s *Server) discoverOne(ctx context.Context, src sources.Source, progress sources.Progress) (SourceRun, sources.Result) {
	start := time.Now()
	res, err := s.deps.Discovery.Discover(ctx, src, progress)
	d := time.Since(start)
	s.metrics.ObserveDiscovery(src.Name(), src.Adapter(), d, res, err)
	run := SourceRun{Source: src.Name(), Adapter: src.Adapter(), DurationMS: d.Milliseconds()}
	if err != nil {
		run.Error = err.Error()
		s.log.Warn("discovery failed", "source", src.Name(), "error", err)
		return run, sources.Result{}
	}
	run.Observations, run.Warnings = len(res.Observations), len(res.Warnings)
	s.log.Info("discovered", "source", src.Name(), "observations", run.Observations, "warnings", run.Warnings, "duration", d)
	return run, res
}

func (s *Server) listPools(ctx context.Context, _ mcp.CallToolRequest, in PoolsInput) (PoolsOutput, error) {
	out := PoolsOutput{Instances: []PoolsInstance{}}
	found := false
	var failed []string
	for _, pl := range s.deps.TrueNAS {
		if in.Source != "" && pl.Name() != in.Source {
			continue
		}
		found = true
		inst := PoolsInstance{Source: pl.Name(), Pools: []Pool{}}
		pools, err := pl.Pools(ctx)
		if err != nil {
			inst.Error = err.Error()
			failed = append(failed, pl.Name()+": "+err.Error())
		} else {
			for _, tp := range pools {
				p := poolOf(tp)
				if !in.IncludeDatasets {
					p.Datasets = nil
				}
				inst.Pools = append(inst.Pools, p)
			}
			slices.SortFunc(inst.Pools, func(a, b Pool) int { return strings.Compare(a.Name, b.Name) })
		}
		for _, p := range inst.Pools {
			out.TotalPools++
			if !p.Healthy {
				out.Unhealthy++
			}
		}
		out.Instances = append(out.Instances, inst)
	}
	if !found {
		var names []string
		for _, pl := range s.deps.TrueNAS {
			names = append(names, pl.Name())
		}
		return out, fmt.Errorf("source: %s is not a configured truenas instance (configured: %s)", quoteArg(in.Source), strings.Join(names, ", "))
	}
	if len(failed) == len(out.Instances) {
		return out, fmt.Errorf("every truenas source failed: %s", strings.Join(failed, "; "))
	}
	return out, nil
}

// parseScanTargets accepts only addresses, CIDR prefixes and address ranges, written back in
// canonical form, so nothing that could be read as an nmap option or a host name reaches the
// scanner (which checks its allowlist and size limit itself).
func parseScanTargets(targets []string) ([]string, error) {
	if len(targets) == 0 {
		return nil, errors.New("targets: at least one address, CIDR prefix or range is required")
	}
	if len(targets) > maxScanTargets {
		return nil, fmt.Errorf("targets: %d given, at most %d", len(targets), maxScanTargets)
	}
	out := make([]string, 0, len(targets))
	for i, raw := range targets {
		t := strings.TrimSpace(raw)
		if p, err := netip.ParsePrefix(t); err == nil {
			out = append(out, p.Masked().String())
			continue
		}
		if a, err := netip.ParseAddr(t); err == nil && a.Zone() == "" {
			out = append(out, a.String())
			continue
		}
		if first, last, ok := strings.Cut(t, "-"); ok {
			a, err := netip.ParseAddr(first)
			if err == nil && a.Zone() == "" {
				if b, err := netip.ParseAddr(last); err == nil && b.Zone() == "" {
					out = append(out, a.String()+"-"+b.String())
					continue
				}
				if n, err := strconv.Atoi(last); err == nil && n >= 0 && n <= 255 && a.Is4() {
					out = append(out, a.String()+"-"+strconv.Itoa(n))
					continue
				}
			}
		}
		return nil, fmt.Errorf("targets[%d]: %s is not an IP address, CIDR prefix or address range", i, quoteArg(raw))
	}
	return out, nil
}

// parsePorts accepts "22" and "8000-8100" with ports in 1..65535.
func parsePorts(ports []string) ([]string, error) {
	out := make([]string, 0, len(ports))
	for i, raw := range ports {
		lo, hi, isRange := strings.Cut(strings.TrimSpace(raw), "-")
		a, errA := strconv.Atoi(lo)
		b := a
		var errB error
		if isRange {
			b, errB = strconv.Atoi(hi)
		}
		if errA != nil || errB != nil || a < 1 || b > 65535 || a > b {
			return nil, fmt.Errorf("ports[%d]: %s is not a port (1..65535) or a port range", i, quoteArg(raw))
		}
		if isRange {
			out = append(out, strconv.Itoa(a)+"-"+strconv.Itoa(b))
		} else {
			out = append(out, strconv.Itoa(a))
		}
	}
	return out, nil
}

func (s *Server) scanSubnet(ctx context.Context, req mcp.CallToolRequest, in ScanInput) (DiscoverOutput, error) {
	targets, err := parseScanTargets(in.Targets)
	if err != nil {
		return DiscoverOutput{}, err
	}
	ports, err := parsePorts(in.Ports)
	if err != nil {
		return DiscoverOutput{}, err
	}
	start := time.Now()
	s.clientLog(ctx, mcp.LoggingLevelInfo, "scanning "+strings.Join(targets, ", "))
	res, err := s.deps.Scanner.Scan(ctx, netscan.ScanRequest{Targets: targets, Profile: netscan.Profile(in.Profile), Ports: ports}, s.progress(ctx, req, "scan"))
	d := time.Since(start)
	s.metrics.ObserveDiscovery("netscan", "netscan", d, res, err)
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return DiscoverOutput{}, fmt.Errorf("scan of %s cancelled: %w", strings.Join(targets, ", "), ctxErr)
		}
		return DiscoverOutput{}, fmt.Errorf("scan of %s: %w", strings.Join(targets, ", "), err)
	}
	run := SourceRun{Source: "netscan", Adapter: "netscan", Observations: len(res.Observations), Warnings: len(res.Warnings), DurationMS: d.Milliseconds()}
	if len(res.Observations) > 0 {
		run.Source, run.Adapter = res.Observations[0].Source, res.Observations[0].Adapter
	}
	return buildDiscoverOutput([]SourceRun{run}, res.Observations, sourceWarnings(run.Source, res.Warnings),
		observationFilter{kind: in.Kind, limit: in.Limit, offset: in.Offset})
}

func (s *Server) readInventory(ctx context.Context, req mcp.CallToolRequest, in InventoryInput) (DiscoverOutput, error) {
	var files []string
	if in.Path != "" {
		f, err := resolveInventoryPath(in.Path, s.deps.InventoryPaths)
		if err != nil {
			return DiscoverOutput{}, err
		}
		files = []string{f}
	} else {
		var err error
		if files, err = listInventoryFiles(s.deps.InventoryPaths); err != nil {
			return DiscoverOutput{}, err
		}
	}
	progress := s.progress(ctx, req, "read inventory")
	var (
		runs     []SourceRun
		obs      []sources.Observation
		warnings []SourceWarning
		failed   int
	)
	for i, f := range files {
		start := time.Now()
		res, err := s.deps.Inventory.ReadFile(ctx, f, inventory.Format(in.Format))
		run := SourceRun{Source: f, Adapter: "inventory", DurationMS: time.Since(start).Milliseconds()}
		if err != nil {
			run.Error = err.Error()
			failed++
		} else {
			run.Observations, run.Warnings = len(res.Observations), len(res.Warnings)
			obs = append(obs, res.Observations...)
			warnings = append(warnings, sourceWarnings(f, res.Warnings)...)
		}
		runs = append(runs, run)
		progress.Report(i+1, len(files), "read "+filepath.Base(f))
	}
	if len(files) > 0 && failed == len(files) {
		msgs := make([]string, 0, len(runs))
		for _, r := range runs {
			msgs = append(msgs, r.Error)
		}
		return DiscoverOutput{}, fmt.Errorf("no inventory file could be read: %s", strings.Join(msgs, "; "))
	}
	out, err := buildDiscoverOutput(runs, obs, warnings, observationFilter{kind: in.Kind, nativeID: in.NativeID, limit: in.Limit, offset: in.Offset})
	out.Files = files
	return out, err
}

// resolveInventoryPath returns the real path of p when it is one of the configured inventory
// files or lies inside a configured directory (symbolic links resolved, so a link cannot lead
// out); anything else is refused.
func resolveInventoryPath(p string, allowed []string) (string, error) {
	if strings.ContainsRune(p, 0) {
		return "", fmt.Errorf("path: %s contains a NUL byte", quoteArg(p))
	}
	for _, elem := range strings.Split(filepath.ToSlash(p), "/") {
		if elem == ".." {
			return "", fmt.Errorf("path: %s: '..' is not allowed", quoteArg(p))
		}
	}
	var candidates []string
	if filepath.IsAbs(p) {
		candidates = []string{filepath.Clean(p)}
	} else {
		for _, a := range allowed {
			switch fi, err := os.Stat(a); {
			case isGlob(a):
				candidates = append(candidates, filepath.Join(filepath.Dir(a), p))
			case err == nil && fi.IsDir():
				candidates = append(candidates, filepath.Join(a, p))
			case filepath.Clean(a) == filepath.Clean(p) || filepath.Base(a) == p:
				candidates = append(candidates, a)
			}
		}
	}
	for _, c := range candidates {
		real, err := filepath.EvalSymlinks(c)
		if err != nil {
			continue
		}
		fi, err := os.Stat(real)
		if err != nil || !fi.Mode().IsRegular() {
			continue
		}
		for _, a := range allowed {
			if isGlob(a) {
				// A glob admits the files it matches, the path as given and as resolved.
				if ok, _ := filepath.Match(filepath.Clean(a), filepath.Clean(c)); ok && filepath.Clean(c) == real {
					return real, nil
				}
				if ok, _ := filepath.Match(filepath.Clean(a), real); ok {
					return real, nil
				}
				continue
			}
			ra, err := filepath.EvalSymlinks(a)
			if err != nil {
				continue
			}
			if ra == real {
				return real, nil
			}
			if rel, err := filepath.Rel(ra, real); err == nil && rel != "." && !strings.HasPrefix(rel, "..") && !filepath.IsAbs(rel) {
				if afi, err := os.Stat(ra); err == nil && afi.IsDir() {
					return real, nil
				}
			}
		}
	}
	return "", fmt.Errorf("path: %s is not a file inside the configured inventory paths (%s)", quoteArg(p), strings.Join(allowed, ", "))
}

var inventoryExts = []string{".yaml", ".yml", ".json", ".csv", ".ini", ".conf", ".leases", ".hosts"}

func isGlob(p string) bool { return strings.ContainsAny(p, "*?[") }

// listInventoryFiles returns the configured files and the inventory files directly inside the
// configured directories, sorted.
func listInventoryFiles(allowed []string) ([]string, error) {
	var files []string
	for _, a := range allowed {
		if isGlob(a) {
			matches, err := filepath.Glob(a)
			if err != nil {
				return nil, fmt.Errorf("inventory path %q: %w", a, err)
			}
			for _, m := range matches {
				if fi, err := os.Stat(m); err == nil && fi.Mode().IsRegular() {
					files = append(files, m)
				}
			}
			continue
		}
		fi, err := os.Stat(a)
		if err != nil {
			return nil, fmt.Errorf("inventory path %q: %w", a, err)
		}
		if !fi.IsDir() {
			files = append(files, a)
			continue
		}
		entries, err := os.ReadDir(a)
		if err != nil {
			return nil, fmt.Errorf("inventory path %q: %w", a, err)
		}
		for _, e := range entries {
			if e.Type().IsRegular() && slices.Contains(inventoryExts, strings.ToLower(filepath.Ext(e.Name()))) {
				files = append(files, filepath.Join(a, e.Name()))
			}
		}
	}
	slices.Sort(files)
	files = slices.Compact(files)
	if len(files) > maxToolTargets {
		return nil, fmt.Errorf("inventory paths hold %d files, more than %d: pass path to read one", len(files), maxToolTargets)
	}
	return files, nil
}

func sourceWarnings(source string, ws []sources.Warning) []SourceWarning {
	out := make([]SourceWarning, 0, len(ws))
	for _, w := range ws {
		out = append(out, SourceWarning{Source: source, Item: w.Item, Message: w.Message})
	}
	return out
}

func sourceNames(srcs []sources.Source) []string {
	out := make([]string, 0, len(srcs))
	for _, s := range srcs {
		out = append(out, s.Name())
	}
	return out
}
