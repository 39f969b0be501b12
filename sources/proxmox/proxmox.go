package proxmox

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	pve "github.com/luthermonson/go-proxmox"

	"github.com/netbox-agent/netbox-agent/internal/secret"
	"github.com/netbox-agent/netbox-agent/sources"
)

// Source is one configured Proxmox VE cluster. It implements sources.Source.
type Source struct {
	cfg    Config
	base   string
	client *pve.Client
	log    *slog.Logger
	scrub  *secret.Scrubber
	now    func() time.Time
}

var _ sources.Source = (*Source)(nil)

// New checks cfg (after SetDefaults) and builds the source; it does not contact the server.
func New(cfg Config, logger *slog.Logger) (*Source, error) {
	if err := sources.Configure(&cfg); err != nil {
		return nil, fmt.Errorf("proxmox source %q: invalid config: %w", cfg.Name, err)
	}
	logger = sources.AdapterLogger(logger, cfg.Name, AdapterName)
	base := apiBase(cfg.URL)
	client, err := newAPIClient(cfg, base, logger)
	if err != nil {
		return nil, fmt.Errorf("proxmox source %q: %w", cfg.Name, err)
	}
	return &Source{
		cfg: cfg, base: base, client: client,
		log:   logger,
		scrub: secret.NewScrubber(cfg.TokenSecret),
		now:   time.Now,
	}, nil
}

// Name is the configured instance name.
func (s *Source) Name() string { return s.cfg.Name }

// Adapter returns "proxmox".
func (s *Source) Adapter() string { return AdapterName }

// EnumeratesMachines: two native ids of this source are two machines (identity rules, sync/identity.go).
func (s *Source) EnumeratesMachines() bool { return true }

// Check verifies the server answers, the token authenticates and may read the cluster status
// and the guest list.
func (s *Source) Check(ctx context.Context) error {
	var v pve.Version
	if err := s.get(ctx, "/version", &v); err != nil {
		return err
	}
	var st []clusterStatusEntry
	if err := s.get(ctx, "/cluster/status", &st); err != nil {
		return err
	}
	var resources []clusterResource
	return s.get(ctx, "/cluster/resources?type=vm", &resources)
}

// nodeInfo is a cluster member from /cluster/status.
type nodeInfo struct {
	name   string
	online bool
	ip     string
}

