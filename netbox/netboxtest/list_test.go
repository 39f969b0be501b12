package netboxtest

import (
	"fmt"
	"net/url"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"
)

func seedSites(t testing.TB, srv *Server, n int) {
	t.Helper()
	objs := make([]map[string]any, n)
	for i := range objs {
		objs[i] = map[string]any{"name": fmt.Sprintf("site%04d", i+1), "slug": fmt.Sprintf("site%04d", i+1)}
	}
	srv.MustSeed(pathSites, objs...)
}

func resultIDs(t testing.TB, body any) []int {
	t.Helper()
	m, ok := body.(map[string]any)
	if !ok {
		t.Fatalf("not a list page: %s", mustJSON(body))
	}
	var ids []int
	for _, r := range m["results"].([]any) {
		ids = append(ids, int(r.(map[string]any)["id"].(float64)))
	}
	return ids
}

func seq(from, to int) []int {
	var out []int
	for i := from; i <= to; i++ {
		out = append(out, i)
	}
	return out
}

func TestPagination(t *testing.T) {
	srv := NewTestServer(t)
	seedSites(t, srv, 1203)
	abs := func(q string) string { return srv.URL + pathSites + "?" + q }
	tests := []struct {
		query        string
		wantIDs      []int
		wantNext     any
		wantPrevious any
	}{
		{"", seq(1, 50), abs("limit=50&offset=50"), nil},
		{"limit=10&offset=20", seq(21, 30), abs("limit=10&offset=30"), abs("limit=10&offset=10")},
		{"limit=10&offset=5", seq(6, 15), abs("limit=10&offset=15"), abs("limit=10")},
		{"limit=0", seq(1, 1000), abs("limit=1000&offset=1000"), nil},
		{"limit=5000", seq(1, 1000), abs("limit=1000&offset=1000"), nil},
		{"limit=1000&offset=1000", seq(1001, 1203), nil, abs("limit=1000")},
		{"limit=3&offset=1202", []int{1203}, nil, abs("limit=3&offset=1199")},
		{"limit=5&name=site0007", []int{7}, nil, nil},
		{"limit=2&slug__ic=site000", []int{1, 2}, abs("limit=2&offset=2&slug__ic=site000"), nil},
	}
	for _, tc := range tests {
		t.Run(tc.query, func(t *testing.T) {
			code, body := call(t, srv, "GET", pathSites+"?"+tc.query, nil)
			if code != 200 {
				t.Fatalf("code %d %s", code, mustJSON(body))
			}
			page := body.(map[string]any)
			if got := resultIDs(t, body); !reflect.DeepEqual(got, tc.wantIDs) {
				t.Errorf("ids = %v, want %v", got, tc.wantIDs)
			}
			if page["next"] != tc.wantNext || page["previous"] != tc.wantPrevious {
				t.Errorf("next, previous = %v, %v; want %v, %v", page["next"], page["previous"], tc.wantNext, tc.wantPrevious)
			}
			if tc.query != "limit=5&name=site0007" && !strings.Contains(tc.query, "slug") && page["count"] != float64(1203) {
				t.Errorf("count = %v", page["count"])
			}
		})
	}
}

