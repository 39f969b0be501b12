package proxmoxtest

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

func (s *Server) clusterStatus() []map[string]any {
	var out []map[string]any
	online := 0
	for _, n := range s.nodes {
		if n.Online {
			online++
		}
	}
	if s.clusterName != "" {
		out = append(out, map[string]any{
			"type": "cluster", "id": "cluster", "name": s.clusterName, "nodes": len(s.nodes),
			"quorate": boolInt(online*2 > len(s.nodes)), "version": len(s.nodes) + 2,
		})
	}
	for i, n := range s.nodes {
		out = append(out, map[string]any{
			"type": "node", "id": "node/" + n.Name, "name": n.Name, "nodeid": i + 1,
			"online": boolInt(n.Online), "local": boolInt(i == 0), "ip": n.IP, "level": "",
		})
	}
	return out
}

func (s *Server) sortedGuests() []*Guest {
	out := make([]*Guest, 0, len(s.guests))
	for _, g := range s.guests {
		out = append(out, g)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].VMID < out[j].VMID })
	return out
}

// clusterResources filters silently by permission, as PVE does: a token without VM.Audit
// simply does not see those guests.
func (s *Server) clusterResources(tok Token, typ string) []map[string]any {
	out := []map[string]any{}
	if typ == "" || typ == "node" {
		for _, n := range s.nodes {
			if !allowed(tok, "/nodes/"+n.Name, PrivSysAudit) {
				continue
			}
			e := map[string]any{"id": "node/" + n.Name, "type": "node", "node": n.Name, "level": ""}
			if n.Online {
				e["status"] = "online"
				e["maxcpu"] = n.Sockets * n.Cores
				e["maxmem"] = n.MemoryBytes
				e["uptime"] = 86400
			} else {
				e["status"] = "offline"
			}
			out = append(out, e)
		}
	}
	if typ == "" || typ == "vm" {
		for _, g := range s.sortedGuests() {
			if !allowed(tok, fmt.Sprintf("/vms/%d", g.VMID), PrivVMAudit) {
				continue
			}
			e := guestResource(g)
			if n := s.nodeLocked(g.Node); n == nil || !n.Online {
				// What the cluster file system still knows; live values are gone.
				e["status"] = "unknown"
				for _, k := range []string{"cpu", "mem", "uptime", "netin", "netout", "diskread", "diskwrite"} {
					delete(e, k)
				}
			}
			e["id"] = fmt.Sprintf("%s/%d", g.Type, g.VMID)
			e["type"] = g.Type
			e["node"] = g.Node
			out = append(out, e)
		}
	}
	return out
}

func (s *Server) nodeList(tok Token) []map[string]any {
	out := []map[string]any{}
	for _, n := range s.nodes {
		if !allowed(tok, "/nodes/"+n.Name, PrivSysAudit) {
			continue
		}
		e := map[string]any{"node": n.Name, "id": "node/" + n.Name, "type": "node", "level": ""}
		if n.Online {
			e["status"] = "online"
			e["maxcpu"] = n.Sockets * n.Cores
			e["maxmem"] = n.MemoryBytes
			e["ssl_fingerprint"] = "AB:CD:EF"
		} else {
			e["status"] = "offline"
		}
		out = append(out, e)
	}
	return out
}

func (s *Server) guestList(tok Token, node, typ string) []map[string]any {
	out := []map[string]any{}
	for _, g := range s.sortedGuests() {
		if g.Node != node || g.Type != typ || !allowed(tok, fmt.Sprintf("/vms/%d", g.VMID), PrivVMAudit) {
			continue
		}
		out = append(out, guestResource(g))
	}
	return out
}

// guestResource is the entry of /cluster/resources and /nodes/{n}/{qemu,lxc}.
func guestResource(g *Guest) map[string]any {
	e := map[string]any{
		"vmid": vmidValue(g), "name": g.Name, "status": g.Status,
		"maxcpu": guestCPUs(g), "maxmem": int64(g.MemoryMB) << 20, "maxdisk": bootDiskBytes(g),
		"cpu": 0.0, "mem": 0, "uptime": 0, "netin": 0, "netout": 0, "diskread": 0, "diskwrite": 0, "disk": 0,
	}
	if g.Status == "running" {
		e["cpu"] = 0.03
		e["mem"] = int64(g.MemoryMB) << 19
		e["uptime"] = 3600
	}
	if len(g.Tags) > 0 {
		e["tags"] = strings.Join(g.Tags, ";")
	}
	if g.Template {
		e["template"] = 1
	}
	return e
}

func vmidValue(g *Guest) any {
	if g.VMIDAsString {
		return strconv.Itoa(g.VMID)
	}
	return g.VMID
}

