package lab

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/netbox-agent/netbox-agent/sources/homeassistant/homeassistanttest"
	"github.com/netbox-agent/netbox-agent/sources/proxmox/proxmoxtest"
	"github.com/netbox-agent/netbox-agent/sources/truenas/truenastest"
)

// The sample homelab. Addresses are documentation ranges (192.0.2.0/24 LAN, 198.51.100.0/24
// VM network, 203.0.113.0/24 storage VLAN, 2001:db8::/32) and 10.20.0.0/16 for synthetic VMs:
// they are data served by the simulators, never contacted.
//
// Hosts several sources see, on purpose:
//   - nas01: TrueNAS and the inventory CSV (same serial and MAC);
//   - pve1..pve3: Proxmox nodes (name and cluster IP only, as the API gives no MAC or serial)
//     and inventory rows with the same name and IP that add serial, MAC, manufacturer, model;
//   - dns01 (QEMU) and pihole (LXC): Proxmox guests whose MACs Home Assistant also sees as
//     router device trackers;
//   - hue-bridge: one box registered twice in Home Assistant (hue and homekit_controller),
//     its MAC spelt in two cases.
//
// Machines whose addresses and MACs arrive only as identity keys, never on a named interface
// (each must still land on its machine: docs/facts.md):
//   - pve4: an offline Proxmox node, known only by its /cluster/status address;
//   - living-room-tv: a Home Assistant device (Cast and DLNA entries, one MAC connection);
//   - office-printer: a Home Assistant device whose address comes from a hosts-file line;
//   - old-camera: an expired DHCP lease (skipped and counted, not written);
//   - a Zigbee sensor without MAC or IP (not imported by default, counted).
const (
	// SiteName is the NetBox site everything goes to (sync.site in the written config).
	SiteName = "Homelab"
	// ClusterName is the Proxmox cluster.
	ClusterName = "pve-lab"

	// Source instance names in the written config.
	ProxmoxSource       = "pve-lab"
	TrueNASSource       = "nas"
	HomeAssistantSource = "home"
	InventorySource     = "inventory"
)

// maxVMs bounds Options.VMs: synthetic guests get 10.20.<i/240>.<10+i%240>, so the third octet
// must stay below 256.
const maxVMs = 50_000

// firstSyntheticVMID keeps synthetic guests clear of the sample's ids (100-107, 9000).
const firstSyntheticVMID = 10_000

func sampleNodes() []proxmoxtest.Node {
	cpus := []string{"Intel(R) Xeon(R) E-2314 CPU @ 2.80GHz", "Intel(R) Xeon(R) E-2314 CPU @ 2.80GHz", "AMD Ryzen 7 5700G with Radeon Graphics"}
	var nodes []proxmoxtest.Node
	for i := range 3 {
		ip := fmt.Sprintf("192.0.2.%d", 11+i)
		nodes = append(nodes, proxmoxtest.Node{
			Name: fmt.Sprintf("pve%d", i+1), Online: true, IP: ip,
			CPUModel: cpus[i], Sockets: 1, Cores: 4 + 4*(i/2), MemoryBytes: int64(64+64*(i/2)) << 30,
			Network: []proxmoxtest.NodeIface{
				{Iface: "eno1", Type: "eth"},
				{Iface: "vmbr0", Type: "bridge", CIDR: ip + "/24", BridgePorts: "eno1"},
			},
		})
	}
	// Offline: Proxmox gives its name and cluster address, nothing else.
	nodes = append(nodes, proxmoxtest.Node{Name: "pve4", Online: false, IP: OfflineNodeIP})
	return nodes
}

// Key-only facts of the sample (see the package comment on machines known only by keys).
const (
	OfflineNodeIP = "192.0.2.14"
	tvMAC         = "a8:23:fe:5a:00:50"
	// TVMAC is the living-room TV's MAC as NetBox shows it.
	TVMAC = "A8:23:FE:5A:00:50"
	// PrinterHostsIP is the printer's address, known only from the hosts file.
	PrinterHostsIP = "192.0.2.40"
)

// guestMAC is the MAC of sample guest n (Proxmox's OUI, universally administered, so a strong
// merge key).
func guestMAC(n int) string { return fmt.Sprintf("BC:24:11:5A:01:%02X", n) }

