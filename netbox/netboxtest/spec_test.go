package netboxtest

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	netbox "github.com/netbox-community/go-netbox/v4"
)

const v1Token = "0123456789abcdef0123456789abcdef01234567"

// seedLab creates at least one object at every endpoint.
func seedLab(t testing.TB, srv *Server) {
	t.Helper()
	ids := seedBase(t, srv)
	srv.MustSeed(pathTags, map[string]any{"name": "agent", "slug": "agent", "color": "00ff00"})
	srv.MustSeed(pathCustomFields, map[string]any{"name": "agent_id", "type": "text", "object_types": []string{"dcim.device", "virtualization.virtualmachine"}})
	srv.MustSeed(pathLocations, map[string]any{"name": "Rack room", "slug": "rack-room", "site": ids["site"]})
	srv.MustSeed(pathPlatforms, map[string]any{"name": "Debian", "slug": "debian", "manufacturer": ids["manufacturer"]})
	srv.MustSeed(pathDevices, map[string]any{"name": "pve1", "device_type": ids["device_type"], "role": ids["role"], "site": ids["site"],
		"location": 1, "platform": 1, "serial": "SN1", "cluster": ids["cluster"], "tags": []any{1}, "custom_fields": map[string]any{"agent_id": "px:node/pve1"}})
	srv.MustSeed(pathInterfaces, map[string]any{"device": 1, "name": "eno1", "type": "1000base-t", "mtu": 1500})
	srv.MustSeed(pathMACs, map[string]any{"mac_address": "00:11:22:33:44:55", "assigned_object_type": "dcim.interface", "assigned_object_id": 1})
	srv.MustSeed(pathIPs, map[string]any{"address": "192.168.1.10/24", "assigned_object_type": "dcim.interface", "assigned_object_id": 1, "dns_name": "pve1.lan"})
	srv.MustSeed(pathVMs, map[string]any{"name": "web", "cluster": ids["cluster"], "site": ids["site"], "vcpus": 2, "memory": 2048, "role": ids["role"]})
	srv.MustSeed(pathVMInterfaces, map[string]any{"virtual_machine": 1, "name": "net0"})
	srv.MustSeed(pathMACs, map[string]any{"mac_address": "bc:24:11:aa:bb:cc", "assigned_object_type": "virtualization.vminterface", "assigned_object_id": 1})
	srv.MustSeed(pathIPs, map[string]any{"address": "192.168.1.20/24", "assigned_object_type": "virtualization.vminterface", "assigned_object_id": 1})
	srv.MustSeed(pathVirtualDisks, map[string]any{"virtual_machine": 1, "name": "scsi0", "size": 20480})
	srv.MustSeed(pathServices, map[string]any{"parent_object_type": "virtualization.virtualmachine", "parent_object_id": 1,
		"name": "https", "protocol": "tcp", "ports": []int{443}, "ipaddresses": []int{2}})
	for _, st := range []struct {
		path string
		body map[string]any
	}{
		{pathDevices + "1/", map[string]any{"primary_ip4": 1}},
		{pathInterfaces + "1/", map[string]any{"primary_mac_address": 1}},
		{pathVMs + "1/", map[string]any{"primary_ip4": 2}},
		{pathVMInterfaces + "1/", map[string]any{"primary_mac_address": 2}},
	} {
		if code, body := call(t, srv, "PATCH", st.path, st.body); code != 200 {
			t.Fatalf("PATCH %s = %d %s", st.path, code, mustJSON(body))
		}
	}
}

// TestResponsesMatchSpec reads every endpoint, as a list and by id, with response
// validation on: NewTestServer fails the test on any mismatch; checked here explicitly too.
func TestResponsesMatchSpec(t *testing.T) {
	for _, p := range profiles {
		t.Run(p.String(), func(t *testing.T) {
			srv := NewTestServer(t, WithProfile(p))
			seedLab(t, srv)
			for _, ep := range srv.Endpoints() {
				if srv.Count(ep) == 0 {
					t.Errorf("%s: lab has no objects", ep)
				}
				if code, body := call(t, srv, "GET", ep, nil); code != 200 {
					t.Errorf("GET %s = %d %s", ep, code, mustJSON(body))
				}
				if code, body := call(t, srv, "GET", ep+"1/", nil); code != 200 {
					t.Errorf("GET %s1/ = %d %s", ep, code, mustJSON(body))
				}
			}
			if errs := srv.ResponseErrors(); len(errs) > 0 {
				t.Errorf("responses do not match the spec:\n%s", strings.Join(errs, "\n"))
			}
		})
	}
}

