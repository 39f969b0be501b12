package proxmox

import (
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/netbox-agent/netbox-agent/sources"
)

// guestConfig is what we read from .../qemu/{id}/config or .../lxc/{id}/config, decoded field
// by field so that a bad value is reported with its key and the rest still counts.
type guestConfig struct {
	Name       string // QEMU name or LXC hostname
	MemoryMB   int64
	Cores      int64
	Sockets    int64
	Tags       string
	SMBIOSUUID string
	OSType     string
	Agent      bool
	Nets       []netConfig
	Disks      []sources.Disk
}

// netConfig is one net<N> entry.
type netConfig struct {
	Key    string // "net0"
	Name   string // LXC: name=eth0
	Model  string // QEMU: virtio, e1000, ...
	MAC    string
	Bridge string
	VLAN   int
	IP     string // LXC static ip=a.b.c.d/n
	IP6    string
}

var (
	netKey       = regexp.MustCompile(`^net\d+$`)
	qemuDiskKey  = regexp.MustCompile(`^(ide|sata|scsi|virtio)\d+$`)
	lxcMountKey  = regexp.MustCompile(`^(rootfs|mp\d+)$`)
	macLike      = regexp.MustCompile(`^[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5}$`)
	sizeWithUnit = regexp.MustCompile(`^([0-9]+(?:\.[0-9]+)?)([KMGT]?)$`)
)

// parseGuestConfig decodes a config object; errors name the key and the value.
func parseGuestConfig(typ string, raw map[string]json.RawMessage) (guestConfig, error) {
	var c guestConfig
	str := func(key string) (string, error) {
		v, ok := raw[key]
		if !ok {
			return "", nil
		}
		var s string
		if err := json.Unmarshal(v, &s); err == nil {
			return s, nil
		}
		// Some fields arrive as numbers on some versions; keep their text.
		var n json.Number
		if err := json.Unmarshal(v, &n); err == nil {
			return n.String(), nil
		}
		return "", fmt.Errorf("%s: %s is not a string", key, v)
	}
	num := func(key string) (int64, error) {
		v, ok := raw[key]
		if !ok {
			return 0, nil
		}
		n, err := parseFlexInt(v)
		if err != nil {
			return 0, fmt.Errorf("%s: %w", key, err)
		}
		return n, nil
	}
	var err error
	nameKey := "name"
	if typ == "lxc" {
		nameKey = "hostname"
	}
	if c.Name, err = str(nameKey); err != nil {
		return guestConfig{}, err
	}
	if c.MemoryMB, err = num("memory"); err != nil {
		return guestConfig{}, err
	}
	if c.Cores, err = num("cores"); err != nil {
		return guestConfig{}, err
	}
	if c.Sockets, err = num("sockets"); err != nil {
		return guestConfig{}, err
	}
	if c.Tags, err = str("tags"); err != nil {
		return guestConfig{}, err
	}
	if c.OSType, err = str("ostype"); err != nil {
		return guestConfig{}, err
	}
	if typ == "qemu" {
		smbios, err := str("smbios1")
		if err != nil {
			return guestConfig{}, err
		}
		// smbios1 is "uuid=...,manufacturer=...": only the uuid identifies the VM (vmgenid
		// changes on restore and is never used).
		c.SMBIOSUUID = propertyValue(smbios, "uuid")
		agent, err := str("agent")
		if err != nil {
			return guestConfig{}, err
		}
		// "1", "enabled=1,fstrim_cloned_disks=1" or "0".
		first, _, _ := strings.Cut(agent, ",")
		first = strings.TrimPrefix(first, "enabled=")
		c.Agent = first == "1" || first == "true"
	}

	keys := make([]string, 0, len(raw))
	for k := range raw {
		keys = append(keys, k)
	}
	sortKeys(keys)
	for _, k := range keys {
		switch {
		case netKey.MatchString(k):
			v, err := str(k)
			if err != nil {
				return guestConfig{}, err
			}
			n, err := parseNet(k, v)
			if err != nil {
				return guestConfig{}, err
			}
			c.Nets = append(c.Nets, n)
		case typ == "qemu" && qemuDiskKey.MatchString(k), typ == "lxc" && lxcMountKey.MatchString(k):
			v, err := str(k)
			if err != nil {
				return guestConfig{}, err
			}
			d, isDisk, err := parseDisk(k, v)
			if err != nil {
				return guestConfig{}, err
			}
			if isDisk {
				c.Disks = append(c.Disks, d)
			}
		}
	}
	return c, nil
}

