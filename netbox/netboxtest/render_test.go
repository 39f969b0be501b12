package netboxtest

import (
	"bytes"
	"net/url"
	"testing"
)

// TestAppendRenderedMatchesRender: rendering straight to bytes gives exactly what encoding
// the rendered map gives, for every object of a populated state, in the full, brief and
// ?fields= representations of both profiles.
func TestAppendRenderedMatchesRender(t *testing.T) {
	for _, p := range []Profile{Profile43, Profile47} {
		t.Run(p.String(), func(t *testing.T) {
			srv := NewTestServer(t, WithProfile(p))
			ids := seedBase(t, srv)
			tag := srv.MustSeed(pathTags, map[string]any{"name": "agent", "slug": "agent", "color": "ff0000"})[0]
			srv.MustSeed(pathCustomFields, map[string]any{"name": "agent_id", "type": "json", "object_types": []any{"dcim.device", "virtualization.virtualmachine", "ipam.ipaddress"}})
			dev := srv.MustSeed(pathDevices, map[string]any{"name": "pve1", "device_type": ids["device_type"], "role": ids["role"], "site": ids["site"],
				"status": "active", "serial": "SN<1>&", "tags": []any{map[string]any{"name": "agent"}}, "custom_fields": map[string]any{"agent_id": map[string]any{"id": "x", "n": 1.5}}})[0]
			srv.MustSeed(pathDevices, map[string]any{"name": "bare", "device_type": ids["device_type"], "role": ids["role"], "site": ids["site2"], "description": "Zürich\n\"q\""})
			ifc := srv.MustSeed(pathInterfaces, map[string]any{"device": dev, "name": "eth0", "type": "1000base-t", "tags": []any{tag}})[0]
			mac := srv.MustSeed("/api/dcim/mac-addresses/", map[string]any{"mac_address": "00:11:22:33:44:55", "assigned_object_type": "dcim.interface", "assigned_object_id": ifc})[0]
			_ = mac
			ip := srv.MustSeed("/api/ipam/ip-addresses/", map[string]any{"address": "10.0.0.1/24", "status": "active", "assigned_object_type": "dcim.interface", "assigned_object_id": ifc})[0]
			vm := srv.MustSeed(pathVMs, map[string]any{"name": "web", "cluster": ids["cluster"], "status": "active", "vcpus": 2, "memory": 4096})[0]
			vif := srv.MustSeed(pathVMInterfaces, map[string]any{"virtual_machine": vm, "name": "net0"})[0]
			srv.MustSeed("/api/ipam/ip-addresses/", map[string]any{"address": "10.0.0.2/24", "assigned_object_type": "virtualization.vminterface", "assigned_object_id": vif})
			srv.MustSeed(pathVirtualDisks, map[string]any{"virtual_machine": vm, "name": "scsi0", "size": 32768})
			srv.MustSeed(pathServices, map[string]any{"name": "ssh", "protocol": "tcp", "ports": []any{22}, "parent_object_type": "dcim.device", "parent_object_id": dev})
			_ = ip

			rc := srv.renderCtx(nil)
			checked := 0
			for path, tbl := range srv.st.tables {
				es, def := srv.spec.eps[path], srv.spec.defs[path]
				if es == nil || def == nil {
					continue
				}
				plans := map[string][]propPlan{"full": es.full}
				plans["brief"], _ = planFor(def, es, url.Values{"brief": {"1"}})
				plans["fields"], _ = planFor(def, es, url.Values{"fields": {"id,name,display,tags,status,custom_fields,no_such"}})
				for _, o := range tbl.byID {
					for name, plan := range plans {
						want := appendJSON(nil, rc.render(o, plan))
						got := rc.appendRendered(nil, o, plan)
						if !bytes.Equal(got, want) {
							t.Errorf("%s #%d %s:\n got %s\nwant %s", path, o.id, name, got, want)
						}
						checked++
					}
				}
			}
			if checked < 40 {
				t.Errorf("only %d renderings compared", checked)
			}
			minimal := (&planBuilder{spec: srv.spec}).minimal(srv.spec.defs[pathDevices]) // not in name order: falls back
			o := srv.st.tables[pathDevices].byID[dev]
			if got, want := rc.appendRendered(nil, o, minimal), appendJSON(nil, rc.render(o, minimal)); !bytes.Equal(got, want) {
				t.Errorf("minimal plan: %s, want %s", got, want)
			}
		})
	}
}