// Discover reads the cluster status and guest list (either failing fails the source), then
// each online node and each guest with bounded concurrency; a failure there is a warning.
func (s *Source) Discover(ctx context.Context, progress sources.Progress) (sources.Result, error) {
	seenAt := s.now().UTC()
	var status []clusterStatusEntry
	if err := s.get(ctx, "/cluster/status", &status); err != nil {
		return sources.Result{}, err
	}
	cluster, nodes, err := s.clusterFromStatus(status)
	if err != nil {
		return sources.Result{}, err
	}
	var resources []clusterResource
	if err := s.get(ctx, "/cluster/resources?type=vm", &resources); err != nil {
		return sources.Result{}, err
	}

	var warnings []sources.Warning
	online := map[string]bool{}
	for _, n := range nodes {
		online[n.name] = n.online
		if !n.online {
			warnings = append(warnings, sources.Warning{Item: "node " + n.name,
				Message: "node is offline: its guests are reported from /cluster/resources only (no config, interfaces or IPs)"})
		}
	}

	guests := make([]clusterResource, 0, len(resources))
	for i, r := range resources {
		if r.Type != "qemu" && r.Type != "lxc" {
			continue
		}
		if r.VMID <= 0 {
			// vmid is optional in the schema; the id ("qemu/100") carries it too.
			_, id, _ := strings.Cut(r.ID, "/")
			if n, err := strconv.ParseInt(id, 10, 64); err == nil && n > 0 {
				r.VMID = flexInt(n)
			}
		}
		if r.VMID <= 0 {
			warnings = append(warnings, sources.Warning{Item: fmt.Sprintf("/cluster/resources[%d]", i),
				Message: fmt.Sprintf("entry id %q has no vmid: skipped", r.ID)})
			continue
		}
		if bool(r.Template) && !s.cfg.IncludeTemplates {
			continue
		}
		guests = append(guests, r)
	}
	if w, ok := s.visibilityWarning(ctx, len(guests)); ok {
		warnings = append(warnings, w)
	}

	total := len(nodes) + len(guests)
	progress.Report(0, total, "listed "+strconv.Itoa(len(nodes))+" nodes and "+strconv.Itoa(len(guests))+" guests")
	nodeObs := make([]sources.Observation, len(nodes))
	guestObs := make([]sources.Observation, len(guests))
	itemWarnings := make([][]sources.Warning, total)

	var (
		mu   sync.Mutex
		done int
	)
	// Reported under the lock so callers see done counts in order.
	finish := func(msg string) {
		mu.Lock()
		defer mu.Unlock()
		done++
		progress.Report(done, total, msg)
	}
	jobs := make(chan func(), total)
	for i, n := range nodes {
		jobs <- func() {
			nodeObs[i], itemWarnings[i] = s.discoverNode(ctx, cluster, n, seenAt)
			finish("node " + n.name)
		}
	}
	for i, g := range guests {
		jobs <- func() {
			// A node missing from /cluster/status is tried rather than assumed down.
			up, known := online[g.Node]
			guestObs[i], itemWarnings[len(nodes)+i] = s.discoverGuest(ctx, cluster, g, up || !known, seenAt)
			finish(fmt.Sprintf("%s/%d", g.Type, g.VMID))
		}
	}
	close(jobs)
	var wg sync.WaitGroup
	for range min(s.cfg.Concurrency, max(total, 1)) {
		wg.Go(func() {
			for job := range jobs {
				if ctx.Err() != nil {
					continue // drain
				}
				job()
			}
		})
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return sources.Result{}, fmt.Errorf("proxmox source %q at %s: discovery interrupted: %w", s.cfg.Name, s.base, err)
	}

	res := sources.Result{Observations: append(nodeObs, guestObs...)}
	for _, ws := range itemWarnings {
		warnings = append(warnings, ws...)
	}
	res.Warnings = warnings
	for i := range res.Observations {
		// a NIC's MAC from a guest config that does not parse is refused with a warning
		res.AddWarnings(res.Observations[i].Normalize()...)
	}
	sort.SliceStable(res.Observations, func(i, j int) bool { return res.Observations[i].NativeID < res.Observations[j].NativeID })
	for _, w := range res.Warnings {
		s.log.Debug("discovery warning", "item", w.Item, "message", w.Message)
	}
	return res, nil
}

// clusterFromStatus returns the cluster name (the configured one for a standalone node,
// else the node's name) and the members.
func (s *Source) clusterFromStatus(status []clusterStatusEntry) (string, []nodeInfo, error) {
	var name string
	var nodes []nodeInfo
	for _, e := range status {
		switch e.Type {
		case "cluster":
			name = e.Name
		case "node":
			if e.Name == "" {
				continue
			}
			// online is optional in the schema: absent, the node is tried rather than assumed down.
			nodes = append(nodes, nodeInfo{name: e.Name, online: e.Online == nil || bool(*e.Online), ip: e.IP})
		}
	}
	if len(nodes) == 0 {
		return "", nil, &RequestError{Source: s.cfg.Name, URL: s.base, Path: "/cluster/status",
			msg: fmt.Sprintf("proxmox source %q at %s: GET /cluster/status: no node in the answer", s.cfg.Name, s.base)}
	}
	if name == "" {
		name = s.cfg.ClusterName
	}
	if name == "" {
		name = nodes[0].name
	}
	sort.Slice(nodes, func(i, j int) bool { return nodes[i].name < nodes[j].name })
	return name, nodes, nil
}

// visibilityWarning tells when the token cannot see every guest: a privilege-separated token
// without VM.Audit on / gets a silently filtered /cluster/resources.
func (s *Source) visibilityWarning(ctx context.Context, visible int) (sources.Warning, bool) {
	var perms permissions
	if err := s.get(ctx, "/access/permissions", &perms); err != nil {
		s.log.Debug("cannot read token permissions", "err", err)
		return sources.Warning{}, false
	}
	for _, p := range []string{"/", "/vms"} {
		if perms[p]["VM.Audit"] == 1 {
			return sources.Warning{}, false
		}
	}
	return sources.Warning{Item: "token " + s.cfg.TokenID, Message: fmt.Sprintf(
		"the token has no VM.Audit on / or /vms, so /cluster/resources lists only the %d guests it may see: "+
			"the token may lack the PVEAuditor role on / (privilege separation is on by default)", visible)}, true
}

