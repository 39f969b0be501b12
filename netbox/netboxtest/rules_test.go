package netboxtest

import (
	"fmt"
	"reflect"
	"regexp"
	"testing"
)

// TestPrimaryIPAndMACRules: primary IPs must be assigned to the device; an IP or MAC in use
// as primary cannot be moved away; deleting the device cascades to components and clears
// nothing it should not.
func TestPrimaryIPAndMACRules(t *testing.T) {
	srv := NewTestServer(t)
	ids := seedBase(t, srv)
	srv.MustSeed(pathDevices,
		map[string]any{"name": "web01", "device_type": ids["device_type"], "role": ids["role"], "site": ids["site"]},
		map[string]any{"name": "web02", "device_type": ids["device_type"], "role": ids["role"], "site": ids["site"]})
	srv.MustSeed(pathInterfaces, map[string]any{"device": 1, "name": "eth0", "type": "1000base-t"}, map[string]any{"device": 2, "name": "eth0", "type": "1000base-t"})
	srv.MustSeed(pathIPs,
		map[string]any{"address": "10.0.0.1/24", "assigned_object_type": "dcim.interface", "assigned_object_id": 1},
		map[string]any{"address": "10.0.0.2/24", "assigned_object_type": "dcim.interface", "assigned_object_id": 2},
		map[string]any{"address": "2001:db8::1/64", "assigned_object_type": "dcim.interface", "assigned_object_id": 1})
	srv.MustSeed(pathMACs, map[string]any{"mac_address": "aa:bb:cc:dd:ee:01", "assigned_object_type": "dcim.interface", "assigned_object_id": 1})

	steps := []struct {
		name     string
		method   string
		path     string
		body     any
		wantCode int
		wantBody map[string]any // checked when set
	}{
		{"IP of another device", "PATCH", pathDevices + "1/", map[string]any{"primary_ip4": 2}, 400,
			map[string]any{"primary_ip4": []any{"The specified IP address (10.0.0.2/24) is not assigned to this device."}}},
		{"IPv6 as primary_ip4", "PATCH", pathDevices + "1/", map[string]any{"primary_ip4": 3}, 400,
			map[string]any{"primary_ip4": []any{"2001:db8::1/64 is not an IPv4 address."}}},
		{"own IP", "PATCH", pathDevices + "1/", map[string]any{"primary_ip4": 1, "primary_ip6": 3}, 200, nil},
		{"move primary IP away", "PATCH", pathIPs + "1/", map[string]any{"assigned_object_id": 2}, 400,
			map[string]any{"__all__": []any{"Cannot reassign IP address while it is designated as the primary IP for the parent object"}}},
		{"MAC of another interface", "PATCH", pathInterfaces + "2/", map[string]any{"primary_mac_address": 1}, 400,
			map[string]any{"primary_mac_address": []any{"MAC address AA:BB:CC:DD:EE:01 is not assigned to this interface."}}},
		{"own MAC", "PATCH", pathInterfaces + "1/", map[string]any{"primary_mac_address": 1}, 200, nil},
		{"unassign primary MAC", "PATCH", pathMACs + "1/", map[string]any{"assigned_object_type": nil, "assigned_object_id": nil}, 400,
			map[string]any{"__all__": []any{"Cannot unassign MAC Address while it is designated as the primary MAC for an object"}}},
		{"interface assigned to unknown", "POST", pathIPs, map[string]any{"address": "10.9.9.9/24", "assigned_object_type": "dcim.interface", "assigned_object_id": 99}, 400,
			map[string]any{"assigned_object_id": []any{`Invalid pk "99" - object does not exist.`}}},
	}
	for _, st := range steps {
		code, body := call(t, srv, st.method, st.path, st.body)
		if code != st.wantCode || (st.wantBody != nil && !reflect.DeepEqual(body, st.wantBody)) {
			t.Fatalf("%s: %s %s = %d %s, want %d %v", st.name, st.method, st.path, code, mustJSON(body), st.wantCode, mustJSON(st.wantBody))
		}
	}
	dev := srv.Object(pathDevices, 1)
	if dev["primary_ip"].(map[string]any)["address"] != "2001:db8::1/64" || dev["primary_ip4"].(map[string]any)["id"] != 1 {
		t.Errorf("primary ips = %v / %v", dev["primary_ip"], dev["primary_ip4"])
	}
	iface := srv.Object(pathInterfaces, 1)
	if iface["mac_address"] != "AA:BB:CC:DD:EE:01" || len(iface["mac_addresses"].([]any)) != 1 || iface["count_ipaddresses"] != 2 {
		t.Errorf("interface = mac %v macs %v ips %v", iface["mac_address"], iface["mac_addresses"], iface["count_ipaddresses"])
	}
	// Deleting the IP clears the primary (SET_NULL).
	if code, _ := call(t, srv, "DELETE", pathIPs+"3/", nil); code != 204 {
		t.Fatalf("delete ip = %d", code)
	}
	if dev := srv.Object(pathDevices, 1); dev["primary_ip6"] != nil || dev["primary_ip"].(map[string]any)["id"] != 1 {
		t.Errorf("after deleting the IPv6: %v %v", dev["primary_ip6"], dev["primary_ip"])
	}
	// Deleting the device deletes its interfaces and, through them, their IP and MAC addresses.
	if code, body := call(t, srv, "DELETE", pathDevices+"1/", nil); code != 204 {
		t.Fatalf("delete device = %d %s", code, mustJSON(body))
	}
	if srv.Count(pathInterfaces) != 1 || srv.Count(pathIPs) != 1 || srv.Count(pathMACs) != 0 || srv.Count(pathDevices) != 1 {
		t.Errorf("after device delete: %d interfaces, %d IPs, %d MACs, %d devices", srv.Count(pathInterfaces), srv.Count(pathIPs), srv.Count(pathMACs), srv.Count(pathDevices))
	}
}