// TestResponseValidationCanFail shows the checker rejects a response go-netbox could not decode.
func TestResponseValidationCanFail(t *testing.T) {
	spec, err := DefaultSpec()
	if err != nil {
		t.Fatal(err)
	}
	srv := NewTestServer(t)
	seedLab(t, srv)
	good := srv.Object(pathDevices, 1)
	var v any
	raw, _ := json.Marshal(good)
	_ = json.Unmarshal(raw, &v)
	dropNulls(v, srv.spec.nullChoices)
	if err := validateResponse(spec.eps[pathDevices].resp, v); err != nil {
		t.Fatalf("a good device fails validation: %v", err)
	}
	for _, breakIt := range []func(m map[string]any){
		func(m map[string]any) { delete(m, "site") },
		func(m map[string]any) { m["id"] = "one" },
		func(m map[string]any) { m["status"] = map[string]any{"value": "bogus", "label": "Bogus"} },
	} {
		var bad map[string]any
		_ = json.Unmarshal(raw, &bad)
		breakIt(bad)
		if err := validateResponse(spec.eps[pathDevices].resp, bad); err == nil {
			t.Errorf("a broken device passes validation: %s", mustJSON(bad))
		}
	}
}

// TestGoNetboxDecodes reads every list with go-netbox v4.3.0's generated client, whose
// decoding is strict, and writes one device with it.
func TestGoNetboxDecodes(t *testing.T) {
	for _, p := range profiles {
		t.Run(p.String(), func(t *testing.T) {
			srv := NewTestServer(t, WithProfile(p), WithToken(v1Token))
			seedLab(t, srv)
			c := netbox.NewAPIClientFor(srv.URL, v1Token)
			ctx := context.Background()
			devs, _, err := c.DcimAPI.DcimDevicesList(ctx).Limit(1000).Execute()
			if err != nil {
				t.Fatalf("DcimDevicesList: %v", err)
			}
			d := devs.Results[0]
			if devs.Count != 1 || d.GetName() != "pve1" || d.Site.GetSlug() != "home" || d.PrimaryIp4.Get().GetAddress() != "192.168.1.10/24" ||
				d.GetCustomFields()["agent_id"] != "px:node/pve1" || d.Tags[0].GetSlug() != "agent" || d.Status.GetValue() != "active" {
				t.Errorf("decoded device = %+v", d)
			}
			checks := []struct {
				name string
				run  func() (int32, error)
			}{
				{"sites", func() (int32, error) { r, _, err := c.DcimAPI.DcimSitesList(ctx).Execute(); return cnt(r, err) }},
				{"locations", func() (int32, error) { r, _, err := c.DcimAPI.DcimLocationsList(ctx).Execute(); return cnt(r, err) }},
				{"manufacturers", func() (int32, error) { r, _, err := c.DcimAPI.DcimManufacturersList(ctx).Execute(); return cnt(r, err) }},
				{"device types", func() (int32, error) { r, _, err := c.DcimAPI.DcimDeviceTypesList(ctx).Execute(); return cnt(r, err) }},
				{"device roles", func() (int32, error) { r, _, err := c.DcimAPI.DcimDeviceRolesList(ctx).Execute(); return cnt(r, err) }},
				{"platforms", func() (int32, error) { r, _, err := c.DcimAPI.DcimPlatformsList(ctx).Execute(); return cnt(r, err) }},
				{"interfaces", func() (int32, error) { r, _, err := c.DcimAPI.DcimInterfacesList(ctx).Execute(); return cnt(r, err) }},
				{"mac addresses", func() (int32, error) { r, _, err := c.DcimAPI.DcimMacAddressesList(ctx).Execute(); return cnt(r, err) }},
				{"ip addresses", func() (int32, error) { r, _, err := c.IpamAPI.IpamIpAddressesList(ctx).Execute(); return cnt(r, err) }},
				{"services", func() (int32, error) { r, _, err := c.IpamAPI.IpamServicesList(ctx).Execute(); return cnt(r, err) }},
				{"tags", func() (int32, error) { r, _, err := c.ExtrasAPI.ExtrasTagsList(ctx).Execute(); return cnt(r, err) }},
				{"custom fields", func() (int32, error) {
					r, _, err := c.ExtrasAPI.ExtrasCustomFieldsList(ctx).Execute()
					return cnt(r, err)
				}},
				{"cluster types", func() (int32, error) {
					r, _, err := c.VirtualizationAPI.VirtualizationClusterTypesList(ctx).Execute()
					return cnt(r, err)
				}},
				{"clusters", func() (int32, error) {
					r, _, err := c.VirtualizationAPI.VirtualizationClustersList(ctx).Execute()
					return cnt(r, err)
				}},
				{"virtual machines", func() (int32, error) {
					r, _, err := c.VirtualizationAPI.VirtualizationVirtualMachinesList(ctx).Execute()
					return cnt(r, err)
				}},
				{"vm interfaces", func() (int32, error) {
					r, _, err := c.VirtualizationAPI.VirtualizationInterfacesList(ctx).Execute()
					return cnt(r, err)
				}},
				{"virtual disks", func() (int32, error) {
					r, _, err := c.VirtualizationAPI.VirtualizationVirtualDisksList(ctx).Execute()
					return cnt(r, err)
				}},
			}
			for _, ch := range checks {
				n, err := ch.run()
				if err != nil || n < 1 {
					t.Errorf("%s: count %d, err %v", ch.name, n, err)
				}
			}
			one := int32(1)
			req := netbox.NewWritableDeviceWithConfigContextRequest(
				netbox.Int32AsDeviceBayTemplateRequestDeviceType(&one),
				netbox.BriefDeviceRoleRequestAsDeviceWithConfigContextRequestRole(netbox.NewBriefDeviceRoleRequest("Server", "server")),
				netbox.BriefSiteRequestAsDeviceWithConfigContextRequestSite(netbox.NewBriefSiteRequest("Home", "home")))
			req.SetName("pve2")
			created, _, err := c.DcimAPI.DcimDevicesCreate(ctx).WritableDeviceWithConfigContextRequest(*req).Execute()
			if err != nil || created.GetName() != "pve2" || created.DeviceType.GetModel() != "R730" {
				t.Errorf("DcimDevicesCreate = %v, %v", created, err)
			}
		})
	}
}