func (s *Source) discoverNode(ctx context.Context, cluster string, n nodeInfo, seenAt time.Time) (sources.Observation, []sources.Warning) {
	obs := sources.Observation{
		Source: s.cfg.Name, Adapter: AdapterName, NativeID: cluster + "/node/" + n.name,
		Kind: sources.KindDevice, Name: n.name, SeenAt: seenAt,
		Parent: &sources.Parent{Cluster: cluster, ClusterType: ClusterType},
		Facts:  sources.Facts{Role: "hypervisor", Status: "offline"},
	}
	if ip, err := sources.ParseIP(n.ip); err == nil {
		obs.Keys.IPs = []netip.Addr{ip}
	}
	if !n.online {
		return obs, nil
	}
	obs.Facts.Status = "active"
	var warnings []sources.Warning
	item := "node " + n.name
	var st nodeStatus
	if err := s.get(ctx, "/nodes/"+n.name+"/status", &st); err != nil {
		warnings = append(warnings, sources.Warning{Item: item, Message: err.Error()})
	} else {
		if v := pveVersion(st.PVEVersion); v != "" {
			obs.Facts.Platform = "Proxmox VE " + v
		}
		// cpuinfo.cpus counts threads; the node's vCPU capacity is what guests get.
		obs.Facts.VCPUs = float64(st.CPUInfo.CPUs)
		obs.Facts.MemoryMB = int64(st.Memory.Total) >> 20
		if st.CPUInfo.Model != "" {
			// The CPU is not the machine's model (the API has no DMI data): an attribute only.
			obs.Facts.Attributes = map[string]string{"proxmox.cpu_model": string(st.CPUInfo.Model),
				"proxmox.cpu_sockets": strconv.FormatInt(int64(st.CPUInfo.Sockets), 10)}
		}
	}
	var netw []nodeNetwork
	if err := s.get(ctx, "/nodes/"+n.name+"/network", &netw); err != nil {
		warnings = append(warnings, sources.Warning{Item: item, Message: err.Error()})
	} else {
		obs.Interfaces = nodeInterfaces(netw)
	}
	return obs, warnings
}

func nodeInterfaces(netw []nodeNetwork) []sources.Interface {
	sort.SliceStable(netw, func(i, j int) bool { return netw[i].Iface < netw[j].Iface })
	var out []sources.Interface
	for _, n := range netw {
		if n.Iface == "" || n.Iface == "lo" {
			continue
		}
		ifc := sources.Interface{Name: string(n.Iface), VLAN: int(n.VLANID)}
		switch n.Type {
		case "bridge", "OVSBridge":
			ifc.Type = "bridge"
		case "bond", "OVSBond":
			ifc.Type = "lag"
		case "vlan", "OVSIntPort":
			ifc.Type = "virtual"
		}
		for _, c := range []string{n.CIDR, n.CIDR6} {
			if p, err := sources.ParseInterfaceIP(c); err == nil && usableIP(p.Addr()) {
				ifc.IPs = append(ifc.IPs, p)
			}
		}
		out = append(out, ifc)
	}
	return out
}