func TestVMDiskIsSumOfVirtualDisks(t *testing.T) {
	srv := NewTestServer(t)
	ids := seedBase(t, srv)
	srv.MustSeed(pathVMs, map[string]any{"name": "vm1", "cluster": ids["cluster"], "disk": 999, "vcpus": 2, "memory": 2048})
	code, body := call(t, srv, "POST", pathVirtualDisks, []any{
		map[string]any{"virtual_machine": 1, "name": "scsi0", "size": 32000},
		map[string]any{"virtual_machine": map[string]any{"name": "vm1"}, "name": "scsi1", "size": 8000},
	})
	if code != 201 {
		t.Fatalf("create disks = %d %s", code, mustJSON(body))
	}
	vm := srv.Object(pathVMs, 1)
	if vm["disk"] != 40000 || vm["virtual_disk_count"] != 2 {
		t.Fatalf("vm disk = %v, disks = %v", vm["disk"], vm["virtual_disk_count"])
	}
	code, body = call(t, srv, "PATCH", pathVMs+"1/", map[string]any{"disk": 100})
	want := map[string]any{"disk": []any{"The specified disk size (100) must match the aggregate size of assigned virtual disks (40000)."}}
	if code != 400 || !reflect.DeepEqual(body, want) {
		t.Fatalf("patch disk = %d %s", code, mustJSON(body))
	}
	if code, _ := call(t, srv, "PATCH", pathVMs+"1/", map[string]any{"disk": 40000, "memory": 4096}); code != 200 {
		t.Fatalf("patch matching disk = %d", code)
	}
	if code, _ := call(t, srv, "DELETE", pathVirtualDisks+"2/", nil); code != 204 {
		t.Fatal("delete disk")
	}
	if vm := srv.Object(pathVMs, 1); vm["disk"] != 32000 {
		t.Errorf("after deleting a disk, vm disk = %v", vm["disk"])
	}
	cl := srv.Object(pathClusters, ids["cluster"])
	if cl["allocated_disk"] != 32000 || cl["allocated_memory"] != 4096 || cl["allocated_vcpus"] != 2.0 || cl["virtualmachine_count"] != 1 {
		t.Errorf("cluster allocations = %v %v %v %v", cl["allocated_disk"], cl["allocated_memory"], cl["allocated_vcpus"], cl["virtualmachine_count"])
	}
	// A cluster with VMs is protected; deleting the VM cascades to its disks and interfaces.
	if code, _ := call(t, srv, "DELETE", pathClusters+fmt.Sprint(ids["cluster"])+"/", nil); code != 409 {
		t.Errorf("delete cluster with VMs = %d, want 409", code)
	}
	srv.MustSeed(pathVMInterfaces, map[string]any{"virtual_machine": 1, "name": "net0"})
	if code, _ := call(t, srv, "DELETE", pathVMs+"1/", nil); code != 204 || srv.Count(pathVirtualDisks) != 0 || srv.Count(pathVMInterfaces) != 0 {
		t.Errorf("delete vm = %d; %d disks, %d interfaces left", code, srv.Count(pathVirtualDisks), srv.Count(pathVMInterfaces))
	}
}