func sampleGuests() []proxmoxtest.Guest {
	qemu := func(vmid int, node, name string, agent proxmoxtest.AgentState, diskGB int) proxmoxtest.Guest {
		n := vmid - 100
		return proxmoxtest.Guest{
			Type: proxmoxtest.TypeQEMU, VMID: vmid, Node: node, Name: name, Status: "running",
			Cores: 2, Sockets: 1, MemoryMB: 2048, Agent: agent,
			Config: map[string]any{
				"net0":    fmt.Sprintf("virtio=%s,bridge=vmbr0,firewall=1", guestMAC(n)),
				"scsi0":   fmt.Sprintf("local-lvm:vm-%d-disk-0,iothread=1,size=%dG", vmid, diskGB),
				"scsihw":  "virtio-scsi-single",
				"smbios1": fmt.Sprintf("uuid=5a1ab000-0000-4000-8000-%012d", vmid),
			},
		}
	}
	lxc := func(vmid int, node, name, ip string, diskGB int) proxmoxtest.Guest {
		n := vmid - 100
		return proxmoxtest.Guest{
			Type: proxmoxtest.TypeLXC, VMID: vmid, Node: node, Name: name, Status: "running",
			Cores: 1, MemoryMB: 512,
			Config: map[string]any{
				"net0":   fmt.Sprintf("name=eth0,bridge=vmbr0,hwaddr=%s,ip=%s,gw=198.51.100.1,type=veth", guestMAC(n), ip),
				"rootfs": fmt.Sprintf("local-lvm:vm-%d-disk-0,size=%dG", vmid, diskGB),
			},
			Interfaces: []proxmoxtest.GuestIface{{Name: "eth0", MAC: guestMAC(n), IPs: []string{ip}}},
		}
	}
	iface := func(n int, ips ...string) []proxmoxtest.GuestIface {
		return []proxmoxtest.GuestIface{{Name: "ens18", MAC: guestMAC(n), IPs: ips}}
	}

	dns := qemu(100, "pve1", "dns01", proxmoxtest.AgentRunning, 16)
	dns.Interfaces = iface(0, "198.51.100.10/24")
	dns.Tags = []string{"infra"}

	gitea := qemu(101, "pve1", "gitea", proxmoxtest.AgentRunning, 32)
	gitea.Interfaces = iface(1, "198.51.100.11/24", "2001:db8:100::11/64")
	gitea.MemoryAsString = true

	media := qemu(102, "pve2", "media", proxmoxtest.AgentRunning, 32)
	media.Cores, media.MemoryMB = 4, 8192
	media.Config["net1"] = fmt.Sprintf("virtio=%s,bridge=vmbr0,tag=30", guestMAC(0x12))
	media.Config["scsi1"] = "tank:vm-102-disk-1,size=500G"
	media.Config["ide2"] = "local:iso/debian-12.7.0-amd64-netinst.iso,media=cdrom,size=631M"
	media.Interfaces = append(iface(2, "198.51.100.12/24"),
		proxmoxtest.GuestIface{Name: "ens19", MAC: guestMAC(0x12), IPs: []string{"203.0.113.12/24"}})

	// The stopped guest: configured agent, not answering.
	win := qemu(103, "pve2", "win11", proxmoxtest.AgentNotRunning, 64)
	win.Status = "stopped"
	win.Cores, win.MemoryMB = 4, 8192
	win.Config["ostype"] = "win11"

	// No guest agent: Proxmox knows its MAC but no IP.
	k3s := qemu(104, "pve3", "k3s-1", proxmoxtest.AgentNotConfigured, 32)
	k3s.Cores, k3s.MemoryMB = 4, 4096

	pihole := lxc(105, "pve1", "pihole", "198.51.100.53/24", 8)
	nginx := lxc(106, "pve3", "nginx", "198.51.100.80/24", 8)
	backup := lxc(107, "pve2", "backup", "198.51.100.90/24", 16)
	backup.Config["mp0"] = "tank:subvol-107-disk-1,mp=/srv/backup,size=200G"

	// A template: not a machine, the agent skips it by default.
	tmpl := qemu(9000, "pve1", "debian-12-template", proxmoxtest.AgentNotConfigured, 8)
	tmpl.Status, tmpl.Template = "stopped", true

	return []proxmoxtest.Guest{dns, gitea, media, win, k3s, pihole, nginx, backup, tmpl}
}