// discoverGuest builds a guest from its resource entry, then its config, then (running
// guests) its runtime interfaces. What fails after the resource entry is a warning: the guest
// is still reported, with only what was read completely.
func (s *Source) discoverGuest(ctx context.Context, cluster string, r clusterResource, nodeOnline bool, seenAt time.Time) (sources.Observation, []sources.Warning) {
	vmid := int64(r.VMID)
	obs := sources.Observation{
		Source: s.cfg.Name, Adapter: AdapterName,
		NativeID: fmt.Sprintf("%s/%s/%d", cluster, r.Type, vmid),
		Kind:     sources.KindVM, Name: string(r.Name), SeenAt: seenAt,
		Parent: &sources.Parent{Cluster: cluster, ClusterType: ClusterType, Node: r.Node},
		Facts: sources.Facts{
			Status: guestStatus(r.Status), VCPUs: float64(r.MaxCPU),
			MemoryMB: int64(r.MaxMem) >> 20, DiskMB: int64(r.MaxDisk) >> 20,
			Tags: splitTags(string(r.Tags)),
			Attributes: map[string]string{"proxmox.vmid": strconv.FormatInt(vmid, 10), "proxmox.type": r.Type,
				"proxmox.node": r.Node},
		},
	}
	if obs.Name == "" {
		// name is optional in the schema; PVE itself shows an unnamed guest so.
		obs.Name = fmt.Sprintf("VM %d", vmid)
		if r.Type == "lxc" {
			obs.Name = fmt.Sprintf("CT%d", vmid)
		}
	}
	if bool(r.Template) {
		obs.Facts.Attributes["proxmox.template"] = "true"
	}
	if r.Node == "" {
		// node is optional in the schema: without it there is no path to the guest's config.
		return obs, []sources.Warning{{Item: fmt.Sprintf("%s/%d (%s)", r.Type, vmid, r.Name),
			Message: "/cluster/resources names no node for this guest: reported from /cluster/resources only (no config, interfaces or IPs)"}}
	}
	if !nodeOnline {
		return obs, nil
	}
	item := fmt.Sprintf("%s/%d (%s on %s)", r.Type, vmid, r.Name, r.Node)
	guestPath := fmt.Sprintf("/nodes/%s/%s/%d", r.Node, r.Type, vmid)

	var raw map[string]json.RawMessage
	if err := s.get(ctx, guestPath+"/config", &raw); err != nil {
		return obs, []sources.Warning{{Item: item, Message: "config unreadable, reported from /cluster/resources only: " + err.Error()}}
	}
	cfg, err := parseGuestConfig(r.Type, raw)
	if err != nil {
		return obs, []sources.Warning{{Item: item, Message: fmt.Sprintf(
			"config at %s%s/config: %v; reported from /cluster/resources only", s.base, guestPath, err)}}
	}
	applyConfig(&obs, r.Type, cfg)

	if r.Status != "running" {
		return obs, nil // a stopped guest has no runtime addresses: not a problem
	}
	var warnings []sources.Warning
	switch r.Type {
	case "qemu":
		if !cfg.Agent {
			warnings = append(warnings, sources.Warning{Item: item, Message: "QEMU guest agent not enabled in the VM config: no IPs or guest interface names"})
			break
		}
		var ai agentInterfaces
		if err := s.get(ctx, guestPath+"/agent/network-get-interfaces", &ai); err != nil {
			msg := "guest agent: " + err.Error()
			if StatusCode(err) == http.StatusInternalServerError && strings.Contains(err.Error(), "not running") {
				msg = "QEMU guest agent is not running: no IPs or guest interface names"
			}
			warnings = append(warnings, sources.Warning{Item: item, Message: msg})
			break
		}
		mergeAgentInterfaces(&obs, ai.Result)
	case "lxc":
		var ifs []guestIface
		if err := s.get(ctx, guestPath+"/interfaces", &ifs); err != nil {
			warnings = append(warnings, sources.Warning{Item: item, Message: "container interfaces: " + err.Error()})
			break
		}
		mergeLXCInterfaces(&obs, ifs)
	}
	return obs, warnings
}

// applyConfig overlays what the config says on the resource-derived observation.
func applyConfig(obs *sources.Observation, typ string, c guestConfig) {
	if c.Name != "" {
		obs.Name = c.Name
	}
	if c.MemoryMB > 0 {
		obs.Facts.MemoryMB = c.MemoryMB
	}
	switch {
	case typ == "qemu" && c.Cores > 0:
		obs.Facts.VCPUs = float64(c.Cores * max(c.Sockets, 1))
	case typ == "lxc" && c.Cores > 0:
		obs.Facts.VCPUs = float64(c.Cores)
	}
	if c.Tags != "" {
		obs.Facts.Tags = splitTags(c.Tags)
	}
	if c.OSType != "" {
		obs.Facts.Attributes["proxmox.ostype"] = c.OSType
	}
	obs.Keys.SystemUUID = c.SMBIOSUUID
	if strings.Contains(obs.Name, ".") {
		obs.Keys.FQDN = obs.Name
	}
	var diskMB int64
	for _, d := range c.Disks {
		diskMB += d.SizeMB
	}
	obs.Disks = c.Disks
	if len(c.Disks) > 0 {
		obs.Facts.DiskMB = diskMB
	}
	for _, n := range c.Nets {
		ifc := sources.Interface{Name: n.Key, MAC: sources.MAC(n.MAC), Bridge: n.Bridge, VLAN: n.VLAN, Type: "virtual"}
		if n.Name != "" {
			ifc.Name = n.Name // LXC names its interfaces in the config
		}
		for _, ip := range []string{n.IP, n.IP6} {
			if p, err := sources.ParseInterfaceIP(ip); err == nil && usableIP(p.Addr()) {
				ifc.IPs = append(ifc.IPs, p)
			}
		}
		obs.Interfaces = append(obs.Interfaces, ifc)
	}
}