// sortKeys orders "net2" before "net10".
func sortKeys(keys []string) {
	split := func(s string) (string, int) {
		i := len(s)
		for i > 0 && s[i-1] >= '0' && s[i-1] <= '9' {
			i--
		}
		n, _ := strconv.Atoi(s[i:])
		return s[:i], n
	}
	sort.Slice(keys, func(i, j int) bool {
		pi, ni := split(keys[i])
		pj, nj := split(keys[j])
		if pi != pj {
			return pi < pj
		}
		return ni < nj
	})
}

// propertyValue returns key's value from a PVE property string "a=1,b=2".
func propertyValue(s, key string) string {
	for _, part := range strings.Split(s, ",") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(part), key+"="); ok {
			return v
		}
	}
	return ""
}

// parseNet reads "virtio=BC:24:11:2E:C5:4A,bridge=vmbr0,tag=20" (QEMU: model=MAC first, or
// macaddr=) and "name=eth0,bridge=vmbr0,hwaddr=BC:...,ip=dhcp,tag=20,type=veth" (LXC).
func parseNet(key, v string) (netConfig, error) {
	n := netConfig{Key: key}
	for i, part := range strings.Split(v, ",") {
		k, val, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			continue
		}
		switch k {
		case "bridge":
			n.Bridge = val
		case "tag":
			tag, err := strconv.Atoi(val)
			if err != nil || tag < 1 || tag > 4094 {
				return netConfig{}, fmt.Errorf("%s: tag=%q is not a VLAN id (1-4094)", key, val)
			}
			n.VLAN = tag
		case "hwaddr", "macaddr":
			n.MAC = val
		case "name":
			n.Name = val
		case "ip":
			if val != "dhcp" && val != "manual" {
				n.IP = val
			}
		case "ip6":
			if val != "dhcp" && val != "auto" && val != "manual" {
				n.IP6 = val
			}
		case "model":
			n.Model = val
		default:
			if i == 0 && macLike.MatchString(val) {
				n.Model, n.MAC = k, val
			}
		}
	}
	return n, nil
}

// parseDisk reads "local-lvm:vm-101-disk-0,size=32G"; cdroms ("media=cdrom", or "none") are
// not disks.
func parseDisk(key, v string) (sources.Disk, bool, error) {
	parts := strings.Split(v, ",")
	vol := strings.TrimSpace(parts[0])
	// The volume is the default key: "file=" (QEMU) or "volume=" (LXC) may be written out.
	vol = strings.TrimPrefix(strings.TrimPrefix(vol, "file="), "volume=")
	if vol == "none" || vol == "cdrom" {
		return sources.Disk{}, false, nil
	}
	d := sources.Disk{Name: key}
	for _, p := range parts[1:] {
		k, val, _ := strings.Cut(strings.TrimSpace(p), "=")
		switch k {
		case "media":
			if val == "cdrom" {
				return sources.Disk{}, false, nil
			}
		case "size":
			mb, err := sizeMB(val)
			if err != nil {
				return sources.Disk{}, false, fmt.Errorf("%s: %w", key, err)
			}
			d.SizeMB = mb
		}
	}
	return d, true, nil
}

// sizeMB converts "32G", "512M", "1.5T", "4194304K" or bytes to MiB (what NetBox stores as MB).
func sizeMB(s string) (int64, error) {
	m := sizeWithUnit.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil {
		return 0, fmt.Errorf("size=%q is not a size", s)
	}
	f, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		return 0, fmt.Errorf("size=%q: %w", s, err)
	}
	switch m[2] {
	case "":
		f /= 1 << 20
	case "K":
		f /= 1 << 10
	case "G":
		f *= 1 << 10
	case "T":
		f *= 1 << 20
	}
	return int64(f + 0.5), nil
}

// splitTags splits PVE's tag list ("a;b", older "a,b" or "a b").
func splitTags(s string) []string { return sources.SplitList(s, "; ,") }

// guestStatus maps a PVE guest status to a NetBox status ("" when unknown).
func guestStatus(s string) string {
	switch s {
	case "running":
		return "active"
	case "stopped":
		return "offline"
	}
	return ""
}

// pveVersion extracts "8.2.4" from "pve-manager/8.2.4/faa83925c9641325".
func pveVersion(s string) string {
	parts := strings.Split(s, "/")
	if len(parts) >= 2 && parts[0] == "pve-manager" {
		return parts[1]
	}
	return strings.TrimSpace(s)
}