// syntheticGuests are n generated guests spread round-robin over pve1..pve3.
func syntheticGuests(n int) []proxmoxtest.Guest {
	if n == 0 {
		return nil
	}
	// MACs BC:24:11:00:xx:xx and 10.20/16 never meet the sample's BC:24:11:5A:... and
	// documentation ranges.
	return proxmoxtest.GenerateLab(proxmoxtest.LabSpec{
		Nodes: 3, Guests: n, Seed: 1, FirstVMID: firstSyntheticVMID,
		NamePrefix: "bench", MACPrefix: "BC:24:11", Subnet: "10.20",
	}).Guests
}

const nasMAC = "3c:ec:ef:5a:00:20"
const nasSerial = "TNMX5A000020"

func sampleTrueNAS() truenastest.State {
	st := truenastest.DefaultState() // pools, datasets, a zvol, NFS/SMB shares, iSCSI
	st.System.Hostname = "nas01"
	st.System.Serial = nasSerial
	st.System.Manufacturer = "iXsystems"
	st.System.Product = "TrueNAS Mini X+"
	st.Network = truenastest.NetworkConfig{Hostname: "nas01", Domain: "lab.example",
		IPv4Gateway: "192.0.2.1", Nameservers: []string{"198.51.100.53"}}
	st.Interfaces = []truenastest.Interface{
		{Name: "enp5s0", Type: "PHYSICAL", MAC: nasMAC, Up: true, Aliases: []truenastest.Alias{
			{Type: "INET", Address: "192.0.2.20", Netmask: 24},
			{Type: "INET6", Address: "fe80::3eec:efff:fe5a:20", Netmask: 64},
			{Type: "INET6", Address: "2001:db8:10::20", Netmask: 64},
		}},
		{Name: "enp6s0", Type: "PHYSICAL", MAC: "3c:ec:ef:5a:00:21"},
		{Name: "vlan30", Type: "VLAN", MAC: nasMAC, VLANTag: 30, Up: true, Aliases: []truenastest.Alias{
			{Type: "INET", Address: "203.0.113.20", Netmask: 24},
		}},
	}
	return st
}

const printerMAC = "00:1b:a9:5a:00:40"