func guestCPUs(g *Guest) int {
	cores, sockets := max(g.Cores, 1), 1
	if g.Type == TypeQEMU {
		sockets = max(g.Sockets, 1)
	}
	return cores * sockets
}

// bootDiskBytes mimics maxdisk: the size of the boot disk (QEMU) or rootfs (LXC).
func bootDiskBytes(g *Guest) int64 {
	keys := []string{"scsi0", "virtio0", "sata0", "ide0"}
	if g.Type == TypeLXC {
		keys = []string{"rootfs"}
	}
	for _, k := range keys {
		v, ok := g.Config[k].(string)
		if !ok || strings.Contains(v, "media=cdrom") {
			continue
		}
		for _, opt := range strings.Split(v, ",") {
			if sz, ok := strings.CutPrefix(opt, "size="); ok {
				return sizeBytes(sz)
			}
		}
	}
	return 0
}

func sizeBytes(s string) int64 {
	if s == "" {
		return 0
	}
	mult := int64(1)
	switch s[len(s)-1] {
	case 'K':
		mult = 1 << 10
	case 'M':
		mult = 1 << 20
	case 'G':
		mult = 1 << 30
	case 'T':
		mult = 1 << 40
	}
	if mult > 1 {
		s = s[:len(s)-1]
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0
	}
	return int64(f * float64(mult))
}

func guestConfig(g *Guest) map[string]any {
	c := map[string]any{"digest": fmt.Sprintf("%040x", g.VMID*7919)}
	if g.Type == TypeQEMU {
		c["name"] = g.Name
		c["cores"] = max(g.Cores, 1)
		c["sockets"] = max(g.Sockets, 1)
		c["ostype"] = "l26"
		c["boot"] = "order=scsi0;ide2;net0"
		if g.Agent != AgentNotConfigured {
			c["agent"] = "1"
		}
	} else {
		c["hostname"] = g.Name
		c["cores"] = max(g.Cores, 1)
		c["ostype"] = "debian"
		c["arch"] = "amd64"
		c["swap"] = 512
	}
	if g.MemoryAsString {
		c["memory"] = strconv.Itoa(g.MemoryMB)
	} else {
		c["memory"] = g.MemoryMB
	}
	if len(g.Tags) > 0 {
		c["tags"] = strings.Join(g.Tags, ";")
	}
	if g.Template {
		c["template"] = 1
	}
	for k, v := range g.Config {
		c[k] = v
	}
	return c
}

func agentInterfaces(g *Guest) []map[string]any {
	out := []map[string]any{{
		"name": "lo", "hardware-address": "00:00:00:00:00:00",
		"ip-addresses": []map[string]any{
			{"ip-address": "127.0.0.1", "ip-address-type": "ipv4", "prefix": 8},
			{"ip-address": "::1", "ip-address-type": "ipv6", "prefix": 128},
		},
		"statistics": agentStats(1024, 1024),
	}}
	for _, ifc := range g.Interfaces {
		var addrs []map[string]any
		for _, ip := range ifc.IPs {
			addr, bits, _ := strings.Cut(ip, "/")
			prefix, _ := strconv.Atoi(bits)
			typ := "ipv4"
			if strings.Contains(addr, ":") {
				typ = "ipv6"
			}
			addrs = append(addrs, map[string]any{"ip-address": addr, "ip-address-type": typ, "prefix": prefix})
		}
		addrs = append(addrs, map[string]any{"ip-address": linkLocal(ifc.MAC), "ip-address-type": "ipv6", "prefix": 64})
		out = append(out, map[string]any{
			"name": ifc.Name, "hardware-address": strings.ToLower(ifc.MAC), "ip-addresses": addrs,
			"statistics": agentStats(4096, 2048),
		})
	}
	return out
}

// agentStats is a GuestNetworkInterfaceStat: QEMU's schema requires all eight counters.
func agentStats(rx, tx int) map[string]any {
	return map[string]any{"rx-bytes": rx, "rx-packets": rx / 64, "rx-errs": 0, "rx-dropped": 0,
		"tx-bytes": tx, "tx-packets": tx / 64, "tx-errs": 0, "tx-dropped": 0}
}

