package truenas

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/netbox-agent/netbox-agent/sources"
)

// Pool is one ZFS pool as list_truenas_pools reports it.
type Pool struct {
	Name           string `json:"name"`
	GUID           string `json:"guid"`
	Status         string `json:"status"` // ONLINE, DEGRADED, FAULTED, ...
	Healthy        bool   `json:"healthy"`
	SizeBytes      uint64 `json:"size_bytes"`
	AllocatedBytes uint64 `json:"allocated_bytes"`
	FreeBytes      uint64 `json:"free_bytes"`
	// Disks are the member disks' names ("sda", "ada0") across every vdev class, sorted.
	Disks []string `json:"disks"`
	// LastScrub is when the last scrub finished, if the pool reports one.
	LastScrub *time.Time `json:"last_scrub,omitempty"`
	Datasets  []Dataset  `json:"datasets"`
}

// Dataset is one dataset (FILESYSTEM) or zvol (VOLUME) of a pool.
type Dataset struct {
	Name           string `json:"name"` // full id: "tank/media"
	Type           string `json:"type"`
	Mountpoint     string `json:"mountpoint,omitempty"`
	UsedBytes      uint64 `json:"used_bytes"`
	AvailableBytes uint64 `json:"available_bytes"`
}

// Ports of the share services.
const (
	portNFS   = 2049
	portSMB   = 445
	portISCSI = 3260
	// maxServiceName is NetBox's limit on a service name.
	maxServiceName = 100
)

// flattenDatasets walks the answer and its nested children and keeps each dataset once: by
// default TrueNAS lists every dataset at the top level and again under its parent. A size that
// is no byte count is left at 0 with a warning; the dataset is kept.
func flattenDatasets(in []datasetPayload) ([]Dataset, []sources.Warning) {
	seen := map[string]bool{}
	var out []Dataset
	var warnings []sources.Warning
	var walk func(ds []datasetPayload)
	walk = func(ds []datasetPayload) {
		for _, d := range ds {
			id := d.ID
			if id == "" {
				id = d.Name
			}
			if id != "" && !seen[id] {
				seen[id] = true
				mp := ""
				if d.Mountpoint != nil {
					mp = *d.Mountpoint
				}
				for field, p := range map[string]zfsProperty{"used": d.Used, "available": d.Available} {
					if p.Bad != "" {
						warnings = append(warnings, sources.Warning{Item: "dataset " + id,
							Message: fmt.Sprintf("pool.dataset.query %s.%s.rawvalue %s is not a byte count: size unknown", id, field, p.Bad)})
					}
				}
				out = append(out, Dataset{Name: id, Type: d.Type, Mountpoint: mp,
					UsedBytes: d.Used.N, AvailableBytes: d.Available.N})
			}
			walk(d.Children)
		}
	}
	walk(in)
	slices.SortFunc(out, func(a, b Dataset) int { return strings.Compare(a.Name, b.Name) })
	slices.SortFunc(warnings, func(a, b sources.Warning) int { return strings.Compare(a.Message, b.Message) })
	return out, warnings
}

// vdevClasses is the order the topology is read in; every class contributes disks.
var vdevClasses = []string{"data", "special", "dedup", "log", "cache", "spare"}

func poolDisks(p poolPayload) []string {
	var disks []string
	var walk func(v []vdevPayload)
	walk = func(v []vdevPayload) {
		for _, d := range v {
			if d.Disk != nil && *d.Disk != "" {
				disks = append(disks, *d.Disk)
			}
			walk(d.Children)
		}
	}
	for _, class := range vdevClasses {
		walk(p.Topology[class])
	}
	slices.Sort(disks)
	return slices.Compact(disks)
}