func sampleHome() homeassistanttest.Dataset {
	const (
		udm     = "4f2b8a1c9d3e47f6a0b1c2d3e4f5a601"
		sw      = "4f2b8a1c9d3e47f6a0b1c2d3e4f5a602"
		ap      = "4f2b8a1c9d3e47f6a0b1c2d3e4f5a603"
		printer = "7e57e57e57e57e57e57e57e57e57e540"
		hue     = "a1b2c3d4e5f60718293a4b5c6d7e8f30"
		homekit = "f0e1d2c3b4a5968778695a4b3c2d1e30"
		sun     = "5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e"
		tvCast  = "7c7c7c7c7c7c7c7c7c7c7c7c7c7c7c50"
		tvDLNA  = "7d7d7d7d7d7d7d7d7d7d7d7d7d7d7d50"
		zigbee  = "2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b70"
	)
	router := func(ip, mac, host string) map[string]any {
		return map[string]any{"source_type": "router", "ip": ip, "mac": mac, "host_name": host, "friendly_name": host}
	}
	return homeassistanttest.Dataset{
		Areas: []homeassistanttest.Area{
			{AreaID: "living_room", Name: "Living Room", FloorID: "ground"},
			{AreaID: "office", Name: "Office", FloorID: "first"},
			{AreaID: "network_closet", Name: "Network Closet", FloorID: "basement"},
		},
		Devices: []homeassistanttest.Device{
			{
				// The UniFi integration spells this MAC with dashes.
				ID: udm, AreaID: "network_closet", ConfigEntries: []string{"01JA0UNIFI000000000000000"},
				Connections: [][2]string{{"mac", "74-AC-B9-5A-00-01"}}, Identifiers: [][2]string{{"unifi", "74:ac:b9:5a:00:01"}},
				Manufacturer: "Ubiquiti Networks", Model: "UniFi Dream Machine Pro", ModelID: "UDMPRO",
				SWVersion: "4.0.21", SerialNumber: "74ACB95A0001", Name: "udm-pro",
			},
			{
				ID: sw, AreaID: "network_closet", ConfigEntries: []string{"01JA0UNIFI000000000000000"},
				Connections: [][2]string{{"mac", "74:ac:b9:5a:00:02"}}, Identifiers: [][2]string{{"unifi", "74:ac:b9:5a:00:02"}},
				Manufacturer: "Ubiquiti Networks", Model: "USW-24-PoE", ModelID: "USL24P",
				SWVersion: "7.1.26", SerialNumber: "74ACB95A0002", Name: "core-switch", ViaDeviceID: udm,
			},
			{
				ID: ap, AreaID: "office", ConfigEntries: []string{"01JA0UNIFI000000000000000"},
				Connections: [][2]string{{"mac", "74:ac:b9:5a:00:03"}}, Identifiers: [][2]string{{"unifi", "74:ac:b9:5a:00:03"}},
				Manufacturer: "Ubiquiti Networks", Model: "U6-Pro", ModelID: "UAP6MP",
				SWVersion: "6.6.77", SerialNumber: "74ACB95A0003", Name: "ap-office", ViaDeviceID: sw,
			},
			{
				ID: printer, AreaID: "office", ConfigEntries: []string{"01JA0IPP00000000000000000"},
				Connections: [][2]string{{"mac", printerMAC}}, Identifiers: [][2]string{{"ipp", "e78123a5n400040"}},
				Manufacturer: "Brother", Model: "HL-L2350DW", SWVersion: "1.71",
				SerialNumber: "E78123A5N400040", Name: "Brother HL-L2350DW", NameByUser: "office-printer",
			},
			{
				ID: hue, AreaID: "living_room", ConfigEntries: []string{"01JA0HUE00000000000000000"},
				Connections: [][2]string{{"mac", "00:17:88:5a:00:30"}}, Identifiers: [][2]string{{"hue", "001788fffe5a0030"}},
				Manufacturer: "Signify Netherlands B.V.", Model: "Hue Bridge", ModelID: "BSB002",
				SWVersion: "1.66.1966060010", Name: "Hue Bridge", NameByUser: "hue-bridge",
			},
			{
				// The same bridge through HomeKit: one device per config entry, MAC in upper case.
				ID: homekit, ConfigEntries: []string{"01JA0HOMEKIT0000000000000"},
				Connections: [][2]string{{"mac", "00:17:88:5A:00:30"}}, Identifiers: [][2]string{{"homekit_controller", "00:17:88:5A:00:30"}},
				Manufacturer: "Philips", Model: "BSB002", SWVersion: "1.66.1966060010",
				SerialNumber: "001788FFFE5A0030", Name: "Philips hue - 5A0030", NameByUser: "hue-bridge",
			},
			{
				// The TV through two integrations: the integration labels are not what the
				// person named it; one MAC connection, no IP anywhere.
				ID: tvCast, AreaID: "living_room", ConfigEntries: []string{"01JA0CAST0000000000000000"},
				Connections: [][2]string{{"mac", tvMAC}}, Identifiers: [][2]string{{"cast", "7c7c7c7c-7c7c-7c7c-7c7c-7c7c7c7c7c50"}},
				Manufacturer: "LG Electronics", Model: "OLED55C3", Name: "Living Room TV (Cast)", NameByUser: "living-room-tv",
			},
			{
				ID: tvDLNA, AreaID: "living_room", ConfigEntries: []string{"01JA0DLNA0000000000000000"},
				Connections: [][2]string{{"mac", strings.ToUpper(tvMAC)}}, Identifiers: [][2]string{{"dlna_dmr", "uuid:7d7d7d7d-0050"}},
				Manufacturer: "LG Electronics", Model: "OLED55C3", Name: "[LG] webOS TV OLED55C3",
			},
			{
				// A Zigbee sensor: no MAC, no IP. Not imported by default (counted as skipped).
				ID: zigbee, AreaID: "living_room", ConfigEntries: []string{"01JA0ZHA00000000000000000"},
				Connections: [][2]string{{"zigbee", "00:15:8d:00:05:5a:00:70"}}, Identifiers: [][2]string{{"zha", "00:15:8d:00:05:5a:00:70"}},
				Manufacturer: "LUMI", Model: "lumi.weather", Name: "Living room climate",
			},
			{
				// A service entry, not hardware.
				ID: sun, ConfigEntries: []string{"01JA0SUN00000000000000000"},
				Identifiers: [][2]string{{"sun", "01JA0SUN00000000000000000"}}, Name: "Sun", EntryType: "service",
			},
		},
		Entities: []homeassistanttest.Entity{
			{EntityID: "sensor.udm_pro_cpu_utilization", DeviceID: udm, Platform: "unifi", UniqueID: "cpu_utilization-74:ac:b9:5a:00:01"},
			{EntityID: "switch.core_switch_port_1_poe", DeviceID: sw, Platform: "unifi", UniqueID: "poe-74:ac:b9:5a:00:02_1"},
			{EntityID: "sensor.ap_office_clients", DeviceID: ap, Platform: "unifi", UniqueID: "clients-74:ac:b9:5a:00:03"},
			{EntityID: "sensor.office_printer_black_toner", DeviceID: printer, Platform: "ipp", UniqueID: "e78123a5n400040_marker_0"},
			{EntityID: "binary_sensor.hue_bridge_connectivity", DeviceID: hue, Platform: "hue", UniqueID: "001788fffe5a0030-connectivity"},
			{EntityID: "button.hue_bridge_identify", DeviceID: homekit, Platform: "homekit_controller", UniqueID: "00:17:88:5A:00:30_1_7"},
			{EntityID: "sensor.sun_next_dawn", DeviceID: sun, Platform: "sun", UniqueID: "01JA0SUN-next_dawn"},
			{EntityID: "device_tracker.dns01", Platform: "unifi", UniqueID: "default-bc:24:11:5a:01:00"},
			{EntityID: "device_tracker.pihole", Platform: "unifi", UniqueID: "default-bc:24:11:5a:01:05"},
			{EntityID: "device_tracker.pixel_8", Platform: "unifi", UniqueID: "default-a6:3f:0e:5a:00:60", AreaID: "living_room"},
			{EntityID: "device_tracker.old_laptop", Platform: "unifi", UniqueID: "default-3c:22:fb:5a:00:77"},
			{EntityID: "device_tracker.pixel_8_gps", Platform: "mobile_app", UniqueID: "gps-pixel-8"},
		},
		States: []homeassistanttest.State{
			{EntityID: "sun.sun", State: "above_horizon", Attributes: map[string]any{"friendly_name": "Sun", "elevation": 31.2}},
			{EntityID: "device_tracker.dns01", State: "home", Attributes: router("198.51.100.10", strings.ToLower(guestMAC(0)), "dns01")},
			{EntityID: "device_tracker.pihole", State: "home", Attributes: router("198.51.100.53", strings.ToLower(guestMAC(5)), "pihole")},
			// A phone with a private (locally administered) Wi-Fi MAC: a weak key, an IP only.
			{EntityID: "device_tracker.pixel_8", State: "home", Attributes: router("192.0.2.60", "A6:3F:0E:5A:00:60", "Pixel-8")},
			// Away: its last DHCP address is stale, so it gives no IP.
			{EntityID: "device_tracker.old_laptop", State: "not_home", Attributes: router("192.0.2.77", "3c-22-fb-5a-00-77", "old-laptop")},
			{EntityID: "device_tracker.pixel_8_gps", State: "home", Attributes: map[string]any{
				"source_type": "gps", "latitude": 52.37, "longitude": 4.89, "gps_accuracy": 12, "friendly_name": "Pixel 8 GPS",
			}},
		},
	}
}