func TestCustomFieldsAndTags(t *testing.T) {
	for _, p := range profiles {
		t.Run(p.String(), func(t *testing.T) {
			srv := NewTestServer(t, WithProfile(p))
			ids := seedBase(t, srv)
			cfs := []map[string]any{
				{"name": "agent_text", "type": "text", "object_types": []string{"dcim.device"}},
				{"name": "agent_long", "type": "longtext", "object_types": []string{"dcim.device"}},
				{"name": "agent_json", "type": "json", "object_types": []string{"dcim.device"}},
				{"name": "agent_date", "type": "date", "object_types": []string{"dcim.device"}},
				{"name": "agent_when", "type": "datetime", "object_types": []string{"dcim.device"}},
				{"name": "agent_n", "type": "integer", "object_types": []string{"dcim.device"}},
				{"name": "vm_only", "type": "text", "object_types": []string{"virtualization.virtualmachine"}},
			}
			for _, cf := range cfs {
				if code, body := call(t, srv, "POST", pathCustomFields, cf); code != 201 {
					t.Fatalf("create cf = %d %s", code, mustJSON(body))
				}
			}
			code, body := call(t, srv, "POST", pathCustomFields, map[string]any{"name": "bad__name", "type": "text", "object_types": []string{"dcim.device"}})
			if code != 400 || !reflect.DeepEqual(body, map[string]any{"name": []any{"Double underscores are not permitted in custom field names."}}) {
				t.Errorf("cf bad name = %d %s", code, mustJSON(body))
			}
			srv.MustSeed(pathTags, map[string]any{"name": "Agent", "slug": "agent"}, map[string]any{"name": "Stale", "slug": "stale"})
			code, body = call(t, srv, "POST", pathDevices, map[string]any{
				"name": "web01", "device_type": ids["device_type"], "role": ids["role"], "site": ids["site"],
				"tags": []any{map[string]any{"name": "Agent"}, 2},
				"custom_fields": map[string]any{
					"agent_text": "px:1", "agent_long": "line1\nline2", "agent_json": map[string]any{"seen": []any{"a"}},
					"agent_date": "2026-11-25", "agent_when": "2026-11-25T10:00:00Z", "agent_n": 7,
				},
			})
			if code != 201 {
				t.Fatalf("create device = %d %s", code, mustJSON(body))
			}
			dev := body.(map[string]any)
			wantCF := map[string]any{"agent_text": "px:1", "agent_long": "line1\nline2", "agent_json": map[string]any{"seen": []any{"a"}},
				"agent_date": "2026-11-25", "agent_when": "2026-11-25T10:00:00Z", "agent_n": float64(7)}
			if !reflect.DeepEqual(dev["custom_fields"], wantCF) {
				t.Errorf("custom_fields = %s", mustJSON(dev["custom_fields"]))
			}
			tags := dev["tags"].([]any)
			if len(tags) != 2 || tags[0].(map[string]any)["slug"] != "agent" || tags[1].(map[string]any)["name"] != "Stale" {
				t.Errorf("tags = %s", mustJSON(tags))
			}
			// PATCH merges custom field data; unset fields come back as null.
			code, body = call(t, srv, "PATCH", pathDevices+"1/", map[string]any{"custom_fields": map[string]any{"agent_n": nil, "agent_text": "px:2"}, "tags": []any{}})
			if code != 200 {
				t.Fatalf("patch = %d %s", code, mustJSON(body))
			}
			dev = body.(map[string]any)
			if cf := dev["custom_fields"].(map[string]any); cf["agent_n"] != nil || cf["agent_text"] != "px:2" || cf["agent_date"] != "2026-11-25" || len(cf) != 6 {
				t.Errorf("after patch custom_fields = %s", mustJSON(cf))
			}
			if len(dev["tags"].([]any)) != 0 {
				t.Errorf("tags not cleared: %v", dev["tags"])
			}
			invalid := []struct {
				cf      map[string]any
				field   string
				problem string
			}{
				{map[string]any{"agent_n": "seven"}, "agent_n", "Value must be an integer."},
				{map[string]any{"agent_date": "25.11.2026"}, "agent_date", "Date values must be in ISO 8601 format (YYYY-MM-DD)."},
				{map[string]any{"agent_text": 5}, "agent_text", "Value must be a string."},
				{map[string]any{"vm_only": "x"}, "vm_only", "Unknown field name 'vm_only' in custom field data."},
			}
			for _, tc := range invalid {
				code, body := call(t, srv, "PATCH", pathDevices+"1/", map[string]any{"custom_fields": tc.cf})
				var want map[string]any
				switch {
				case p == Profile47:
					want = map[string]any{"custom_fields": map[string]any{tc.field: []any{tc.problem}}}
				case tc.field == "vm_only":
					want = map[string]any{"__all__": []any{tc.problem}}
				default:
					want = map[string]any{"__all__": []any{fmt.Sprintf("Invalid value for custom field '%s': %s", tc.field, tc.problem)}}
				}
				if code != 400 || !reflect.DeepEqual(body, want) {
					t.Errorf("cf %v = %d %s, want %s", tc.cf, code, mustJSON(body), mustJSON(want))
				}
			}
			// Renaming a custom field moves its data.
			if code, body := call(t, srv, "PATCH", pathCustomFields+"2/", map[string]any{"name": "agent_longer"}); code != 200 {
				t.Fatalf("rename cf = %d %s", code, mustJSON(body))
			}
			if cf := srv.Object(pathDevices, 1)["custom_fields"].(map[string]any); cf["agent_longer"] != "line1\nline2" {
				t.Errorf("after rename: %s", mustJSON(cf))
			}
			// Deleting a custom field removes its data; deleting a tag untags objects.
			call(t, srv, "PATCH", pathDevices+"1/", map[string]any{"tags": []any{1}})
			if code, _ := call(t, srv, "DELETE", pathCustomFields+"1/", nil); code != 204 {
				t.Fatal("delete cf")
			}
			if code, _ := call(t, srv, "DELETE", pathTags+"1/", nil); code != 204 {
				t.Fatal("delete tag")
			}
			dev = srv.Object(pathDevices, 1)
			if _, ok := dev["custom_fields"].(map[string]any)["agent_text"]; ok || len(dev["tags"].([]any)) != 0 {
				t.Errorf("after deletes: cf %v tags %v", dev["custom_fields"], dev["tags"])
			}
		})
	}
}

