package proxmoxtest

import (
	"encoding/json"
	"reflect"
	"testing"
)

// TestVariantApply checks the changes SchemaVariants makes, on a small schema in apidata's form.
func TestVariantApply(t *testing.T) {
	var schema map[string]any
	if err := json.Unmarshal([]byte(`{"type":"object","properties":{
		"vmid":{"type":"integer"},
		"name":{"type":"string","optional":1},
		"kind":{"type":"string","enum":["a","b"]},
		"on":{"type":"boolean","optional":1},
		"list":{"type":"array","items":{"type":"object","properties":{"prefix":{"type":"integer","optional":1}}}},
		"net[n]":{"type":"string","optional":1,"format":{
			"model":{"type":"string","default_key":1,"enum":["virtio","e1000"]},
			"macaddr":{"type":"string","optional":1},
			"virtio":{"alias":"macaddr","keyAlias":"model"},
			"e1000":{"alias":"macaddr","keyAlias":"model"},
			"tag":{"type":"integer","optional":1},
			"firewall":{"type":"boolean","optional":1}}}}}`), &schema); err != nil {
		t.Fatal(err)
	}
	sample := map[string]any{"vmid": 100.0, "name": "web", "kind": "a", "on": 1.0,
		"list": []any{map[string]any{"prefix": 24.0}, map[string]any{}},
		"net0": "virtio=BC:24:11:00:00:01,bridge=vmbr0,tag=20,firewall=1", "net1": "e1000=BC:24:11:00:00:02"}
	got := map[string]any{}
	for _, v := range SchemaVariants("/x", schema, []any{sample}) {
		out, changed := v.Apply(sample)
		if !changed {
			t.Errorf("%s: kept although it changes nothing", v.Name())
		}
		got[v.Field+" "+v.Change] = out
	}
	tests := []struct {
		variant string
		key     string
		want    any // the key's value after the change; nil: absent
	}{
		{"vmid string", "vmid", "100"},
		{"name absent", "name", nil},
		{"kind enum=b", "kind", "b"},
		{"on bool=0", "on", 0.0},
		{"list[].prefix string", "list", []any{map[string]any{"prefix": "24"}, map[string]any{}}},
		{"list[].prefix absent", "list", []any{map[string]any{}, map[string]any{}}},
		{"net[n] absent", "net0", nil},
		{"net[n]:tag absent", "net0", "virtio=BC:24:11:00:00:01,bridge=vmbr0,firewall=1"},
		{"net[n]:firewall bool=0", "net0", "virtio=BC:24:11:00:00:01,bridge=vmbr0,tag=20,firewall=0"},
		{"net[n]:model enum=e1000", "net0", "e1000=BC:24:11:00:00:01,bridge=vmbr0,tag=20,firewall=1"},
		{"net[n]:model enum=virtio", "net1", "virtio=BC:24:11:00:00:02"},
		{"net[n]:model keyed", "net1", "model=e1000,macaddr=BC:24:11:00:00:02"},
		{"net[n]:macaddr absent", "net1", "model=e1000"},
	}
	for _, tt := range tests {
		out, ok := got[tt.variant]
		if !ok {
			t.Errorf("%s: not generated", tt.variant)
			continue
		}
		v, present := out.(map[string]any)[tt.key]
		if tt.want == nil && present || tt.want != nil && !reflect.DeepEqual(v, tt.want) {
			t.Errorf("%s: %s = %#v, want %#v", tt.variant, tt.key, v, tt.want)
		}
	}
	for _, never := range []string{"vmid absent", "kind absent", "kind enum=a", "on bool=1", "net[n]:model absent"} {
		if _, ok := got[never]; ok {
			t.Errorf("%s generated: the schema forbids it or it changes nothing", never)
		}
	}
	if sample["vmid"] != 100.0 || sample["net0"] != "virtio=BC:24:11:00:00:01,bridge=vmbr0,tag=20,firewall=1" {
		t.Errorf("Apply changed the sample: %v", sample)
	}
}

func TestMatchPath(t *testing.T) {
	tests := []struct {
		schema, path string
		want         bool
	}{
		{"/nodes/{node}/qemu/{vmid}/config", "/nodes/pve1/qemu/100/config", true},
		{"/nodes/{node}/qemu/{vmid}/config", "/nodes/pve1/lxc/100/config", false},
		{"/nodes/{node}/status", "/nodes/pve1/qemu/100/status/current", false},
		{"/cluster/resources", "/cluster/resources", true},
	}
	for _, tt := range tests {
		if got := MatchPath(tt.schema, tt.path); got != tt.want {
			t.Errorf("MatchPath(%q, %q) = %v", tt.schema, tt.path, got)
		}
	}
}