// inventoryCSV is the inventory file. The kind column (accepted besides the usual name, ip,
// mac, serial, site, role, manufacturer, model) makes rows devices: without it a row is a bare
// host, which becomes only an IP address.
const inventoryCSV = `name,ip,mac,serial,site,role,manufacturer,model,kind
# Also seen by TrueNAS: same serial and MAC.
nas01,192.0.2.20,3C:EC:EF:5A:00:20,` + nasSerial + `,Homelab,nas,iXsystems,TrueNAS Mini X+,device
# Also seen by Proxmox (same name and cluster IP); the inventory adds what the API lacks.
pve1,192.0.2.11,94:40:C9:5A:00:11,CZ25AB0011,Homelab,hypervisor,HPE,ProLiant DL20 Gen10 Plus,device
pve2,192.0.2.12,94:40:C9:5A:00:12,CZ25AB0012,Homelab,hypervisor,HPE,ProLiant DL20 Gen10 Plus,device
pve3,192.0.2.13,94:40:C9:5A:00:13,CZ25AB0013,Homelab,hypervisor,HPE,ProLiant MicroServer Gen11,device
# Only here.
ups,192.0.2.5,00:C0:B7:5A:00:05,AS2211150005,Homelab,ups,APC,Smart-UPS 1500,device
`