// TestInterfaceMACAddress: read-only (silently ignored) in 4.3, writable in 4.7.
func TestInterfaceMACAddress(t *testing.T) {
	for _, p := range profiles {
		t.Run(p.String(), func(t *testing.T) {
			srv := NewTestServer(t, WithProfile(p))
			ids := seedBase(t, srv)
			srv.MustSeed(pathDevices, map[string]any{"name": "web01", "device_type": ids["device_type"], "role": ids["role"], "site": ids["site"]})
			code, body := call(t, srv, "POST", pathInterfaces, map[string]any{"device": 1, "name": "eth0", "type": "1000base-t", "mac_address": "aa:bb:cc:00:11:22"})
			if code != 201 {
				t.Fatalf("create = %d %s", code, mustJSON(body))
			}
			iface := body.(map[string]any)
			if p == Profile43 {
				if iface["mac_address"] != nil || srv.Count(pathMACs) != 0 {
					t.Errorf("4.3 wrote a read-only mac_address: %v", iface["mac_address"])
				}
				return
			}
			if iface["mac_address"] != "AA:BB:CC:00:11:22" || iface["primary_mac_address"].(map[string]any)["mac_address"] != "AA:BB:CC:00:11:22" || srv.Count(pathMACs) != 1 {
				t.Errorf("4.7 mac_address = %v, primary %v, %d MAC objects", iface["mac_address"], iface["primary_mac_address"], srv.Count(pathMACs))
			}
		})
	}
}

func TestTimestampsAndDisplay(t *testing.T) {
	srv := NewTestServer(t)
	seedBase(t, srv)
	code, body := call(t, srv, "POST", pathDevices, map[string]any{"device_type": 1, "role": 1, "site": 1, "asset_tag": nil})
	if code != 201 {
		t.Fatalf("unnamed device = %d %s", code, mustJSON(body))
	}
	dev := body.(map[string]any)
	stamp := regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$`)
	if !stamp.MatchString(dev["created"].(string)) || !stamp.MatchString(dev["last_updated"].(string)) {
		t.Errorf("timestamps = %v %v", dev["created"], dev["last_updated"])
	}
	if dev["display"] != "Dell R730 (1)" || dev["name"] != nil {
		t.Errorf("display = %v, name = %v", dev["display"], dev["name"])
	}
	_, body = call(t, srv, "PATCH", pathDevices+"1/", map[string]any{"serial": "X"})
	if body.(map[string]any)["last_updated"].(string) <= dev["last_updated"].(string) || body.(map[string]any)["created"] != dev["created"] {
		t.Errorf("last_updated %v -> %v, created %v -> %v", dev["last_updated"], body.(map[string]any)["last_updated"], dev["created"], body.(map[string]any)["created"])
	}
}