func buildPools(pools []poolPayload, datasets []Dataset) []Pool {
	out := make([]Pool, 0, len(pools))
	for _, p := range pools {
		pool := Pool{Name: p.Name, GUID: string(p.GUID), Status: p.Status, Healthy: p.Healthy,
			SizeBytes: p.Size.N, AllocatedBytes: p.Allocated.N, FreeBytes: p.Free.N,
			Disks: poolDisks(p), Datasets: []Dataset{}}
		if p.Scan != nil && !p.Scan.EndTime.IsZero() {
			t := p.Scan.EndTime.Time
			pool.LastScrub = &t
		}
		for _, d := range datasets {
			if d.Name == p.Name || strings.HasPrefix(d.Name, p.Name+"/") {
				pool.Datasets = append(pool.Datasets, d)
			}
		}
		// Releases without size/allocated/free in pool.query, and pools whose figures are null
		// (the model's "not available"): the root dataset tells.
		for _, d := range pool.Datasets {
			if d.Name != p.Name {
				continue
			}
			if !p.Allocated.Valid {
				pool.AllocatedBytes = d.UsedBytes
			}
			if !p.Free.Valid {
				pool.FreeBytes = d.AvailableBytes
			}
			if !p.Size.Valid {
				pool.SizeBytes = d.UsedBytes + d.AvailableBytes
			}
		}
		if pool.Disks == nil {
			pool.Disks = []string{}
		}
		out = append(out, pool)
	}
	slices.SortFunc(out, func(a, b Pool) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// platformOf turns system.info's version into a NetBox platform name at major.minor:
// "TrueNAS-SCALE-24.10.2" -> "TrueNAS SCALE 24.10", "TrueNAS-13.0-U6.2" -> "TrueNAS CORE 13.0",
// "TrueNAS-25.10.0" -> "TrueNAS 25.10" (the SCALE name was dropped), "FreeNAS-11.3-U5" ->
// "FreeNAS 11.3". Anything else is kept as sent.
func platformOf(version string) string {
	v := strings.TrimSpace(version)
	if rest, ok := strings.CutPrefix(v, "TrueNAS-SCALE-"); ok {
		return "TrueNAS SCALE " + majorMinor(rest)
	}
	if rest, ok := strings.CutPrefix(v, "FreeNAS-"); ok {
		return "FreeNAS " + majorMinor(rest)
	}
	if rest, ok := strings.CutPrefix(v, "TrueNAS-"); ok {
		mm := majorMinor(rest)
		major, _ := strconv.Atoi(strings.SplitN(mm, ".", 2)[0])
		if major > 0 && major <= 13 {
			return "TrueNAS CORE " + mm
		}
		return "TrueNAS " + mm
	}
	return v
}

func majorMinor(v string) string {
	v, _, _ = strings.Cut(v, "-")
	parts := strings.Split(v, ".")
	if len(parts) > 2 {
		parts = parts[:2]
	}
	return strings.Join(parts, ".")
}

// cleanText drops the firmware placeholders whitebox boards put in DMI fields.
func cleanText(s string) string {
	s = strings.TrimSpace(s)
	if sources.CleanSerial(s) == "" {
		return ""
	}
	return s
}

var interfaceTypes = map[string]string{"BRIDGE": "bridge", "LINK_AGGREGATION": "lag", "VLAN": "virtual"}

func (s *Source) interfaces(in []interfacePayload) ([]sources.Interface, []sources.Warning) {
	var out []sources.Interface
	var warnings []sources.Warning
	for _, p := range in {
		ifc := sources.Interface{Name: p.Name, Type: interfaceTypes[p.Type]}
		switch {
		case p.VLANTag != nil:
			ifc.VLAN = *p.VLANTag
		case p.State.Tag != nil:
			ifc.VLAN = *p.State.Tag
		}
		if p.State.LinkAddress != "" {
			m, err := sources.ParseMAC(p.State.LinkAddress)
			if err != nil {
				warnings = append(warnings, sources.Warning{Item: "interface " + p.Name, Message: "MAC dropped: " + err.Error(), Reason: sources.ReasonMalformedMAC})
			}
			ifc.MAC = m
		}
		aliases, field := p.State.Aliases, "state.aliases" // what is configured now; the configured list is a fallback
		if aliases == nil {
			aliases, field = p.Aliases, "aliases"
		}
		// state.aliases may omit the netmask (the model makes it optional): the configured
		// alias of the same address gives it.
		configured := map[string]json.RawMessage{}
		for _, a := range p.Aliases {
			if len(a.Netmask) > 0 {
				configured[a.Address] = a.Netmask
			}
		}
		for i, a := range aliases {
			if a.Type != "INET" && a.Type != "INET6" {
				continue
			}
			if ip, err := netip.ParseAddr(a.Address); err == nil && (ip.IsLinkLocalUnicast() || ip.IsLoopback()) {
				continue // fe80:: addresses identify nothing beyond the link
			}
			if len(a.Netmask) == 0 || string(a.Netmask) == "null" {
				a.Netmask = configured[a.Address]
			}
			if a.mask() == "" {
				warnings = append(warnings, sources.Warning{Item: "interface " + p.Name,
					Message: fmt.Sprintf("%s[%d]: address %q has no netmask, nor a configured alias giving one: skipped", field, i, a.Address)})
				continue
			}
			pfx, err := sources.PrefixFromMask(a.Address, a.mask())
			if err != nil {
				warnings = append(warnings, sources.Warning{Item: "interface " + p.Name,
					Message: fmt.Sprintf("%s[%d]: address %q/%q skipped: %v", field, i, a.Address, a.mask(), err)})
				continue
			}
			if pfx.Addr().IsLinkLocalUnicast() || pfx.Addr().IsLoopback() {
				continue // fe80:: addresses identify nothing beyond the link
			}
			ifc.IPs = append(ifc.IPs, pfx)
		}
		out = append(out, ifc)
	}
	slices.SortFunc(out, func(a, b sources.Interface) int { return strings.Compare(a.Name, b.Name) })
	return out, warnings
}

func (s *Source) services(snap *snapshot) ([]sources.Service, []sources.Warning) {
	var out []sources.Service
	var warnings []sources.Warning
	for _, n := range snap.nfs {
		if !enabled(n.Enabled) {
			continue
		}
		paths := n.allPaths()
		if len(paths) == 0 {
			warnings = append(warnings, sources.Warning{Item: "nfs share " + n.ID.String(), Message: "skipped: no path"})
			continue
		}
		out = append(out, sources.Service{Name: truncate("NFS "+strings.Join(paths, " "), maxServiceName),
			Protocol: "tcp", Ports: []int{portNFS}, Description: join(strings.Join(paths, ", "), n.Comment)})
	}
	for _, sh := range snap.smb {
		if !enabled(sh.Enabled) {
			continue
		}
		if sh.Name == "" {
			warnings = append(warnings, sources.Warning{Item: "smb share " + sh.ID.String(), Message: "skipped: no name"})
			continue
		}
		out = append(out, sources.Service{Name: truncate("SMB "+sh.Name, maxServiceName), Protocol: "tcp",
			Ports: []int{portSMB}, Description: join(sh.location(), sh.Comment)})
	}
	for _, t := range snap.targets {
		if t.Name == "" {
			warnings = append(warnings, sources.Warning{Item: "iscsi target " + t.ID.String(), Message: "skipped: no name"})
			continue
		}
		iqn := t.Name
		if snap.iscsi.Basename != "" && !strings.Contains(t.Name, ":") {
			iqn = snap.iscsi.Basename + ":" + t.Name
		}
		alias := ""
		if t.Alias != nil {
			alias = *t.Alias
		}
		out = append(out, sources.Service{Name: truncate("iSCSI "+iqn, maxServiceName), Protocol: "tcp",
			Ports: []int{portISCSI}, Description: join(iqn, alias)})
	}
	return out, warnings
}

// Attribute summaries hold what changes with the storage layout, not usage figures: a sync
// then rewrites the device only when pools, datasets or extents change. Live figures come
// from Pools.
type poolSummary struct {
	Name     string   `json:"name"`
	GUID     string   `json:"guid"`
	Status   string   `json:"status"`
	Healthy  bool     `json:"healthy"`
	Size     uint64   `json:"size_bytes"`
	Disks    []string `json:"disks"`
	Datasets int      `json:"datasets"`
}

type datasetSummary struct {
	Name       string `json:"name"`
	Type       string `json:"type"`
	Mountpoint string `json:"mountpoint,omitempty"`
}

type extentSummary struct {
	Name    string `json:"name"`
	Type    string `json:"type"`
	Backing string `json:"backing"`
}

func compactJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// observe builds the device observation from a complete snapshot.
func (s *Source) observe(snap *snapshot) (sources.Observation, []sources.Warning) {
	warnings := snap.warnings
	info := snap.info
	short, fqdn := sources.SplitFQDN(info.Hostname)
	if short == "" {
		short, fqdn = sources.SplitFQDN(snap.network.Hostname)
	}
	if fqdn == "" && short != "" {
		if d := strings.TrimSuffix(strings.ToLower(strings.TrimSpace(snap.network.Domain)), "."); d != "" && d != "local" {
			_, fqdn = sources.SplitFQDN(short + "." + d)
		}
	}
	if short == "" {
		short = strings.TrimSpace(info.Hostname)
		warnings = append(warnings, sources.Warning{Item: "system", Message: fmt.Sprintf("hostname %q is not a valid host name", info.Hostname)})
	}
	obs := sources.Observation{
		Source: s.cfg.Name, Adapter: AdapterName, NativeID: s.cfg.Name + "/system", Kind: sources.KindDevice,
		Name: short,
		Keys: sources.Keys{Serial: sources.CleanSerial(info.SystemSerial), FQDN: fqdn},
		Facts: sources.Facts{
			Manufacturer: cleanText(info.SystemManufacturer), Model: cleanText(info.SystemProduct),
			Platform: platformOf(info.Version), Role: "nas", Site: s.cfg.Site, Status: "active",
			MemoryMB:   int64(info.PhysMem.N >> 20),
			Attributes: map[string]string{},
		},
		SeenAt: time.Now().UTC(),
	}
	if v := strings.TrimSpace(info.Version); v != "" {
		obs.Facts.Attributes["truenas.version"] = v
	}
	if info.SystemSerial != "" && obs.Keys.Serial == "" {
		s.log.Debug("placeholder serial dropped", "serial", info.SystemSerial)
	}

	ifcs, w := s.interfaces(snap.interfaces)
	obs.Interfaces, warnings = ifcs, append(warnings, w...)
	svcs, w := s.services(snap)
	obs.Services, warnings = svcs, append(warnings, w...)

	for _, d := range snap.disks {
		if d.Name != "" {
			obs.Disks = append(obs.Disks, sources.Disk{Name: d.Name, SizeMB: int64(d.Size.N >> 20)})
		}
	}
	slices.SortFunc(obs.Disks, func(a, b sources.Disk) int { return strings.Compare(a.Name, b.Name) })

	datasets, w := flattenDatasets(snap.datasets)
	warnings = append(warnings, w...)
	pools := buildPools(snap.pools, datasets)
	summaries := make([]poolSummary, 0, len(pools))
	for _, p := range pools {
		summaries = append(summaries, poolSummary{Name: p.Name, GUID: p.GUID, Status: p.Status, Healthy: p.Healthy,
			Size: p.SizeBytes, Disks: p.Disks, Datasets: len(p.Datasets)})
	}
	obs.Facts.Attributes["truenas.pools"] = compactJSON(summaries)
	ds := make([]datasetSummary, 0, len(datasets))
	for _, d := range datasets {
		ds = append(ds, datasetSummary{Name: d.Name, Type: d.Type, Mountpoint: d.Mountpoint})
	}
	obs.Facts.Attributes["truenas.datasets"] = compactJSON(ds)
	if len(snap.extents) > 0 {
		ex := make([]extentSummary, 0, len(snap.extents))
		for _, e := range snap.extents {
			if !enabled(e.Enabled) {
				continue
			}
			backing := ""
			switch {
			case e.Disk != nil && *e.Disk != "":
				backing = *e.Disk
			case e.Path != nil:
				backing = *e.Path
			}
			ex = append(ex, extentSummary{Name: e.Name, Type: e.Type, Backing: backing})
		}
		slices.SortFunc(ex, func(a, b extentSummary) int { return strings.Compare(a.Name, b.Name) })
		obs.Facts.Attributes["truenas.iscsi_extents"] = compactJSON(ex)
	}
	warnings = append(warnings, obs.Normalize()...)
	return obs, warnings
}