// hostsFile is an /etc/hosts-style file: the printer Home Assistant knows by MAC gets its
// address from here (merged by name), and nowhere else.
const hostsFile = `# hosts file kept by hand
127.0.0.1 localhost
` + PrinterHostsIP + ` office-printer.lab.example office-printer
`

// leasesFile is a dnsmasq lease file last written long ago: its one lease expired in
// November 2023, so it gives no host, and the run says so (one expired lease skipped).
const leasesFile = `1700000000 3c:22:fb:5a:00:88 192.0.2.88 old-camera 01:3c:22:fb:5a:00:88
`

// KeyOnly is a fact the sample gives only as an identity key, and where it must land.
type KeyOnly struct {
	Device    string // the device's name in NetBox
	Interface string // the interface the agent names for it
	MAC       string // "" or the MAC on that interface
	IP        string // "" or the address on that interface (without prefix length)
}

// Expected is what the agent should create in NetBox from the lab (default sync settings,
// hosts as IP addresses).
type Expected struct {
	Site    string
	Cluster string
	// Devices are the device names, sorted.
	Devices []string
	// VMs are the virtual machine names (QEMU and LXC, templates excluded), sorted.
	VMs []string
	// StoppedVMs are the VMs that should be offline.
	StoppedVMs []string
	// HostIPs are addresses of hosts seen only on the network (a phone): IP address objects
	// without a device.
	HostIPs []string
	// Merged names entities several sources see, with the source instances that should all be
	// in the entity's provenance.
	Merged map[string][]string
	// KeyOnly are the MACs and addresses no source reports on an interface, each with the
	// interface it must land on.
	KeyOnly []KeyOnly
	// Skipped counts the inputs the sources must leave out, per "source/reason".
	Skipped map[string]int
}

func (e Expected) clone() Expected {
	e.Devices = slices.Clone(e.Devices)
	e.VMs = slices.Clone(e.VMs)
	e.StoppedVMs = slices.Clone(e.StoppedVMs)
	e.HostIPs = slices.Clone(e.HostIPs)
	e.KeyOnly = slices.Clone(e.KeyOnly)
	e.Skipped = maps.Clone(e.Skipped)
	m := make(map[string][]string, len(e.Merged))
	for k, v := range e.Merged {
		m[k] = slices.Clone(v)
	}
	e.Merged = m
	return e
}

// expected derives the VM lists from the guests served; devices are the sample's.
func expected(guests []proxmoxtest.Guest) Expected {
	e := Expected{
		Site: SiteName, Cluster: ClusterName,
		Devices: []string{"ap-office", "core-switch", "hue-bridge", "living-room-tv", "nas01", "office-printer",
			"pve1", "pve2", "pve3", "pve4", "udm-pro", "ups"},
		HostIPs: []string{"192.0.2.60"},
		KeyOnly: []KeyOnly{
			{Device: "pve4", Interface: "mgmt0", IP: OfflineNodeIP},
			{Device: "living-room-tv", Interface: "mac-a823fe5a0050", MAC: TVMAC},
			{Device: "office-printer", Interface: "mac-001ba95a0040", MAC: strings.ToUpper(printerMAC), IP: PrinterHostsIP},
		},
		Skipped: map[string]int{
			InventorySource + "/expired lease":           1,
			HomeAssistantSource + "/no network identity": 1,
		},
		Merged: map[string][]string{
			"nas01":  {TrueNASSource, InventorySource},
			"pve1":   {ProxmoxSource, InventorySource},
			"pve2":   {ProxmoxSource, InventorySource},
			"pve3":   {ProxmoxSource, InventorySource},
			"dns01":  {ProxmoxSource, HomeAssistantSource},
			"pihole": {ProxmoxSource, HomeAssistantSource},
			// the address from the hosts file, the rest from Home Assistant
			"office-printer": {HomeAssistantSource, InventorySource},
		},
	}
	for _, g := range guests {
		if g.Template {
			continue
		}
		e.VMs = append(e.VMs, g.Name)
		if g.Status == "stopped" {
			e.StoppedVMs = append(e.StoppedVMs, g.Name)
		}
	}
	slices.Sort(e.Devices)
	slices.Sort(e.VMs)
	slices.Sort(e.StoppedVMs)
	return e
}