func TestCursorPagination(t *testing.T) {
	srv := NewTestServer(t, WithProfile(Profile47))
	seedSites(t, srv, 30)
	// Delete a few so ids have gaps.
	for _, id := range []int{3, 4, 12} {
		if code, _ := call(t, srv, "DELETE", fmt.Sprintf("%s%d/", pathSites, id), nil); code != 204 {
			t.Fatalf("delete %d = %d", id, code)
		}
	}
	var all []int
	next := pathSites + "?start=0&limit=10"
	pages := 0
	for next != "" {
		code, body := call(t, srv, "GET", strings.TrimPrefix(next, srv.URL), nil)
		if code != 200 {
			t.Fatalf("GET %s = %d %s", next, code, mustJSON(body))
		}
		page := body.(map[string]any)
		if page["count"] != nil || page["previous"] != nil {
			t.Errorf("cursor page count/previous = %v/%v, want null", page["count"], page["previous"])
		}
		all = append(all, resultIDs(t, body)...)
		next, _ = page["next"].(string)
		pages++
	}
	var want []int
	for _, id := range seq(1, 30) {
		if id != 3 && id != 4 && id != 12 {
			want = append(want, id)
		}
	}
	if !reflect.DeepEqual(all, want) || pages != 3 {
		t.Errorf("cursor walk = %v in %d pages, want %v in 3", all, pages, want)
	}
	code, body := call(t, srv, "GET", pathSites+"?start=5&limit=2", nil)
	if got := resultIDs(t, body); code != 200 || !reflect.DeepEqual(got, []int{5, 6}) ||
		body.(map[string]any)["next"] != srv.URL+pathSites+"?limit=2&start=7" {
		t.Errorf("start=5 = %d %v next %v", code, got, body.(map[string]any)["next"])
	}
	code, body = call(t, srv, "GET", pathSites+"?start=5&offset=10", nil)
	if code != 400 || body.(map[string]any)["detail"] == nil {
		t.Errorf("start+offset = %d %s, want 400 detail", code, mustJSON(body))
	}
	// 4.3 does not know start: it is ignored, offset pagination applies.
	old := NewTestServer(t)
	seedSites(t, old, 3)
	code, body = call(t, old, "GET", pathSites+"?start=2", nil)
	if code != 200 || body.(map[string]any)["count"] != float64(3) || len(resultIDs(t, body)) != 3 {
		t.Errorf("4.3 start = %d %s", code, mustJSON(body))
	}
}

