package proxmox

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/netbox-agent/netbox-agent/sources"
)

func TestParseNet(t *testing.T) {
	tests := []struct {
		in      string
		want    netConfig
		wantErr string
	}{
		{in: "virtio=BC:24:11:2E:C5:4A,bridge=vmbr0,tag=20", want: netConfig{Key: "net0", Model: "virtio", MAC: "BC:24:11:2E:C5:4A", Bridge: "vmbr0", VLAN: 20}},
		{in: "e1000=bc:24:11:00:00:01,bridge=vmbr1,firewall=1,link_down=1", want: netConfig{Key: "net0", Model: "e1000", MAC: "bc:24:11:00:00:01", Bridge: "vmbr1"}},
		{in: "model=virtio,macaddr=BC:24:11:00:00:02,bridge=vmbr0", want: netConfig{Key: "net0", Model: "virtio", MAC: "BC:24:11:00:00:02", Bridge: "vmbr0"}},
		{in: "name=eth0,bridge=vmbr0,hwaddr=BC:24:11:2E:C5:7E,ip=dhcp,ip6=auto,type=veth", want: netConfig{Key: "net0", Name: "eth0", MAC: "BC:24:11:2E:C5:7E", Bridge: "vmbr0"}},
		{in: "name=eth1,bridge=vmbr0,hwaddr=BC:24:11:00:00:09,ip=10.0.0.5/24,ip6=2001:db8::5/64,gw=10.0.0.1,tag=4094", want: netConfig{Key: "net0", Name: "eth1", MAC: "BC:24:11:00:00:09", Bridge: "vmbr0", VLAN: 4094, IP: "10.0.0.5/24", IP6: "2001:db8::5/64"}},
		{in: "virtio=BC:24:11:00:00:01,bridge=vmbr0,tag=5000", wantErr: `net0: tag="5000" is not a VLAN id`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := parseNet("net0", tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("got %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
}

func TestParseDisk(t *testing.T) {
	tests := []struct {
		key, in string
		want    sources.Disk
		isDisk  bool
		wantErr bool
	}{
		{"scsi0", "local-lvm:vm-101-disk-0,iothread=1,size=32G", sources.Disk{Name: "scsi0", SizeMB: 32768}, true, false},
		{"virtio1", "ceph:vm-101-disk-1,size=1T", sources.Disk{Name: "virtio1", SizeMB: 1 << 20}, true, false},
		{"sata0", "local:101/vm-101-disk-0.qcow2,size=4194304K", sources.Disk{Name: "sata0", SizeMB: 4096}, true, false},
		{"ide0", "local:vm-101-disk-0,size=1073741824", sources.Disk{Name: "ide0", SizeMB: 1024}, true, false},
		{"scsi2", "/dev/disk/by-id/ata-WDC_WD40EFRX", sources.Disk{Name: "scsi2"}, true, false},
		{"ide2", "local:iso/debian.iso,media=cdrom,size=631M", sources.Disk{}, false, false},
		{"ide2", "none,media=cdrom", sources.Disk{}, false, false},
		{"rootfs", "local-lvm:vm-200-disk-0,size=8G", sources.Disk{Name: "rootfs", SizeMB: 8192}, true, false},
		{"scsi3", "local-lvm:vm-1-disk-3,size=huge", sources.Disk{}, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.key+"="+tt.in, func(t *testing.T) {
			got, isDisk, err := parseDisk(tt.key, tt.in)
			if (err != nil) != tt.wantErr || isDisk != tt.isDisk || got != tt.want {
				t.Errorf("got %+v disk=%v err=%v; want %+v disk=%v err=%v", got, isDisk, err, tt.want, tt.isDisk, tt.wantErr)
			}
			if err != nil && !strings.Contains(err.Error(), tt.key) {
				t.Errorf("error %q does not name the key", err)
			}
		})
	}
}

func TestFlexInt(t *testing.T) {
	tests := []struct {
		in      string
		want    int64
		wantErr bool
	}{
		{`2048`, 2048, false},
		{`"2048"`, 2048, false},
		{`"current=4096"`, 4096, false},
		{`"4096,foo=1"`, 4096, false},
		{`2048.0`, 2048, false},
		{`null`, 0, false},
		{`""`, 0, false},
		{`"lots"`, 0, true},
		{`true`, 0, true},
	}
	for _, tt := range tests {
		var v flexInt
		err := json.Unmarshal([]byte(tt.in), &v)
		if (err != nil) != tt.wantErr || int64(v) != tt.want {
			t.Errorf("%s: got %d, %v", tt.in, v, err)
		}
	}
}

func TestFlexBoolAndString(t *testing.T) {
	for in, want := range map[string]bool{`1`: true, `"1"`: true, `0`: false, `""`: false, `true`: true, `null`: false} {
		var b flexBool
		if err := json.Unmarshal([]byte(in), &b); err != nil || bool(b) != want {
			t.Errorf("flexBool %s: %v, %v", in, b, err)
		}
	}
	var b flexBool
	if err := json.Unmarshal([]byte(`"maybe"`), &b); err == nil {
		t.Errorf("flexBool accepted \"maybe\"")
	}
	for in, want := range map[string]string{`"web"`: "web", `2024`: "2024", `null`: ""} {
		var s flexString
		if err := json.Unmarshal([]byte(in), &s); err != nil || string(s) != want {
			t.Errorf("flexString %s: %q, %v", in, s, err)
		}
	}
}

func TestParseGuestConfigErrorsNameTheField(t *testing.T) {
	tests := []struct{ typ, json, want string }{
		{"qemu", `{"memory": "lots"}`, "memory:"},
		{"qemu", `{"cores": [1]}`, "cores:"},
		{"lxc", `{"net0": "name=eth0,tag=x"}`, "net0: tag"},
		{"qemu", `{"scsi0": "local:vm-1,size=12Q"}`, "scsi0: size"},
		{"qemu", `{"ostype": [1]}`, "ostype:"},
	}
	for _, tt := range tests {
		var raw map[string]json.RawMessage
		if err := json.Unmarshal([]byte(tt.json), &raw); err != nil {
			t.Fatal(err)
		}
		_, err := parseGuestConfig(tt.typ, raw)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err %v, want it to name %q", tt.json, err, tt.want)
		}
	}
}

func TestSmallHelpers(t *testing.T) {
	if got := splitTags("prod;web, db"); strings.Join(got, "|") != "prod|web|db" {
		t.Errorf("splitTags %v", got)
	}
	if got := pveVersion("pve-manager/8.2.4/faa83925c9641325"); got != "8.2.4" {
		t.Errorf("pveVersion %q", got)
	}
	keys := []string{"net10", "net2", "net0"}
	sortKeys(keys)
	if strings.Join(keys, ",") != "net0,net2,net10" {
		t.Errorf("sortKeys %v", keys)
	}
	if got := propertyValue("manufacturer=QEMU,uuid=abc", "uuid"); got != "abc" {
		t.Errorf("propertyValue %q", got)
	}
}
