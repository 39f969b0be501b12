package proxmoxtest

import (
	"fmt"
	"math/rand/v2"
)

// Lab is a generated set of nodes and guests.
type Lab struct {
	Nodes  []Node
	Guests []Guest
}

// LabSpec says what GenerateLab builds.
type LabSpec struct {
	Nodes  int    // number of nodes, named pve1..pveN
	Guests int    // number of guests, spread round-robin over the nodes
	Seed   uint64 // same seed, same lab
	// FirstVMID is the first guest id (default 100).
	FirstVMID int
	// NamePrefix prefixes guest names (default "vm"); give two clusters the same prefix to get
	// the same names in both.
	NamePrefix string
	// MACPrefix is the first three octets of guest MACs (default "BC:24:11", Proxmox's OUI).
	// Give each cluster its own when guests of several clusters must not share MACs.
	MACPrefix string
	// Subnet is the first two octets of guest IPv4 addresses (default "10.20").
	Subnet string
}

// GenerateLab builds a realistic homelab: three quarters QEMU VMs, a quarter LXC containers,
// about 80% running; most VMs with the guest agent, some with it stopped, a few without it;
// SCSI disks, a cdrom on many VMs, a second disk on some; VLAN tags on some NICs; memory as a
// string on about a third (newer qemu-server); a template every 50 guests; SMBIOS UUIDs.
func GenerateLab(spec LabSpec) Lab {
	if spec.FirstVMID == 0 {
		spec.FirstVMID = 100
	}
	if spec.NamePrefix == "" {
		spec.NamePrefix = "vm"
	}
	if spec.MACPrefix == "" {
		spec.MACPrefix = "BC:24:11"
	}
	if spec.Subnet == "" {
		spec.Subnet = "10.20"
	}
	rng := rand.New(rand.NewPCG(spec.Seed, spec.Seed+0x5eed))
	var lab Lab
	for i := range spec.Nodes {
		lab.Nodes = append(lab.Nodes, Node{
			Name: fmt.Sprintf("pve%d", i+1), Online: true, IP: fmt.Sprintf("192.168.10.%d", 11+i),
			CPUModel: "AMD EPYC 7302P 16-Core Processor", Sockets: 1, Cores: 16, MemoryBytes: 128 << 30,
			Network: []NodeIface{
				{Iface: "eno1", Type: "eth"},
				{Iface: "vmbr0", Type: "bridge", CIDR: fmt.Sprintf("192.168.10.%d/24", 11+i), BridgePorts: "eno1"},
			},
		})
	}
	memSizes := []int{512, 1024, 2048, 4096, 8192, 16384}
	for i := range spec.Guests {
		vmid := spec.FirstVMID + i
		g := Guest{
			VMID:     vmid,
			Node:     lab.Nodes[i%max(len(lab.Nodes), 1)].Name,
			Status:   "running",
			Cores:    1 + rng.IntN(4),
			MemoryMB: memSizes[rng.IntN(len(memSizes))],
			Config:   map[string]any{},
		}
		if len(lab.Nodes) == 0 {
			g.Node = "pve1"
		}
		if rng.IntN(5) == 0 {
			g.Status = "stopped"
		}
		if rng.IntN(3) == 0 {
			g.MemoryAsString = true
		}
		if rng.IntN(4) == 0 {
			g.Tags = []string{[]string{"prod", "dev", "web", "db"}[rng.IntN(4)]}
		}
		mac := fmt.Sprintf("%s:%02X:%02X:%02X", spec.MACPrefix, (i>>16)&0xff, (i>>8)&0xff, i&0xff)
		// One /24 per 240 guests keeps addresses unique.
		ip := fmt.Sprintf("%s.%d.%d/24", spec.Subnet, i/240, 10+i%240)
		vlan := ""
		if rng.IntN(3) == 0 {
			vlan = fmt.Sprintf(",tag=%d", 10*(1+rng.IntN(4)))
		}
		size := []int{8, 16, 32, 64}[rng.IntN(4)]
		if i%4 == 3 {
			g.Type = TypeLXC
			g.Name = fmt.Sprintf("%s-ct%03d", spec.NamePrefix, i)
			g.Config["net0"] = fmt.Sprintf("name=eth0,bridge=vmbr0,hwaddr=%s,ip=dhcp,type=veth%s", mac, vlan)
			g.Config["rootfs"] = fmt.Sprintf("local-lvm:vm-%d-disk-0,size=%dG", vmid, size)
			if rng.IntN(4) == 0 {
				g.Config["mp0"] = fmt.Sprintf("tank:subvol-%d-disk-1,mp=/data,size=100G", vmid)
			}
			g.Interfaces = []GuestIface{{Name: "eth0", MAC: mac, IPs: []string{ip}}}
		} else {
			g.Type = TypeQEMU
			g.Name = fmt.Sprintf("%s-%03d", spec.NamePrefix, i)
			g.Sockets = 1
			g.Config["net0"] = fmt.Sprintf("virtio=%s,bridge=vmbr0,firewall=1%s", mac, vlan)
			g.Config["scsi0"] = fmt.Sprintf("local-lvm:vm-%d-disk-0,iothread=1,size=%dG", vmid, size)
			g.Config["scsihw"] = "virtio-scsi-single"
			if rng.IntN(2) == 0 {
				g.Config["ide2"] = "local:iso/debian-12.7.0-amd64-netinst.iso,media=cdrom,size=631M"
			}
			if rng.IntN(5) == 0 {
				g.Config["scsi1"] = fmt.Sprintf("tank:vm-%d-disk-1,size=200G", vmid)
			}
			g.Config["smbios1"] = fmt.Sprintf("uuid=%08x-%04x-4%03x-8%03x-%012x", rng.Uint32(), rng.IntN(1<<16), rng.IntN(1<<12), rng.IntN(1<<12), rng.Uint64()&(1<<48-1))
			g.Config["vmgenid"] = fmt.Sprintf("%08x-0000-4000-8000-%012x", rng.Uint32(), rng.Uint64()&(1<<48-1))
			switch r := rng.IntN(10); {
			case r < 7:
				g.Agent = AgentRunning
			case r < 9:
				g.Agent = AgentNotRunning
			default:
				g.Agent = AgentNotConfigured
			}
			g.Interfaces = []GuestIface{{Name: "ens18", MAC: mac, IPs: []string{ip}}}
		}
		if i%50 == 49 {
			g.Template = true
			g.Status = "stopped"
		}
		lab.Guests = append(lab.Guests, g)
	}
	return lab
}