// TestFilters checks every filter the simulator implements.
func TestFilters(t *testing.T) {
	now := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	srv := NewTestServer(t, WithClock(clock))
	ids := seedBase(t, srv)
	srv.MustSeed(pathTags, map[string]any{"name": "agent", "slug": "agent"}, map[string]any{"name": "stale", "slug": "stale"})
	srv.MustSeed(pathCustomFields,
		map[string]any{"name": "agent_id", "type": "text", "object_types": []string{"dcim.device", "virtualization.virtualmachine"}},
		map[string]any{"name": "rank", "type": "integer", "object_types": []string{"dcim.device"}})
	dev := func(name, serial string, site int, tags []string, cf map[string]any) map[string]any {
		var tl []any
		for _, s := range tags {
			tl = append(tl, map[string]any{"slug": s})
		}
		m := map[string]any{"name": name, "serial": serial, "device_type": ids["device_type"], "role": ids["role"], "site": site}
		if tl != nil {
			m["tags"] = tl
		}
		if cf != nil {
			m["custom_fields"] = cf
		}
		return m
	}
	srv.MustSeed(pathDevices,
		dev("web01", "SN-AAA", ids["site"], []string{"agent"}, map[string]any{"agent_id": "px:1", "rank": 1}), // 1
		dev("Web02", "sn-bbb", ids["site"], []string{"agent", "stale"}, map[string]any{"agent_id": "px:2"}),   // 2
		dev("db01", "", ids["site2"], nil, nil), // 3
	)
	now = now.Add(time.Hour)
	srv.MustSeed(pathDevices, dev("late", "", ids["site2"], nil, nil)) // 4, updated an hour later
	srv.MustSeed(pathInterfaces,
		map[string]any{"device": 1, "name": "eth0", "type": "1000base-t"},     // 1
		map[string]any{"device": 2, "name": "eth0", "type": "1000base-t"},     // 2
		map[string]any{"device": 2, "name": "eth1", "type": "10gbase-x-sfpp"}, // 3
	)
	srv.MustSeed(pathMACs,
		map[string]any{"mac_address": "aa:bb:cc:00:00:01", "assigned_object_type": "dcim.interface", "assigned_object_id": 1},
		map[string]any{"mac_address": "AA-BB-CC-00-00-02", "assigned_object_type": "dcim.interface", "assigned_object_id": 3},
	)
	srv.MustSeed(pathIPs,
		map[string]any{"address": "10.0.0.1/24", "assigned_object_type": "dcim.interface", "assigned_object_id": 1},
		map[string]any{"address": "10.0.0.2/24", "assigned_object_type": "dcim.interface", "assigned_object_id": 2},
		map[string]any{"address": "192.0.2.9/32"},
	)
	srv.MustSeed(pathVMs,
		map[string]any{"name": "vm1", "cluster": ids["cluster"], "serial": "UUID-1", "custom_fields": map[string]any{"agent_id": "px:100"}},
		map[string]any{"name": "vm2", "cluster": ids["cluster"]},
		map[string]any{"name": "vm3", "site": ids["site"]},
	)
	srv.MustSeed(pathVMInterfaces, map[string]any{"virtual_machine": 1, "name": "net0"}, map[string]any{"virtual_machine": 2, "name": "net0"})
	srv.MustSeed(pathMACs, map[string]any{"mac_address": "bc:24:11:00:00:01", "assigned_object_type": "virtualization.vminterface", "assigned_object_id": 2})
	srv.MustSeed(pathVirtualDisks, map[string]any{"virtual_machine": 1, "name": "scsi0", "size": 1000}, map[string]any{"virtual_machine": 2, "name": "scsi0", "size": 5})
	srv.MustSeed(pathServices,
		map[string]any{"parent_object_type": "dcim.device", "parent_object_id": 1, "name": "ssh", "protocol": "tcp", "ports": []int{22}},
		map[string]any{"parent_object_type": "virtualization.virtualmachine", "parent_object_id": 1, "name": "http", "protocol": "tcp", "ports": []int{80, 443}},
	)

	tests := []struct {
		path  string
		query string
		want  []int
	}{
		{pathDevices, "id=1&id=3", []int{1, 3}},
		// NetBox has no id__in: it is an unknown filter, ignored (test/contract filter-id-in).
		{pathDevices, "id__in=2,3", []int{1, 2, 3, 4}},
		{pathDevices, "name=web01", []int{1}},
		{pathDevices, "name=WEB01", []int{1}}, // device names filter iexact in NetBox
		{pathDevices, "name__ie=WEB01", []int{1}},
		{pathDevices, "name=web01&name=db01", []int{1, 3}},
		{pathDevices, "name__ic=web", []int{1, 2}},
		{pathDevices, "serial=sn-aaa", []int{1}}, // serials are case-insensitive in NetBox
		{pathDevices, "serial=SN-BBB", []int{2}},
		{pathDevices, "site_id=" + fmt.Sprint(ids["site2"]), []int{3, 4}},
		{pathDevices, "site_id=1&name=web01", []int{1}},
		{pathDevices, "role_id=1", []int{1, 2, 3, 4}},
		{pathDevices, "tag=agent", []int{1, 2}},
		{pathDevices, "tag=agent&tag=stale", []int{2}},
		{pathDevices, "cf_agent_id=px:2", []int{2}},
		{pathDevices, "cf_rank=1", []int{1}},
		{pathDevices, "last_updated__gte=2026-11-01T12:30:00Z", []int{4}},
		{pathDevices, "last_updated__gte=2026-11-01T12:00:00Z", []int{1, 2, 3, 4}},
		{pathDevices, "unknown_filter=whatever", []int{1, 2, 3, 4}},
		{pathSites, "slug=lab", []int{2}},
		{pathInterfaces, "device_id=2", []int{2, 3}},
		{pathInterfaces, "mac_address=AA:BB:CC:00:00:02", []int{3}},
		{pathInterfaces, "mac_address=aa:bb:cc:00:00:01", []int{1}},
		{pathInterfaces, "name=eth0&device_id=2", []int{2}},
		{pathMACs, "mac_address=aabb.cc00.0002", []int{2}},
		{pathMACs, "assigned_object_id=1", []int{1}},
		{pathMACs, "device_id=2", []int{2}},
		{pathMACs, "virtual_machine_id=2", []int{3}},
		{pathMACs, "interface_id=3", []int{2}},
		{pathMACs, "vminterface_id=2", []int{3}},
		{pathIPs, "device_id=1", []int{1}},
		{pathIPs, "address=10.0.0.2", []int{2}},
		{pathIPs, "address=10.0.0.2/24", []int{2}},
		{pathIPs, "assigned_object_id=2", []int{2}},
		{pathIPs, "interface_id=1&interface_id=2", []int{1, 2}},
		{pathVMs, "cluster_id=" + fmt.Sprint(ids["cluster"]), []int{1, 2}},
		{pathVMs, "site_id=1", []int{3}},
		{pathVMs, "serial=uuid-1", []int{1}},
		{pathVMs, "cf_agent_id=px:100", []int{1}},
		{pathVMInterfaces, "virtual_machine_id=2", []int{2}},
		{pathVMInterfaces, "mac_address=BC:24:11:00:00:01", []int{2}},
		{pathVirtualDisks, "virtual_machine_id=1", []int{1}},
		{pathServices, "device_id=1", []int{1}},
		{pathServices, "virtual_machine_id=1", []int{2}},
		{pathCustomFields, "object_type=virtualization.virtualmachine", []int{1}},
		{pathCustomFields, "name=rank", []int{2}},
		{pathClusters, "type_id=1", []int{1}},
		{pathDeviceTypes, "manufacturer_id=1", []int{1}},
	}
	for _, tc := range tests {
		t.Run(tc.path+"?"+tc.query, func(t *testing.T) {
			code, body := call(t, srv, "GET", tc.path+"?"+tc.query, nil)
			if code != 200 {
				t.Fatalf("code %d %s", code, mustJSON(body))
			}
			got := resultIDs(t, body)
			slices.Sort(got) // order is the model's ordering, checked by test/contract
			if !reflect.DeepEqual(got, tc.want) || int(body.(map[string]any)["count"].(float64)) != len(tc.want) {
				t.Errorf("ids = %v (count %v), want %v", got, body.(map[string]any)["count"], tc.want)
			}
		})
	}
}