func lxcInterfaces(g *Guest) []map[string]any {
	// PVE 9 answers both the old fields (hwaddr, inet, inet6) and the guest-agent-like ones
	// (hardware-address, ip-addresses), which its schema marks required.
	ipEntry := func(cidr string) map[string]any {
		addr, bits, _ := strings.Cut(cidr, "/")
		n, _ := strconv.Atoi(bits)
		typ := "inet"
		if strings.Contains(addr, ":") {
			typ = "inet6"
		}
		return map[string]any{"ip-address": addr, "ip-address-type": typ, "prefix": n}
	}
	out := []map[string]any{{"name": "lo", "hwaddr": "00:00:00:00:00:00", "hardware-address": "00:00:00:00:00:00",
		"inet": "127.0.0.1/8", "inet6": "::1/128", "ip-addresses": []map[string]any{ipEntry("127.0.0.1/8"), ipEntry("::1/128")}}}
	for _, ifc := range g.Interfaces {
		mac := strings.ToLower(ifc.MAC)
		e := map[string]any{"name": ifc.Name, "hwaddr": mac, "hardware-address": mac, "inet6": linkLocal(ifc.MAC) + "/64"}
		ips := []map[string]any{}
		for _, ip := range ifc.IPs {
			if strings.Contains(ip, ":") {
				e["inet6"] = ip
			} else {
				e["inet"] = ip
			}
			ips = append(ips, ipEntry(ip))
		}
		ips = append(ips, ipEntry(linkLocal(ifc.MAC)+"/64"))
		e["ip-addresses"] = ips
		out = append(out, e)
	}
	return out
}

// linkLocal derives the EUI-64 fe80:: address a guest assigns itself.
func linkLocal(mac string) string {
	var b [6]byte
	parts := strings.Split(mac, ":")
	for i := 0; i < 6 && i < len(parts); i++ {
		v, _ := strconv.ParseUint(parts[i], 16, 8)
		b[i] = byte(v)
	}
	return fmt.Sprintf("fe80::%02x%02x:%02xff:fe%02x:%02x%02x", b[0]^0x02, b[1], b[2], b[3], b[4], b[5])
}

func nodeStatus(n *Node) map[string]any {
	v := n.PVEVersion
	if v == "" {
		v = DefaultVersion
	}
	cpus := max(n.Sockets, 1) * max(n.Cores, 1)
	return map[string]any{
		"pveversion": "pve-manager/" + v + "/faa83925c9641325",
		"kversion":   "Linux 6.8.12-4-pve #1 SMP PREEMPT_DYNAMIC PMX 6.8.12-4 (2024-11-06T15:04Z)",
		"cpuinfo": map[string]any{
			"model": n.CPUModel, "sockets": max(n.Sockets, 1), "cores": max(n.Cores, 1), "cpus": cpus * 2,
			"mhz": "2999.998", "hvm": "1", "user_hz": 100, "flags": "fpu vme de pse tsc msr pae mce",
		},
		"memory": map[string]any{"total": n.MemoryBytes, "used": n.MemoryBytes / 3, "free": n.MemoryBytes - n.MemoryBytes/3,
			"available": n.MemoryBytes - n.MemoryBytes/3},
		"current-kernel": map[string]any{"sysname": "Linux", "release": "6.8.12-4-pve", "machine": "x86_64",
			"version": "#1 SMP PREEMPT_DYNAMIC PMX 6.8.12-4 (2024-11-06T15:04Z)"},
		"swap":    map[string]any{"total": 8 << 30, "used": 0, "free": 8 << 30},
		"rootfs":  map[string]any{"total": 100 << 30, "used": 10 << 30, "free": 90 << 30, "avail": 85 << 30},
		"loadavg": []string{"0.12", "0.10", "0.09"},
		"cpu":     0.04, "wait": 0.0, "idle": 0, "uptime": 864000,
		"ksm":       map[string]any{"shared": 0},
		"boot-info": map[string]any{"mode": "efi", "secureboot": 0},
	}
}

func nodeNetwork(n *Node) []map[string]any {
	out := []map[string]any{}
	for _, ifc := range n.Network {
		e := map[string]any{"iface": ifc.Iface, "type": ifc.Type, "active": 1, "autostart": 1, "method": "manual", "families": []string{"inet"}, "priority": len(out) + 3}
		if ifc.CIDR != "" {
			e["cidr"] = ifc.CIDR
			addr, bits, _ := strings.Cut(ifc.CIDR, "/")
			e["address"] = addr
			e["netmask"] = bits
			e["method"] = "static"
		}
		if ifc.CIDR6 != "" {
			e["cidr6"] = ifc.CIDR6
			addr, bits, _ := strings.Cut(ifc.CIDR6, "/")
			e["address6"] = addr
			e["netmask6"], _ = strconv.Atoi(bits)
			e["method6"] = "static"
			e["families"] = append(e["families"].([]string), "inet6")
		}
		if ifc.BridgePorts != "" {
			e["bridge_ports"] = ifc.BridgePorts
		}
		if ifc.VLANID != 0 {
			e["vlan-id"] = strconv.Itoa(ifc.VLANID)
		}
		out = append(out, e)
	}
	return out
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func majorMinor(v string) string {
	parts := strings.SplitN(v, ".", 3)
	if len(parts) < 2 {
		return v
	}
	return parts[0] + "." + parts[1]
}