// usableIP drops loopback, link-local and multicast addresses: they identify nothing.
func usableIP(a netip.Addr) bool {
	return a.IsValid() && !a.IsLoopback() && !a.IsLinkLocalUnicast() && !a.IsLinkLocalMulticast() &&
		!a.IsMulticast() && !a.IsUnspecified()
}

// interfaceByMAC finds the config interface with this MAC.
func interfaceByMAC(obs *sources.Observation, mac string) *sources.Interface {
	m := sources.NormalizeMAC(mac)
	if m == "" {
		return nil
	}
	for i := range obs.Interfaces {
		if sources.NormalizeMAC(string(obs.Interfaces[i].MAC)) == m {
			return &obs.Interfaces[i]
		}
	}
	return nil
}

// mergeAgentInterfaces names config NICs after the guest's own interfaces and adds their IPs.
// Guest interfaces without a matching NIC (docker0, veths, lo) are not reported.
func mergeAgentInterfaces(obs *sources.Observation, ifs []guestIface) {
	named := map[*sources.Interface]bool{}
	for _, gi := range ifs {
		name := string(gi.Name)
		if name == "lo" {
			continue
		}
		ifc := interfaceByMAC(obs, gi.HardwareAddress)
		if ifc == nil {
			continue
		}
		// A VLAN sub-interface (eth0.20) shares its parent's MAC: keep the parent's name.
		if !named[ifc] && name != "" && !strings.ContainsAny(name, ".@") {
			ifc.Name = name
			named[ifc] = true
		}
		addGuestAddrs(ifc, gi.IPAddresses)
	}
}

// addGuestAddrs adds the usable ip-addresses entries to ifc, each once.
func addGuestAddrs(ifc *sources.Interface, addrs []guestAddr) {
	for _, a := range addrs {
		ip, err := sources.ParseIP(a.IPAddress)
		if err != nil || !usableIP(ip) || a.Prefix <= 0 || int(a.Prefix) > ip.BitLen() {
			continue
		}
		addPrefix(ifc, netip.PrefixFrom(ip, int(a.Prefix)))
	}
}

func addPrefix(ifc *sources.Interface, p netip.Prefix) {
	if !slices.Contains(ifc.IPs, p) {
		ifc.IPs = append(ifc.IPs, p)
	}
}

// mergeLXCInterfaces adds the container's runtime addresses to its config NICs (matched by
// MAC, else by name): from inet and inet6, and from ip-addresses (PVE 9), which the schema
// requires while inet and inet6 are optional.
func mergeLXCInterfaces(obs *sources.Observation, ifs []guestIface) {
	for _, ci := range ifs {
		name := string(ci.Name)
		if name == "lo" {
			continue
		}
		mac := ci.HWAddr
		if mac == "" {
			mac = ci.HardwareAddress
		}
		ifc := interfaceByMAC(obs, mac)
		if ifc == nil && name != "" {
			for i := range obs.Interfaces {
				if obs.Interfaces[i].Name == name {
					ifc = &obs.Interfaces[i]
				}
			}
		}
		if ifc == nil {
			continue
		}
		for _, field := range []string{ci.Inet, ci.Inet6} {
			// Newer PVE versions may list several addresses separated by spaces or commas.
			for _, a := range strings.FieldsFunc(field, func(r rune) bool { return r == ' ' || r == ',' }) {
				if p, err := sources.ParseInterfaceIP(a); err == nil && usableIP(p.Addr()) {
					addPrefix(ifc, p)
				}
			}
		}
		addGuestAddrs(ifc, ci.IPAddresses)
	}
}