func TestBriefAndFields(t *testing.T) {
	srv := NewTestServer(t)
	seedBase(t, srv)
	srv.MustSeed(pathDevices, map[string]any{"name": "web01", "device_type": 1, "role": 1, "site": 1})
	srv.MustSeed(pathInterfaces, map[string]any{"device": 1, "name": "eth0", "type": "virtual"})
	keys := func(m any) []string {
		var out []string
		for k := range m.(map[string]any) {
			out = append(out, k)
		}
		sort.Strings(out)
		return out
	}
	tests := []struct {
		path string
		want []string
	}{
		{pathDevices + "?brief=true", []string{"description", "display", "id", "name", "url"}},
		{pathSites + "?brief=1", []string{"description", "display", "id", "name", "slug", "url"}},
		{pathInterfaces + "?brief=true", []string{"_occupied", "cable", "description", "device", "display", "id", "name", "url"}},
		{pathDevices + "?fields=id,name,site,serial,custom_fields", []string{"custom_fields", "id", "name", "serial", "site"}},
		{pathDevices + "1/?fields=id,last_updated", []string{"id", "last_updated"}},
	}
	for _, tc := range tests {
		code, body := call(t, srv, "GET", tc.path, nil)
		if code != 200 {
			t.Fatalf("%s: %d", tc.path, code)
		}
		obj := body
		if page, ok := body.(map[string]any)["results"]; ok {
			obj = page.([]any)[0]
		}
		if got := keys(obj); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s keys = %v, want %v", tc.path, got, tc.want)
		}
	}
	// Nested references stay brief objects inside ?fields.
	_, body := call(t, srv, "GET", pathDevices+"?fields=site", nil)
	site := body.(map[string]any)["results"].([]any)[0].(map[string]any)["site"].(map[string]any)
	if site["slug"] != "home" || site["url"] != srv.URL+pathSites+"1/" {
		t.Errorf("nested site = %v", site)
	}
	q := url.Values{"fields": {"id"}}
	if code, _ := call(t, srv, "GET", pathDevices+"?"+q.Encode(), nil); code != 200 {
		t.Errorf("fields=id: %d", code)
	}
}
