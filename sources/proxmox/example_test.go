package proxmox_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/netbox-agent/netbox-agent/internal/secret"
	"github.com/netbox-agent/netbox-agent/internal/tlsconfig"
	"github.com/netbox-agent/netbox-agent/sources/proxmox"
	"github.com/netbox-agent/netbox-agent/sources/proxmox/proxmoxtest"
)

// Discover a cluster: here the simulator, trusted through its CA certificate.
func ExampleSource_Discover() {
	srv := proxmoxtest.NewTLSServer(proxmoxtest.WithCluster("homelab"),
		proxmoxtest.WithNodes(proxmoxtest.Node{Name: "pve1", Online: true}),
		proxmoxtest.WithGuests(proxmoxtest.Guest{Type: proxmoxtest.TypeQEMU, VMID: 100, Node: "pve1", Name: "web",
			Status: "running", Cores: 2, MemoryMB: 2048, Agent: proxmoxtest.AgentRunning,
			Config:     map[string]any{"net0": "virtio=BC:24:11:2E:C5:4A,bridge=vmbr0,tag=20", "scsi0": "local-lvm:vm-100-disk-0,size=32G"},
			Interfaces: []proxmoxtest.GuestIface{{Name: "ens18", MAC: "BC:24:11:2E:C5:4A", IPs: []string{"192.168.20.10/24"}}}}))
	defer srv.Close()
	dir, _ := os.MkdirTemp("", "pve")
	defer os.RemoveAll(dir)
	ca := filepath.Join(dir, "ca.pem")
	_ = os.WriteFile(ca, srv.CACertPEM(), 0o600)

	src, err := proxmox.New(proxmox.Config{
		Name: "pve-lab", URL: srv.URL, TokenID: proxmoxtest.DefaultTokenID,
		TokenSecret: secret.New(proxmoxtest.DefaultTokenSecret), Settings: tlsconfig.Settings{CAFile: ca}, Timeout: 10 * time.Second,
	}, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	res, err := src.Discover(context.Background(), nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, o := range res.Observations {
		fmt.Println(o.NativeID, o.Kind, o.Name, o.Facts.Status)
		for _, ifc := range o.Interfaces {
			fmt.Println("  ", ifc.Name, ifc.MAC, ifc.Bridge, ifc.VLAN, ifc.IPs)
		}
	}
	// Output:
	// homelab/node/pve1 device pve1 active
	// homelab/qemu/100 virtual_machine web active
	//    ens18 BC:24:11:2E:C5:4A vmbr0 20 [192.168.20.10/24]
}
