package truenastest

import (
	"fmt"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Flavour selects which TrueNAS release the server imitates: the APIs it serves, its version
// string and the payload shapes that changed between releases.
type Flavour string

const (
	// Core13 is TrueNAS CORE 13 (FreeBSD): REST v2.0 only, NFS shares carry a `paths` list.
	Core13 Flavour = "core-13"
	// Scale2410 is TrueNAS SCALE 24.10: REST v2.0 only (the JSON-RPC API at /api/current
	// arrived in 25.04); NFS `path`.
	Scale2410 Flavour = "scale-24.10"
	// Scale2504 is TrueNAS SCALE 25.04: both APIs (REST deprecated); NFS `path`.
	Scale2504 Flavour = "scale-25.04"
	// Scale2510 is TrueNAS 25.10, the last release with REST v2.0: both APIs.
	Scale2510 Flavour = "25.10"
	// TrueNAS26 is TrueNAS 26: the websocket API only, every REST path answers 404.
	TrueNAS26 Flavour = "26"
)

// ServesREST reports whether the flavour still has the REST v2.0 API.
func (f Flavour) ServesREST() bool { return f != TrueNAS26 }

// ServesWebsocket reports whether the flavour has the JSON-RPC 2.0 API at /api/current.
func (f Flavour) ServesWebsocket() bool { return f != Core13 && f != Scale2410 }

// Version is the system.info version string the flavour reports.
func (f Flavour) Version() string {
	switch f {
	case Core13:
		return "TrueNAS-13.0-U6.2"
	case Scale2410:
		return "TrueNAS-SCALE-24.10.2.1"
	case Scale2504:
		return "TrueNAS-SCALE-25.04.1"
	case Scale2510:
		return "TrueNAS-25.10.0"
	case TrueNAS26:
		return "TrueNAS-26.04.0"
	}
	return "TrueNAS-" + string(f)
}

// State is everything the simulated system knows. Fields are plain Go values; the server
// renders them in the JSON shapes of the configured flavour. Change it through Server.Update.
type State struct {
	System     System
	Network    NetworkConfig
	Interfaces []Interface
	Disks      []Disk
	Pools      []Pool
	Datasets   []Dataset
	NFSShares  []NFSShare
	SMBShares  []SMBShare
	// ISCSIBasename is iscsi.global.config's basename; a target's IQN is basename + ":" + name.
	ISCSIBasename string
	ISCSITargets  []ISCSITarget
	ISCSIExtents  []ISCSIExtent
}

// System is system.info.
type System struct {
	Hostname     string
	Version      string // empty: the flavour's version
	Serial       string // whitebox boards send "To Be Filled By O.E.M."
	Product      string
	Manufacturer string
	PhysMem      uint64
	Cores        int
	BootTime     time.Time
	Model        string // CPU model
}

// NetworkConfig is network.configuration.config.
type NetworkConfig struct {
	Hostname    string
	Domain      string
	IPv4Gateway string
	Nameservers []string
}

// Interface is one entry of interface.query.
type Interface struct {
	Name    string
	Type    string // PHYSICAL, BRIDGE, LINK_AGGREGATION, VLAN
	MAC     string // state.link_address
	Aliases []Alias
	VLANTag int
	Up      bool
	// Members are a LINK_AGGREGATION's lag_ports or a BRIDGE's bridge_members.
	Members []string
}

// Alias is one address of an interface; Netmask is a prefix length as TrueNAS sends it.
type Alias struct {
	Type    string // INET, INET6, LINK
	Address string
	Netmask int
}

// Disk is one entry of disk.query.
type Disk struct {
	Name   string
	Serial string
	Model  string
	Size   uint64
	Type   string // HDD, SSD
}

// Pool is one zpool. Vdevs become topology.data; each vdev lists its disks.
type Pool struct {
	ID        int
	Name      string
	GUID      string
	Status    string
	Healthy   bool
	Size      uint64
	Allocated uint64
	Free      uint64
	Vdevs     []Vdev
	ScrubEnd  time.Time // scan.end_time, sent as {"$date": ms}
}

// Vdev is a data vdev: Type "MIRROR", "RAIDZ1", ... or "DISK" for a single-disk stripe.
type Vdev struct {
	Type  string
	Disks []string
}

// Dataset is one dataset or zvol; Name is its full id ("tank/media").
type Dataset struct {
	Name      string
	Type      string // FILESYSTEM or VOLUME
	Used      uint64
	Available uint64
	Volsize   uint64 // zvols only
}

// NFSShare is one NFS export. CORE renders Paths as `paths`; SCALE renders Paths[0] as `path`.
type NFSShare struct {
	ID      int
	Paths   []string
	Comment string
	Enabled bool
}

// SMBShare is one SMB share.
type SMBShare struct {
	ID      int
	Name    string
	Path    string
	Comment string
	Enabled bool
	// RemotePaths make the share a DFS proxy to SERVER\SHARE targets (purpose EXTERNAL_SHARE,
	// path "EXTERNAL", options.remote_path), as 25.10 and later have it; Path is then ignored.
	// Earlier flavours render the share as an ordinary one.
	RemotePaths []string
}

// ISCSITarget is an iSCSI target; Name is the IQN suffix.
type ISCSITarget struct {
	ID    int
	Name  string
	Alias string
}

// ISCSIExtent is an iSCSI extent backed by a zvol ("zvol/tank/vm") or a file.
type ISCSIExtent struct {
	ID      int
	Name    string
	Type    string // DISK or FILE
	Disk    string
	Path    string
	Serial  string
	Enabled bool
}

// DefaultState is a small homelab NAS on a whitebox board: two pools, nested datasets and a
// zvol, shares of every kind and a junk DMI serial.
func DefaultState() State {
	boot := defaultBootTime()
	return State{
		System: System{
			Hostname: "nas01", Serial: "To Be Filled By O.E.M.", Product: "X570D4U-2L2T",
			Manufacturer: "ASRockRack", PhysMem: 68_719_476_736, Cores: 12, BootTime: boot,
			Model: "AMD Ryzen 5 5600X 6-Core Processor",
		},
		Network: NetworkConfig{Hostname: "nas01", Domain: "lab.example", IPv4Gateway: "192.168.10.1", Nameservers: []string{"192.168.10.1"}},
		Interfaces: []Interface{
			{Name: "enp5s0", Type: "PHYSICAL", MAC: "a8:a1:59:3c:12:7e", Up: true, Aliases: []Alias{
				{Type: "INET", Address: "192.168.10.20", Netmask: 24},
				{Type: "INET6", Address: "fe80::aaa1:59ff:fe3c:127e", Netmask: 64},
				{Type: "INET6", Address: "2001:db8:10::20", Netmask: 64},
			}},
			{Name: "enp6s0", Type: "PHYSICAL", MAC: "a8:a1:59:3c:12:7f"},
			{Name: "vlan30", Type: "VLAN", MAC: "a8:a1:59:3c:12:7e", VLANTag: 30, Up: true, Aliases: []Alias{
				{Type: "INET", Address: "10.30.0.5", Netmask: 24},
			}},
		},
		Disks: []Disk{
			{Name: "sda", Serial: "WD-WX12A3456789", Model: "WDC WD80EFZZ", Size: 8_001_563_222_016, Type: "HDD"},
			{Name: "sdb", Serial: "WD-WX12A3456790", Model: "WDC WD80EFZZ", Size: 8_001_563_222_016, Type: "HDD"},
			{Name: "nvme0n1", Serial: "S5GXNF0R123456", Model: "Samsung SSD 980 1TB", Size: 1_000_204_886_016, Type: "SSD"},
		},
		Pools: []Pool{
			{ID: 1, Name: "tank", GUID: "11523431734892347691", Status: "ONLINE", Healthy: true,
				Size: 7_984_378_019_840, Allocated: 2_512_880_467_968, Free: 5_471_497_551_872,
				Vdevs: []Vdev{{Type: "MIRROR", Disks: []string{"sda", "sdb"}}}, ScrubEnd: time.Date(2026, 11, 23, 3, 12, 45, 0, time.UTC)},
			{ID: 2, Name: "fast", GUID: "9120398470123984711", Status: "DEGRADED", Healthy: false,
				Size: 996_432_412_672, Allocated: 120_259_084_288, Free: 876_173_328_384,
				Vdevs: []Vdev{{Type: "DISK", Disks: []string{"nvme0n1"}}}},
		},
		Datasets: []Dataset{
			{Name: "tank", Type: "FILESYSTEM", Used: 2_512_880_467_968, Available: 5_200_000_000_000},
			{Name: "tank/media", Type: "FILESYSTEM", Used: 2_000_000_000_000, Available: 5_200_000_000_000},
			{Name: "tank/media/photos", Type: "FILESYSTEM", Used: 400_000_000_000, Available: 5_200_000_000_000},
			{Name: "tank/backups", Type: "FILESYSTEM", Used: 100_000_000_000, Available: 5_200_000_000_000},
			{Name: "fast", Type: "FILESYSTEM", Used: 120_259_084_288, Available: 840_000_000_000},
			{Name: "fast/vm-disk", Type: "VOLUME", Used: 110_000_000_000, Available: 840_000_000_000, Volsize: 107_374_182_400},
		},
		NFSShares: []NFSShare{
			{ID: 1, Paths: []string{"/mnt/tank/media"}, Comment: "media library", Enabled: true},
			{ID: 2, Paths: []string{"/mnt/tank/backups"}, Enabled: true},
			{ID: 3, Paths: []string{"/mnt/tank/old"}, Enabled: false},
		},
		SMBShares: []SMBShare{
			{ID: 1, Name: "media", Path: "/mnt/tank/media", Comment: "family media", Enabled: true},
			{ID: 2, Name: "photos", Path: "/mnt/tank/media/photos", Enabled: true},
		},
		ISCSIBasename: "iqn.2005-10.org.freenas.ctl",
		ISCSITargets:  []ISCSITarget{{ID: 1, Name: "vmstore", Alias: "Proxmox VM store"}},
		ISCSIExtents: []ISCSIExtent{{ID: 1, Name: "vm-disk", Type: "DISK", Disk: "zvol/fast/vm-disk",
			Serial: "ac1f6b1234567", Enabled: true}},
	}
}

// defaultBootTime is DefaultState's boot time; it stands in for a System without one.
func defaultBootTime() time.Time { return time.Date(2026, 11, 20, 6, 30, 0, 0, time.UTC) }

// object is a JSON object as the middleware sends it.
type object = map[string]any

func date(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return object{"$date": t.UnixMilli()}
}

// renderQuery returns the unfiltered rows of a *.query method, or ok=false for unknown ones.
// retrieveChildren follows pool.dataset.query's extra.retrieve_children (default true).
func (st *State) renderQuery(fl Flavour, method string, retrieveChildren bool) ([]object, bool) {
	var rows []object
	switch method {
	case "pool.query":
		for _, p := range st.Pools {
			rows = append(rows, renderPool(fl, p))
		}
	case "pool.dataset.query":
		var kids map[string][]Dataset
		if retrieveChildren {
			kids = map[string][]Dataset{}
			for _, d := range st.Datasets {
				if parent := path.Dir(d.Name); parent != "." && parent != d.Name {
					kids[parent] = append(kids[parent], d)
				}
			}
		}
		for _, d := range st.Datasets {
			rows = append(rows, renderDataset(d, kids))
		}
	case "sharing.nfs.query":
		for _, s := range st.NFSShares {
			r := object{"id": s.ID, "comment": s.Comment, "enabled": s.Enabled, "hosts": []any{},
				"networks": []any{}, "ro": false, "maproot_user": nil, "maproot_group": nil, "mapall_user": nil,
				"mapall_group": nil, "security": []any{}}
			if fl == Core13 {
				r["paths"] = s.Paths
				r["alldirs"] = false
			} else {
				p := ""
				if len(s.Paths) > 0 {
					p = s.Paths[0]
				}
				r["path"] = p
				r["aliases"] = []any{}
				r["locked"] = false
				r["expose_snapshots"] = false
				if fl == TrueNAS26 {
					r["dataset"], r["relative_path"] = st.datasetOf(p)
					r["tier"] = nil
				}
			}
			rows = append(rows, r)
		}
	case "sharing.smb.query":
		for _, s := range st.SMBShares {
			r := renderSMBShare(fl, s)
			if fl == TrueNAS26 {
				r["dataset"], r["relative_path"] = st.datasetOf(s.Path)
				r["tier"] = nil
			}
			rows = append(rows, r)
		}
	case "iscsi.target.query":
		for _, t := range st.ISCSITargets {
			var alias any
			if t.Alias != "" {
				alias = t.Alias
			}
			rows = append(rows, object{"id": t.ID, "name": t.Name, "alias": alias, "mode": "ISCSI",
				"groups":        []any{object{"portal": 1, "initiator": nil, "authmethod": "NONE", "auth": nil}},
				"auth_networks": []any{}, "rel_tgt_id": t.ID, "iscsi_parameters": nil})
		}
	case "iscsi.extent.query":
		for _, e := range st.ISCSIExtents {
			rows = append(rows, object{"id": e.ID, "name": e.Name, "type": e.Type, "disk": nilIfEmpty(e.Disk),
				"path": nilIfEmpty(e.Path), "serial": nilIfEmpty(e.Serial), "enabled": e.Enabled, "blocksize": 512,
				"naa": "0x6589cfc000000" + strconv.Itoa(100000+e.ID), "rpm": "SSD", "ro": false,
				"filesize": "0", "pblocksize": false, "avail_threshold": nil, "comment": "", "insecure_tpc": true,
				"xen": false, "vendor": "TrueNAS", "product_id": nil, "locked": false})
			if fl == TrueNAS26 {
				// Only a file extent lies in a dataset.
				var ds, rel any
				if e.Type == "FILE" {
					ds, rel = st.datasetOf(e.Path)
				}
				rows[len(rows)-1]["dataset"], rows[len(rows)-1]["relative_path"] = ds, rel
			}
		}
	case "interface.query":
		for _, i := range st.Interfaces {
			rows = append(rows, renderInterface(fl, i))
		}
	case "disk.query":
		for i, d := range st.Disks {
			r := renderDisk(i, d, st.poolOfDisk(d.Name))
			if fl == TrueNAS26 {
				r["sed"] = false
			}
			rows = append(rows, r)
		}
	default:
		return nil, false
	}
	if rows == nil {
		rows = []object{}
	}
	return rows, true
}

// renderConfig returns the object of a *.config (or system.info) method.
func (st *State) renderConfig(fl Flavour, method string) (object, bool) {
	switch method {
	case "system.info":
		v := st.System.Version
		if v == "" {
			v = fl.Version()
		}
		boot := st.System.BootTime
		if boot.IsZero() {
			boot = defaultBootTime() // the model's datetimes are never null
		}
		// DMI strings the board does not have are null; junk placeholders are strings.
		return object{
			"version": v, "hostname": st.System.Hostname, "physmem": st.System.PhysMem,
			"model": st.System.Model, "cores": st.System.Cores, "physical_cores": st.System.Cores / 2,
			"loadavg": []float64{0.12, 0.2, 0.18}, "uptime": "3 days, 4:05:06", "uptime_seconds": 273906.5,
			"system_serial": nilIfEmpty(st.System.Serial), "system_product": nilIfEmpty(st.System.Product),
			"system_product_version": "To Be Filled By O.E.M.", "system_manufacturer": nilIfEmpty(st.System.Manufacturer),
			"license": nil, "boottime": date(boot), "datetime": date(boot.Add(273906 * time.Second)),
			"timezone": "Europe/Berlin", "ecc_memory": true, "buildtime": date(boot.Add(-90 * 24 * time.Hour)),
		}, true
	case "network.configuration.config":
		ns := object{"id": 1, "hostname": st.Network.Hostname, "domain": st.Network.Domain,
			"ipv4gateway": st.Network.IPv4Gateway, "ipv6gateway": "", "domains": []any{}, "httpproxy": "",
			"hosts": []any{}, "hostname_local": st.Network.Hostname,
			"service_announcement": object{"netbios": false, "mdns": true, "wsd": true},
			"activity":             object{"type": "DENY", "activities": []any{}}}
		state := object{"ipv4gateway": st.Network.IPv4Gateway, "ipv6gateway": "", "hosts": []any{}}
		for i := 0; i < 3; i++ {
			v := ""
			if i < len(st.Network.Nameservers) {
				v = st.Network.Nameservers[i]
			}
			ns["nameserver"+strconv.Itoa(i+1)] = v
			state["nameserver"+strconv.Itoa(i+1)] = v
		}
		ns["state"] = state
		return ns, true
	case "iscsi.global.config":
		g := object{"id": 1, "basename": st.ISCSIBasename, "isns_servers": []any{}, "pool_avail_threshold": nil,
			"alua": false, "iser": false, "listen_port": 3260}
		if fl == TrueNAS26 {
			g["direct_config"], g["mode"] = false, 0
		}
		return g, true
	}
	return nil, false
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func (st *State) poolOfDisk(disk string) any {
	for _, p := range st.Pools {
		for _, v := range p.Vdevs {
			for _, d := range v.Disks {
				if d == disk {
					return p.Name
				}
			}
		}
	}
	return nil
}

func renderPool(fl Flavour, p Pool) object {
	var data []any
	for i, v := range p.Vdevs {
		disk := func(j int, d string) object {
			return object{"type": "DISK", "name": d + "3", "path": "/dev/" + d + "3", "guid": fmt.Sprintf("%d%03d%03d", p.ID, i, j),
				"status": "ONLINE", "disk": d, "unavail_disk": nil, "children": []any{},
				"stats": object{"read_errors": 0, "write_errors": 0, "checksum_errors": 0}}
		}
		if v.Type == "DISK" && len(v.Disks) == 1 {
			data = append(data, disk(0, v.Disks[0]))
			continue
		}
		var children []any
		for j, d := range v.Disks {
			children = append(children, disk(j, d))
		}
		data = append(data, object{"type": v.Type, "name": strings.ToLower(v.Type) + "-" + strconv.Itoa(i),
			"path": nil, "guid": fmt.Sprintf("%d%03d", p.ID, i), "status": "ONLINE", "disk": nil, "children": children})
	}
	if data == nil {
		data = []any{}
	}
	// A pool never scrubbed has a scan dict of nulls, as a real 25.x pool.query answers.
	scan := object{"function": nil, "state": nil, "start_time": nil, "end_time": nil, "percentage": nil,
		"bytes_to_process": nil, "bytes_processed": nil, "bytes_issued": nil, "pause": nil, "errors": nil,
		"total_secs_left": nil}
	if !p.ScrubEnd.IsZero() {
		scan["function"], scan["state"], scan["percentage"], scan["errors"] = "SCRUB", "FINISHED", 100.0, 0
		scan["bytes_to_process"], scan["bytes_processed"], scan["bytes_issued"] = p.Allocated, p.Allocated, p.Allocated
		scan["start_time"] = date(p.ScrubEnd.Add(-2 * time.Hour))
		scan["end_time"] = date(p.ScrubEnd)
	}
	var scanOut any = scan
	if fl == TrueNAS26 {
		// 26 types the scan (pool_scrub.PoolScan): no scan yet is null, not a dict of nulls.
		scanOut = nil
		if !p.ScrubEnd.IsZero() {
			scan["total_secs_left"] = nil
			scanOut = scan
		}
	}
	var statusCode, statusDetail any = "OK", nil
	if !p.Healthy {
		statusCode, statusDetail = "CORRUPT_DATA", "One or more devices has experienced an error."
	}
	u := func(n uint64) string { return strconv.FormatUint(n, 10) }
	o := object{
		"id": p.ID, "name": p.Name, "guid": p.GUID, "path": "/mnt/" + p.Name, "status": p.Status,
		"healthy": p.Healthy, "warning": false, "status_code": statusCode, "status_detail": statusDetail,
		"size": p.Size, "allocated": p.Allocated, "free": p.Free, "freeing": 0, "fragmentation": "3",
		"dedup_table_size": 0, "dedup_table_quota": "auto",
		"size_str": u(p.Size), "allocated_str": u(p.Allocated), "free_str": u(p.Free), "freeing_str": "0",
		"is_upgraded": true, "scan": scanOut, "expand": nil,
		"topology": object{"data": data, "log": []any{}, "cache": []any{}, "spare": []any{}, "special": []any{}, "dedup": []any{}},
		"autotrim": property("off", "off", "off"),
	}
	if fl == TrueNAS26 {
		o["all_sed"] = false
	}
	return o
}

// datasetOf splits a path under /mnt into the dataset holding it and the rest, as 26's shares
// and file extents report them; both are null when no dataset holds the path.
func (st *State) datasetOf(p string) (dataset, relative any) {
	best := ""
	for _, d := range st.Datasets {
		mp := "/mnt/" + d.Name
		if d.Type != "VOLUME" && (p == mp || strings.HasPrefix(p, mp+"/")) && len(d.Name) > len(best) {
			best = d.Name
		}
	}
	if best == "" {
		return nil, nil
	}
	return best, strings.TrimPrefix(strings.TrimPrefix(p, "/mnt/"+best), "/")
}

// property is the {value, rawvalue, parsed, source} dict of a ZFS property.
func property(value, raw string, parsed any) object {
	return object{"value": value, "rawvalue": raw, "parsed": parsed, "source": "NONE"}
}

func sizeProperty(n uint64) object {
	return property(humanSize(n), strconv.FormatUint(n, 10), n)
}

func humanSize(n uint64) string {
	units := []string{"B", "K", "M", "G", "T", "P"}
	f := float64(n)
	i := 0
	for f >= 1024 && i < len(units)-1 {
		f /= 1024
		i++
	}
	return strconv.FormatFloat(f, 'f', 2, 64) + units[i]
}

// renderDataset renders one dataset; with a children index it nests every child,
// recursively, the way pool.dataset.query does by default (so a naive reader sees each child
// twice: at the top level and under its parent).
func renderDataset(d Dataset, kids map[string][]Dataset) object {
	pool, _, _ := strings.Cut(d.Name, "/")
	o := object{
		"id": d.Name, "name": d.Name, "pool": pool, "type": d.Type, "encrypted": false,
		"encryption_root": nil, "key_loaded": false, "locked": false,
		"used": sizeProperty(d.Used), "available": sizeProperty(d.Available),
		"usedbydataset": sizeProperty(d.Used), "compression": property("LZ4", "lz4", "lz4"),
		"readonly": property("OFF", "off", false), "children": []any{},
	}
	if d.Type == "VOLUME" {
		o["mountpoint"] = nil
		o["volsize"] = sizeProperty(d.Volsize)
	} else {
		o["mountpoint"] = "/mnt/" + d.Name
		o["quota"] = property("0", "0", nil)
	}
	if children := kids[d.Name]; len(children) > 0 {
		nested := make([]any, 0, len(children))
		for _, c := range children {
			nested = append(nested, renderDataset(c, kids))
		}
		o["children"] = nested
	}
	return o
}

func renderInterface(fl Flavour, i Interface) object {
	var aliases, configured []any
	for _, a := range i.Aliases {
		row := object{"type": a.Type, "address": a.Address, "netmask": a.Netmask}
		if a.Type == "INET" {
			row["broadcast"] = ""
		}
		aliases = append(aliases, row)
		if !strings.HasPrefix(a.Address, "fe80:") {
			configured = append(configured, object{"type": a.Type, "address": a.Address, "netmask": a.Netmask})
		}
	}
	if i.MAC != "" {
		aliases = append(aliases, object{"type": "LINK", "address": i.MAC})
	}
	if aliases == nil {
		aliases = []any{}
	}
	if configured == nil {
		configured = []any{}
	}
	link, flags := "LINK_STATE_DOWN", []any{"BROADCAST", "MULTICAST"}
	if i.Up {
		link, flags = "LINK_STATE_UP", []any{"UP", "BROADCAST", "RUNNING", "MULTICAST", "LOWER_UP"}
	}
	members := []any{}
	for _, m := range i.Members {
		members = append(members, m)
	}
	state := object{"name": i.Name, "orig_name": i.Name, "description": i.Name, "mtu": 1500, "cloned": i.Type != "PHYSICAL",
		"flags": flags, "nd6_flags": []any{}, "capabilities": []any{}, "link_state": link,
		"media_type": "Ethernet", "media_subtype": "autoselect", "active_media_type": "Ethernet",
		"active_media_subtype": "1000Mb/s Twisted Pair", "supported_media": []any{}, "media_options": nil,
		"link_address": i.MAC, "permanent_link_address": nilIfEmpty(i.MAC), "hardware_link_address": i.MAC,
		"aliases": aliases, "vrrp_config": []any{}, "ports": []any{}, "xmit_hash_policy": nil, "lacpdu_rate": nil}
	if fl == TrueNAS26 && i.Type == "PHYSICAL" {
		state["fec_mode"] = "OFF" // 26 reports the FEC mode of physical interfaces only
	}
	o := object{"id": i.Name, "name": i.Name, "fake": false, "type": i.Type, "state": state,
		"aliases": configured, "ipv4_dhcp": false, "ipv6_auto": false, "description": "", "mtu": nil,
		"lag_ports": []any{}, "bridge_members": []any{}}
	switch i.Type {
	case "VLAN":
		o["vlan_tag"], o["vlan_parent_interface"], o["vlan_pcp"] = i.VLANTag, "enp5s0", nil
		state["parent"], state["tag"], state["pcp"] = "enp5s0", i.VLANTag, nil
	case "LINK_AGGREGATION":
		o["lag_protocol"], o["lag_ports"] = "LACP", members
		state["protocol"], state["xmit_hash_policy"], state["lacpdu_rate"] = "LACP", "LAYER2+3", "SLOW"
		ports := []any{}
		for _, m := range i.Members {
			ports = append(ports, object{"name": m, "flags": []any{"ACTIVE", "COLLECTING", "DISTRIBUTING"}})
		}
		state["ports"] = ports
	case "BRIDGE":
		o["bridge_members"], o["enable_learning"] = members, true
	}
	return o
}

// renderDisk renders one disk.query entry; n numbers the disk.
func renderDisk(n int, d Disk, pool any) object {
	var rpm any
	if d.Type == "HDD" {
		rpm = 7200
	}
	var size any = d.Size
	if d.Size == 0 {
		size = nil // the middleware's "not available"
	}
	return object{"identifier": "{serial_lunid}" + d.Serial, "name": d.Name, "devname": d.Name,
		"subsystem": "scsi", "number": 2048 + 16*n, "serial": d.Serial, "lunid": nil, "size": size,
		"description": "", "transfermode": "Auto", "hddstandby": "ALWAYS ON", "advpowermgmt": "DISABLED",
		"model": nilIfEmpty(d.Model), "type": d.Type, "rotationrate": rpm, "expiretime": nil, "zfs_guid": nil,
		"bus": "ATA", "enclosure": nil, "pool": pool}
}

// renderSMBShare renders a share in the 25.10 shape (readonly, access_based_share_enumeration,
// audit, options) or, before 25.10, the legacy one (ro, abe, purpose NO_PRESET names).
func renderSMBShare(fl Flavour, s SMBShare) object {
	o := object{"id": s.ID, "name": s.Name, "path": s.Path, "comment": s.Comment, "enabled": s.Enabled,
		"purpose": "DEFAULT_SHARE", "browsable": true, "locked": false}
	if fl == Scale2510 || fl == TrueNAS26 {
		o["readonly"], o["access_based_share_enumeration"] = false, false
		o["audit"] = object{"enable": false, "watch_list": []any{}, "ignore_list": []any{}}
		o["options"] = object{"aapl_name_mangling": false, "hostsallow": []any{}, "hostsdeny": []any{}}
		if len(s.RemotePaths) > 0 {
			o["purpose"], o["path"] = "EXTERNAL_SHARE", "EXTERNAL"
			o["options"] = object{"remote_path": slices.Clone(s.RemotePaths)}
		}
		return o
	}
	o["ro"] = false
	return o
}