type counted interface{ GetCount() int32 }

func cnt(r counted, err error) (int32, error) {
	if err != nil {
		return 0, fmt.Errorf("decode: %w", err)
	}
	return r.GetCount(), nil
}

// TestRelaxedSchemasAgreeWithSpec: the served request schemas (reference properties checked
// by the simulator instead of kin-openapi's oneOf) accept and reject what the spec does for
// bodies whose references are ids or null.
func TestRelaxedSchemasAgreeWithSpec(t *testing.T) {
	spec, err := DefaultSpec()
	if err != nil {
		t.Fatal(err)
	}
	bodies := []map[string]any{
		{"name": "a", "device_type": 1.0, "role": 1.0, "site": 1.0},
		{"name": "a", "device_type": 1.0, "role": 1.0},
		{"name": "a", "device_type": 1.0, "role": 1.0, "site": nil},
		{"name": "a", "device_type": 1.0, "role": 1.0, "site": 1.0, "platform": nil, "tenant": nil},
		{"name": "a", "device_type": 1.0, "role": 1.0, "site": 1.0, "status": "bogus"},
		{"name": strings.Repeat("a", 70), "device_type": 1.0, "role": 1.0, "site": 1.0},
		{},
	}
	for _, ep := range []string{pathDevices, pathVMs, pathInterfaces, pathDeviceTypes} {
		es := spec.eps[ep]
		for _, pair := range []struct{ served, original any }{{es.post, es.specPost}, {es.patch, es.specPatch}, {es.put, es.specPut}} {
			for _, b := range bodies {
				got := validateBody(pair.served.(*openapi3.Schema), b)
				want := validateBody(pair.original.(*openapi3.Schema), b)
				if (got == nil) != (want == nil) || (got != nil && !reflect.DeepEqual(keysOf(got), keysOf(want))) {
					t.Errorf("%s %v: served %v, spec %v", ep, b, got, want)
				}
			}
		}
	}
}

func keysOf(fe fieldErrors) []string { return sortedKeys(map[string]any(fe)) }
