package proxmox

import (
	"encoding/json"
	"testing"

	pve "github.com/luthermonson/go-proxmox"
)

// TestLibraryTypesBreakOnPitfalls records why the adapter decodes with its own types: if a
// future go-proxmox fixes these, this test fails and the choice can be revisited.
func TestLibraryTypesBreakOnPitfalls(t *testing.T) {
	t.Run("vmid as string in /cluster/resources", func(t *testing.T) {
		var lib pve.ClusterResources
		if err := json.Unmarshal([]byte(`[{"id":"qemu/100","type":"qemu","vmid":"100","node":"pve1"}]`), &lib); err == nil {
			t.Errorf("go-proxmox now decodes a string vmid")
		}
		var ours []clusterResource
		if err := json.Unmarshal([]byte(`[{"id":"qemu/100","type":"qemu","vmid":"100","node":"pve1"}]`), &ours); err != nil || ours[0].VMID != 100 {
			t.Errorf("ours: %v %+v", err, ours)
		}
	})
	t.Run("memory as string in an LXC config", func(t *testing.T) {
		var lib pve.ContainerConfig
		if err := json.Unmarshal([]byte(`{"hostname":"ct","memory":"512"}`), &lib); err == nil {
			t.Errorf("go-proxmox now decodes a string LXC memory")
		}
	})
	t.Run("template 0 counts as a template", func(t *testing.T) {
		var vm pve.VirtualMachine
		if err := json.Unmarshal([]byte(`{"vmid":100,"template":0}`), &vm); err != nil || !bool(vm.Template) {
			t.Errorf("go-proxmox IsTemplate changed: %v %v", err, vm.Template)
		}
	})
	t.Run("cluster status with a string where a number is expected panics", func(t *testing.T) {
		panicked := func() (p bool) {
			defer func() { p = recover() != nil }()
			var cl pve.Cluster
			_ = json.Unmarshal([]byte(`[{"type":"node","name":"pve1","online":"1"}]`), &cl)
			return false
		}()
		if !panicked {
			t.Errorf("go-proxmox Cluster.UnmarshalJSON no longer panics")
		}
		var ours []clusterStatusEntry
		if err := json.Unmarshal([]byte(`[{"type":"node","name":"pve1","online":"1"}]`), &ours); err != nil || ours[0].Online == nil || !bool(*ours[0].Online) {
			t.Errorf("ours: %v %+v", err, ours)
		}
	})
	t.Run("node status with a string count", func(t *testing.T) {
		const body = `{"pveversion":"pve-manager/8.2.4/x","cpuinfo":{"cpus":"16","model":"m","sockets":"1"},"memory":{"total":"68719476736"}}`
		var lib pve.Node
		if err := json.Unmarshal([]byte(body), &lib); err == nil {
			t.Errorf("go-proxmox now decodes string counts in the node status")
		}
		var ours nodeStatus
		if err := json.Unmarshal([]byte(body), &ours); err != nil || ours.CPUInfo.CPUs != 16 || ours.Memory.Total != 64<<30 {
			t.Errorf("ours: %v %+v", err, ours)
		}
	})
	t.Run("agent prefix as a string", func(t *testing.T) {
		const body = `{"result":[{"name":"eth0","hardware-address":"bc:24:11:00:00:01","ip-addresses":[{"ip-address":"192.0.2.5","ip-address-type":"ipv4","prefix":"24"}]}]}`
		var lib struct {
			Result []*pve.AgentNetworkIface `json:"result"`
		}
		if err := json.Unmarshal([]byte(body), &lib); err == nil {
			t.Errorf("go-proxmox now decodes a string prefix")
		}
		var ours agentInterfaces
		if err := json.Unmarshal([]byte(body), &ours); err != nil || ours.Result[0].IPAddresses[0].Prefix != 24 {
			t.Errorf("ours: %v %+v", err, ours)
		}
	})
}
