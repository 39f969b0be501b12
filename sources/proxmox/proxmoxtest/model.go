package proxmoxtest

import (
	"slices"
)

// Token is an API token the server accepts. A nil ACL means no privilege separation with a
// root user: every check passes. A non-nil ACL (even empty) is a privilege-separated token
// holding exactly those privileges, per ACL path, propagated to sub-paths ("/" covers
// "/vms/100").
type Token struct {
	ID     string // user@realm!tokenid
	Secret string
	ACL    map[string][]string
}

// Node is one cluster member.
type Node struct {
	Name        string
	Online      bool
	IP          string // the cluster network address shown in /cluster/status
	PVEVersion  string // "8.2.4"; DefaultVersion when empty
	CPUModel    string
	Sockets     int
	Cores       int   // per socket
	MemoryBytes int64 // total RAM
	// Network is what /nodes/{n}/network lists (parsed /etc/network/interfaces).
	Network []NodeIface
}

// NodeIface is one entry of /nodes/{n}/network.
type NodeIface struct {
	Iface       string // "vmbr0"
	Type        string // "bridge", "eth", "bond", "vlan"
	CIDR        string // "192.168.1.10/24"
	CIDR6       string // "2001:db8::10/64"
	BridgePorts string
	VLANID      int
}

// Guest types.
const (
	TypeQEMU = "qemu"
	TypeLXC  = "lxc"
)

// Agent states of a QEMU guest.
type AgentState int

const (
	// AgentNotConfigured: no "agent: 1" in the config; PVE answers 500 "No QEMU guest agent configured".
	AgentNotConfigured AgentState = iota
	// AgentNotRunning: configured, but the agent does not answer inside the guest.
	AgentNotRunning
	// AgentRunning: the agent answers network-get-interfaces.
	AgentRunning
)

// Guest is a QEMU VM or an LXC container.
type Guest struct {
	Type     string // TypeQEMU or TypeLXC
	VMID     int
	Node     string
	Name     string // QEMU name / LXC hostname
	Status   string // "running" or "stopped"
	Template bool
	Tags     []string
	Cores    int // QEMU: cores per socket; LXC: cores
	Sockets  int // QEMU only
	MemoryMB int
	// MemoryAsString sends "memory": "2048" in the config (qemu-server >= 8.0.8 does this).
	MemoryAsString bool
	// VMIDAsString sends "vmid": "100" in resource and guest lists.
	VMIDAsString bool
	// Config holds further raw config entries served verbatim: net0, scsi0, ide2, rootfs, mp0,
	// smbios1, vmgenid, ostype, ...
	Config map[string]any
	// Agent is the guest agent's state (QEMU).
	Agent AgentState
	// Interfaces are what the guest agent (QEMU) or /lxc/{id}/interfaces (LXC, running only)
	// report; "lo" and IPv6 link-local addresses are added by the server as the real ones do.
	Interfaces []GuestIface
}

// GuestIface is an interface as the guest sees it.
type GuestIface struct {
	Name string   // guest-OS name: "ens18", "eth0"
	MAC  string   // any case
	IPs  []string // "192.168.1.50/24", "2001:db8::5/64"
}

func cloneGuest(g Guest) *Guest {
	c := g
	c.Tags = slices.Clone(g.Tags)
	c.Config = make(map[string]any, len(g.Config))
	for k, v := range g.Config {
		c.Config[k] = v
	}
	c.Interfaces = make([]GuestIface, len(g.Interfaces))
	for i, ifc := range g.Interfaces {
		ifc.IPs = slices.Clone(ifc.IPs)
		c.Interfaces[i] = ifc
	}
	return &c
}
