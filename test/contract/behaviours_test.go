package contract

import "strings"

// Paths, short so the table reads.
const (
	pTags   = "/api/extras/tags/"
	pCFs    = "/api/extras/custom-fields/"
	pSites  = "/api/dcim/sites/"
	pLocs   = "/api/dcim/locations/"
	pMfrs   = "/api/dcim/manufacturers/"
	pTypes  = "/api/dcim/device-types/"
	pRoles  = "/api/dcim/device-roles/"
	pPlats  = "/api/dcim/platforms/"
	pDevs   = "/api/dcim/devices/"
	pIfs    = "/api/dcim/interfaces/"
	pMACs   = "/api/dcim/mac-addresses/"
	pIPs    = "/api/ipam/ip-addresses/"
	pSvcs   = "/api/ipam/services/"
	pCTypes = "/api/virtualization/cluster-types/"
	pCls    = "/api/virtualization/clusters/"
	pVMs    = "/api/virtualization/virtual-machines/"
	pVMIfs  = "/api/virtualization/interfaces/"
	pDisks  = "/api/virtualization/virtual-disks/"
)

func post(path, body, save string, obs ...string) step {
	return step{method: "POST", path: path, body: body, save: save, obs: obs}
}
func get(path string, obs ...string) step { return step{method: "GET", path: path, obs: obs} }
func patch(path, body string, obs ...string) step {
	return step{method: "PATCH", path: path, body: body, obs: obs}
}
func del(path, body string, obs ...string) step {
	return step{method: "DELETE", path: path, body: body, obs: obs}
}

// cat joins step lists (fixtures, then the behaviour's own steps).
func cat(parts ...[]step) []step {
	var out []step
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

func steps(s ...step) []step { return s }

// base: a site, a manufacturer, a device type and a device role ({site} {mfr} {dt} {role}).
func base() []step {
	return steps(
		post(pSites, `{"name":"Site 1","slug":"site-1"}`, "site"),
		post(pMfrs, `{"name":"Mfr 1","slug":"mfr-1"}`, "mfr"),
		post(pTypes, `{"manufacturer":{mfr},"model":"Model 1","slug":"model-1"}`, "dt"),
		post(pRoles, `{"name":"Role 1","slug":"role-1"}`, "role"),
	)
}

func device(name, save string) step {
	return post(pDevs, `{"name":"`+name+`","device_type":{dt},"role":{role},"site":{site}}`, save)
}

// withDevice: base plus device dev1 ({dev}) with interfaces eth0 ({if0}) and eth1 ({if1}).
func withDevice() []step {
	return cat(base(), steps(
		device("dev1", "dev"),
		post(pIfs, `{"device":{dev},"name":"eth0","type":"1000base-t"}`, "if0"),
		post(pIfs, `{"device":{dev},"name":"eth1","type":"1000base-t"}`, "if1"),
	))
}

// withCluster: a cluster type and a cluster scoped to site 1 ({ct} {cl}).
func withCluster() []step {
	return cat(base(), steps(
		post(pCTypes, `{"name":"Proxmox","slug":"proxmox"}`, "ct"),
		post(pCls, `{"name":"pve","type":{ct},"scope_type":"dcim.site","scope_id":{site}}`, "cl"),
	))
}

func ipOn(addr, iface, save string) step {
	return post(pIPs, `{"address":"`+addr+`","assigned_object_type":"dcim.interface","assigned_object_id":{`+iface+`}}`, save)
}

// model is one endpoint with how to build a minimal object of it.
type model struct {
	key, path string
	setup     func() []step
	body      string
}

func models() []model {
	none := func() []step { return nil }
	return []model{
		{"tag", pTags, none, `{"name":"T1","slug":"t1"}`},
		{"custom-field", pCFs, none, `{"name":"cf1","type":"text","object_types":["dcim.device"]}`},
		{"site", pSites, none, `{"name":"S1","slug":"s1"}`},
		{"location", pLocs, base, `{"name":"L1","slug":"l1","site":{site}}`},
		{"manufacturer", pMfrs, none, `{"name":"M1","slug":"m1"}`},
		{"device-type", pTypes, base, `{"manufacturer":{mfr},"model":"X1","slug":"x1"}`},
		{"device-role", pRoles, none, `{"name":"R1","slug":"r1"}`},
		{"platform", pPlats, none, `{"name":"P1","slug":"p1"}`},
		{"device", pDevs, base, `{"name":"d1","device_type":{dt},"role":{role},"site":{site}}`},
		{"interface", pIfs, withDevice, `{"device":{dev},"name":"eth9","type":"1000base-t"}`},
		{"mac-address", pMACs, none, `{"mac_address":"00:11:22:33:44:55"}`},
		{"ip-address", pIPs, none, `{"address":"192.0.2.1/24"}`},
		{"service", pSvcs, withDevice, `{"parent_object_type":"dcim.device","parent_object_id":{dev},"name":"ssh","protocol":"tcp","ports":[22]}`},
		{"cluster-type", pCTypes, none, `{"name":"CT1","slug":"ct1"}`},
		{"cluster", pCls, withCluster, `{"name":"c2","type":{ct}}`},
		{"virtual-machine", pVMs, withCluster, `{"name":"vm1","cluster":{cl}}`},
		{"vm-interface", pVMIfs, withVM, `{"virtual_machine":{vm},"name":"net9"}`},
		{"virtual-disk", pDisks, withVM, `{"virtual_machine":{vm},"name":"scsi9","size":10}`},
	}
}

// withVM: withCluster plus VM vm1 ({vm}) with interface net0 ({vif0}).
func withVM() []step {
	return cat(withCluster(), steps(
		post(pVMs, `{"name":"vm1","cluster":{cl}}`, "vm"),
		post(pVMIfs, `{"virtual_machine":{vm},"name":"net0"}`, "vif0"),
	))
}

// readOnlyEndpoints are lists NetBox clients commonly read at start-up, beyond the models
// the agent writes.
var readOnlyEndpoints = []string{
	"/api/tenancy/tenants/", "/api/tenancy/tenant-groups/", "/api/tenancy/contacts/",
	"/api/dcim/site-groups/", "/api/dcim/regions/", "/api/dcim/racks/", "/api/dcim/cables/",
	"/api/dcim/virtual-device-contexts/", "/api/ipam/prefixes/", "/api/ipam/vrfs/",
	"/api/ipam/vlans/", "/api/ipam/vlan-groups/", "/api/ipam/aggregates/", "/api/ipam/ip-ranges/",
	"/api/virtualization/cluster-groups/", "/api/wireless/wireless-lans/", "/api/wireless/wireless-links/",
	"/api/extras/config-contexts/",
}

func behaviours() []behaviour {
	var out []behaviour
	add := func(name, why string, s ...[]step) { out = append(out, behaviour{name, why, cat(s...)}) }

	// Per model: an empty list, the full and brief field sets, a POST without required
	// fields, a missing object.
	for _, m := range models() {
		add("list-empty-"+m.key, "an empty list is count 0, no next/previous, no results",
			steps(get(m.path, "count", "next", "previous", "results")))
		add("fields-"+m.key, "the object's field set (serializer Meta.fields)",
			m.setup(), steps(post(m.path, m.body, "x", "@keys"), get(m.path+"{x}/", "@keys")))
		add("brief-"+m.key, "?brief=1 answers the brief field set (serializer brief_fields)",
			m.setup(), steps(post(m.path, m.body, "x"), get(m.path+"?brief=1", "results.0@keys")))
		add("required-"+m.key, "POST {} names every required field",
			m.setup(), steps(post(m.path, `{}`, "")))
		add("missing-"+m.key, "GET of an id that does not exist is 404 with a detail",
			steps(get(m.path+"999999/", "@keys")))
		add("bulk-create-"+m.key, "a list POST creates every object and answers a list",
			m.setup(), steps(post(m.path, "["+m.body+"]", "b", "@len", "0@keys")))
	}
	for _, p := range readOnlyEndpoints {
		key := strings.ReplaceAll(strings.Trim(strings.TrimPrefix(p, "/api/"), "/"), "/", "-")
		add("list-empty-"+key, "endpoints clients read at start-up exist (empty list)",
			steps(get(p, "count", "results")))
	}

	// --- API plumbing ---
	add("status", "GET /api/status/ answers versions and installed apps",
		steps(get("/api/status/", "@keys")))
	add("status-no-slash", "GET /api/status (no slash) is a redirect (APPEND_SLASH)",
		steps(get("/api/status")))
	add("api-root", "GET /api/ lists the apps",
		steps(get("/api/", "@keys")))
	add("unknown-endpoint", "an unknown path under /api/ is 404",
		steps(get("/api/dcim/nonexistent/")))
	add("no-token", "no Authorization with LOGIN_REQUIRED is 403 with a detail",
		steps(step{method: "GET", path: "/api/dcim/sites/", obs: []string{"@keys"}, noAuth: true}))
	add("bad-token", "an invalid token is 403",
		steps(step{method: "GET", path: "/api/dcim/sites/", obs: []string{"@keys"}, auth: "Token 0000000000000000000000000000000000000000"}))
	add("malformed-json", "a body that is not JSON is 400 with a detail",
		steps(step{method: "POST", path: pSites, raw: `{"name":`, obs: []string{"@keys"}}))
	add("wrong-body-type", "a JSON string as body is 400",
		steps(post(pSites, `"x"`, "")))
	add("empty-list-post", "a bulk POST of [] is 400 or an empty list",
		steps(post(pSites, `[]`, "", "@len")))
	add("method-not-allowed", "PUT on a list without ids is refused",
		steps(step{method: "PUT", path: pSites, body: `{"name":"x","slug":"x"}`}))
	add("delete-404", "DELETE of a missing object is 404",
		steps(del(pSites+"999999/", "")))
	add("patch-404", "PATCH of a missing object is 404",
		steps(patch(pSites+"999999/", `{"description":"x"}`)))

	// --- pagination and lists ---
	many := func(n int) []step {
		var s []step
		var names []string
		for i := n; i >= 1; i-- {
			names = append(names, `{"name":"Mfr `+itoa(i)+`","slug":"mfr-`+itoa(i)+`"}`)
		}
		s = append(s, post(pMfrs, "["+strings.Join(names, ",")+"]", "m"))
		return s
	}
	add("page-limit", "limit=2 answers 2 results with a next link", many(5),
		steps(get(pMfrs+"?limit=2", "count", "next", "previous", "results.*.name")))
	add("page-offset", "limit=2&offset=2 answers the middle page with next and previous", many(5),
		steps(get(pMfrs+"?limit=2&offset=2", "count", "next", "previous", "results.*.name")))
	add("page-last", "the last page has no next", many(5),
		steps(get(pMfrs+"?limit=2&offset=4", "next", "previous", "results.*.name")))
	add("page-limit-abc", "limit=abc falls back to the default page size", many(3),
		steps(get(pMfrs+"?limit=abc", "count", "results@len")))
	add("page-offset-abc", "offset=abc is treated as 0", many(3),
		steps(get(pMfrs+"?offset=abc", "count", "results@len")))
	add("page-limit-0", "limit=0 answers everything up to MAX_PAGE_SIZE", many(3),
		steps(get(pMfrs+"?limit=0", "count", "next", "results@len")))
	add("page-offset-past-end", "an offset past the end is an empty page", many(3),
		steps(get(pMfrs+"?offset=10", "count", "previous", "results")))
	add("order-manufacturers-name", "manufacturers are ordered by name, not creation", many(3),
		steps(get(pMfrs, "results.*.name")))
	add("order-ordering-param", "?ordering=-name reverses", many(3),
		steps(get(pMfrs+"?ordering=-name", "results.*.name")))
	add("order-devices-name", "devices are ordered by name (then id)", base(),
		steps(device("web2", ""), device("db1", ""), device("app3", ""), get(pDevs, "results.*.name")))
	add("order-interfaces-natural", "interfaces are ordered naturally (eth2 before eth10)", base(),
		steps(device("d", "dev"),
			post(pIfs, `[{"device":{dev},"name":"eth10","type":"virtual"},{"device":{dev},"name":"eth2","type":"virtual"},{"device":{dev},"name":"eth1","type":"virtual"}]`, ""),
			get(pIfs, "results.*.name")))
	add("order-ips-address", "IP addresses are ordered by address", steps(
		post(pIPs, `[{"address":"10.0.0.20/24"},{"address":"10.0.0.3/24"},{"address":"10.0.0.100/24"}]`, ""),
		get(pIPs, "results.*.address")))
	add("order-sites-name", "sites are ordered by name", steps(
		post(pSites, `[{"name":"b","slug":"b"},{"name":"a","slug":"a"}]`, ""), get(pSites, "results.*.name")))
	add("order-vms-name", "VMs are ordered by name", withCluster(), steps(
		post(pVMs, `[{"name":"zeta","cluster":{cl}},{"name":"alpha","cluster":{cl}}]`, ""), get(pVMs, "results.*.name")))
	add("order-tags-name", "tags are ordered by name", steps(
		post(pTags, `[{"name":"zz","slug":"zz"},{"name":"aa","slug":"aa"}]`, ""), get(pTags, "results.*.name")))
	add("null-choice-fields", "unset choice fields of a device are null (airflow, face)", base(), steps(
		device("d1", "d"), get(pDevs+"{d}/", "airflow", "face", "status", "platform", "cluster", "primary_ip4")))
	add("interface-unset-fields", "an interface's unset choice fields are null", withDevice(), steps(
		get(pIfs+"{if0}/", "mode", "duplex", "poe_mode", "rf_role", "speed", "mtu", "mac_address", "wwn", "type")))

	// --- filters ---
	add("filter-name-exact-case", "?name= on devices is case-insensitive (iexact)", base(),
		steps(device("Dev1", ""), get(pDevs+"?name=dev1", "count")))
	add("filter-name-multi", "repeated ?name= is OR", base(),
		steps(device("a", ""), device("b", ""), device("c", ""), get(pDevs+"?name=a&name=c", "results.*.name")))
	add("filter-q", "?q= searches names", base(),
		steps(device("alpha", ""), device("beta", ""), get(pDevs+"?q=alp", "results.*.name")))
	add("filter-site-slug", "?site=<slug> filters by the site's slug", base(), steps(
		post(pSites, `{"name":"Other","slug":"other"}`, "s2"),
		post(pDevs, `{"name":"x","device_type":{dt},"role":{role},"site":{s2}}`, ""),
		device("y", ""), get(pDevs+"?site=other", "results.*.name")))
	add("filter-site-unknown-slug", "?site=<unknown slug> is 400", base(),
		steps(get(pDevs+"?site=nosuch")))
	add("filter-site-id-unknown", "?site_id=<unknown id> is 400", base(),
		steps(get(pDevs+"?site_id=999999")))
	add("filter-site-id", "?site_id filters", base(), steps(
		post(pSites, `{"name":"Other","slug":"other"}`, "s2"),
		post(pDevs, `{"name":"x","device_type":{dt},"role":{role},"site":{s2}}`, ""),
		device("y", ""), get(pDevs+"?site_id={s2}", "results.*.name")))
	add("filter-status", "?status= filters by choice", base(), steps(
		post(pDevs, `{"name":"x","device_type":{dt},"role":{role},"site":{site},"status":"planned"}`, ""),
		device("y", ""), get(pDevs+"?status=planned", "results.*.name")))
	add("filter-status-invalid", "?status=<not a choice> is 400", base(),
		steps(get(pDevs+"?status=bogus")))
	add("filter-id-in", "?id__in= filters by ids", base(), steps(
		device("a", "a"), device("b", "b"), device("c", "c"), get(pDevs+"?id__in={a},{c}", "results.*.name")))
	add("filter-id-repeated", "repeated ?id= is OR", base(), steps(
		device("a", "a"), device("b", "b"), get(pDevs+"?id={a}&id={b}", "count")))
	add("filter-id-not-number", "?id=abc is 400", steps(get(pSites+"?id=abc")))
	add("filter-slug", "?slug= on sites", steps(
		post(pSites, `[{"name":"a","slug":"a"},{"name":"b","slug":"b"}]`, ""), get(pSites+"?slug=b", "results.*.name")))
	add("filter-unknown-param", "an unknown filter is ignored (no STRICT_FILTERING)", steps(
		post(pSites, `[{"name":"a","slug":"a"},{"name":"b","slug":"b"}]`, ""), get(pSites+"?bogus_filter=1", "count")))
	add("filter-name-ic", "?name__ic= is a case-insensitive contains", base(), steps(
		device("WebServer", ""), device("db", ""), get(pDevs+"?name__ic=server", "results.*.name")))
	add("filter-name-n", "?name__n= excludes", base(), steps(
		device("a", ""), device("b", ""), get(pDevs+"?name__n=a", "results.*.name")))
	add("filter-address-mask", "?address= with a mask matches address and mask", steps(
		post(pIPs, `[{"address":"192.0.2.1/24"},{"address":"198.51.100.1/25"}]`, ""),
		get(pIPs+"?address=192.0.2.1/24", "count"), get(pIPs+"?address=192.0.2.1/25", "count")))
	add("filter-address-host", "?address= without a mask matches the host", steps(
		post(pIPs, `{"address":"192.0.2.1/24"}`, ""), get(pIPs+"?address=192.0.2.1", "count")))
	add("filter-address-invalid", "?address=<not an address> answers an empty list or 400", steps(
		post(pIPs, `{"address":"192.0.2.1/24"}`, ""), get(pIPs+"?address=nonsense", "count")))
	add("filter-ip-interface-id", "?interface_id= filters IPs by interface", withDevice(), steps(
		ipOn("192.0.2.1/24", "if0", ""), ipOn("192.0.2.2/24", "if1", ""), get(pIPs+"?interface_id={if1}", "results.*.address")))
	add("filter-ip-device-id", "?device_id= filters IPs by device", withDevice(), steps(
		ipOn("192.0.2.1/24", "if0", ""), post(pIPs, `{"address":"192.0.2.9/24"}`, ""), get(pIPs+"?device_id={dev}", "results.*.address")))
	add("filter-ip-vminterface-id", "?vminterface_id= filters IPs", withVM(), steps(
		post(pIPs, `{"address":"192.0.2.5/24","assigned_object_type":"virtualization.vminterface","assigned_object_id":{vif0}}`, ""),
		post(pIPs, `{"address":"192.0.2.6/24"}`, ""), get(pIPs+"?vminterface_id={vif0}", "results.*.address")))
	add("filter-ip-family", "?family=6 filters IPv6", steps(
		post(pIPs, `[{"address":"192.0.2.1/24"},{"address":"2001:db8::1/64"}]`, ""), get(pIPs+"?family=6", "results.*.address")))
	add("filter-ip-parent", "?parent= filters by containing prefix", steps(
		post(pIPs, `[{"address":"192.0.2.1/24"},{"address":"198.51.100.1/24"}]`, ""), get(pIPs+"?parent=192.0.2.0/24", "results.*.address")))
	add("filter-interface-device-id", "?device_id= filters interfaces", withDevice(), steps(
		device("dev2", "d2"), post(pIfs, `{"device":{d2},"name":"x","type":"virtual"}`, ""), get(pIfs+"?device_id={d2}", "results.*.name")))
	add("filter-interface-device-name", "?device= filters interfaces by device name", withDevice(), steps(
		get(pIfs+"?device=dev1", "count")))
	add("filter-interface-name", "?name= on interfaces", withDevice(), steps(get(pIfs+"?name=eth1", "results.*.name")))
	add("filter-vm-cluster-id", "?cluster_id= filters VMs", withVM(), steps(get(pVMs+"?cluster_id={cl}", "results.*.name")))
	add("filter-vm-name-case", "?name= on VMs is case-insensitive", withVM(), steps(get(pVMs+"?name=VM1", "count")))
	add("filter-vminterface-vm-id", "?virtual_machine_id= filters VM interfaces", withVM(), steps(
		get(pVMIfs+"?virtual_machine_id={vm}", "results.*.name")))
	add("filter-disk-vm-id", "?virtual_machine_id= filters virtual disks", withVM(), steps(
		post(pDisks, `{"virtual_machine":{vm},"name":"d0","size":5}`, ""), get(pDisks+"?virtual_machine_id={vm}", "results.*.name")))
	add("filter-devicetype-manufacturer-id", "?manufacturer_id= filters device types", base(), steps(
		get(pTypes+"?manufacturer_id={mfr}", "results.*.model")))
	add("filter-devicetype-manufacturer-slug", "?manufacturer=<slug> filters device types", base(), steps(
		get(pTypes+"?manufacturer=mfr-1", "results.*.model")))
	add("filter-tag", "?tag=<slug> filters by tag", base(), steps(
		post(pTags, `{"name":"owned","slug":"owned"}`, ""),
		post(pDevs, `{"name":"x","device_type":{dt},"role":{role},"site":{site},"tags":[{"slug":"owned"}]}`, ""),
		device("y", ""), get(pDevs+"?tag=owned", "results.*.name")))
	add("filter-tag-unknown", "?tag=<unknown slug> is 400", base(), steps(get(pDevs+"?tag=nosuch")))
	add("filter-cf", "?cf_<name>= filters by custom field", base(), steps(
		post(pCFs, `{"name":"agent_id","type":"text","object_types":["dcim.device"]}`, ""),
		post(pDevs, `{"name":"x","device_type":{dt},"role":{role},"site":{site},"custom_fields":{"agent_id":"k1"}}`, ""),
		device("y", ""), get(pDevs+"?cf_agent_id=k1", "results.*.name")))
	add("filter-mac-address", "?mac_address= on MAC addresses is case-insensitive", steps(
		post(pMACs, `{"mac_address":"AA:BB:CC:00:11:22"}`, ""), get(pMACs+"?mac_address=aa:bb:cc:00:11:22", "count")))
	add("filter-mac-assigned-interface", "?interface_id= filters MAC addresses", withDevice(), steps(
		post(pMACs, `{"mac_address":"00:11:22:33:44:55","assigned_object_type":"dcim.interface","assigned_object_id":{if0}}`, ""),
		post(pMACs, `{"mac_address":"00:11:22:33:44:66"}`, ""), get(pMACs+"?interface_id={if0}", "results.*.mac_address")))
	add("filter-service-device-id", "?device_id= filters services", withDevice(), steps(
		post(pSvcs, `{"parent_object_type":"dcim.device","parent_object_id":{dev},"name":"ssh","protocol":"tcp","ports":[22]}`, ""),
		get(pSvcs+"?device_id={dev}", "results.*.name")))
	add("filter-fields", "?fields= limits the fields answered (4.4+); older versions ignore it", base(), steps(
		device("x", ""), get(pDevs+"?fields=name", "results.0@keys")))
	add("filter-brief-true", "?brief=true works like brief=1", base(), steps(
		get(pSites+"?brief=true", "results.0@keys")))
	add("filter-limit-count", "count is the total, not the page", many(4), steps(get(pMfrs+"?limit=1", "count", "results@len")))

	// --- sites, manufacturers, roles, platforms, tags ---
	add("site-duplicate-name", "site names are unique", steps(
		post(pSites, `{"name":"a","slug":"a"}`, ""), post(pSites, `{"name":"a","slug":"b"}`, "")))
	add("site-duplicate-slug", "site slugs are unique", steps(
		post(pSites, `{"name":"a","slug":"a"}`, ""), post(pSites, `{"name":"b","slug":"a"}`, "")))
	add("site-bad-slug", "a slug with spaces is 400", steps(post(pSites, `{"name":"a","slug":"a b"}`, "")))
	add("site-bad-status", "an unknown status is 400", steps(post(pSites, `{"name":"a","slug":"a","status":"bogus"}`, "")))
	add("site-status-label", "status renders as value and label", steps(
		post(pSites, `{"name":"a","slug":"a","status":"planned"}`, "s"), get(pSites+"{s}/", "status")))
	add("site-bad-timezone", "an unknown time zone is 400", steps(post(pSites, `{"name":"a","slug":"a","time_zone":"Mars/Base"}`, "")))
	add("site-name-too-long", "a name over 100 characters is 400", steps(
		post(pSites, `{"name":"`+strings.Repeat("x", 101)+`","slug":"a"}`, "")))
	add("site-patch-description", "PATCH changes one field", steps(
		post(pSites, `{"name":"a","slug":"a"}`, "s"), patch(pSites+"{s}/", `{"description":"hello"}`, "description", "name")))
	add("site-delete", "DELETE answers 204, then 404", steps(
		post(pSites, `{"name":"a","slug":"a"}`, "s"), del(pSites+"{s}/", ""), get(pSites+"{s}/")))
	add("site-delete-protected", "a site with devices cannot be deleted (PROTECT): 409", base(), steps(
		device("d", ""), del(pSites+"{site}/", "", "@keys")))
	add("site-counts", "a site answers device_count", base(), steps(device("d", ""), get(pSites+"{site}/", "device_count")))
	add("manufacturer-duplicate-name", "manufacturer names are unique", steps(
		post(pMfrs, `{"name":"a","slug":"a"}`, ""), post(pMfrs, `{"name":"a","slug":"b"}`, "")))
	add("manufacturer-delete-protected", "a manufacturer with device types cannot be deleted", base(), steps(del(pMfrs+"{mfr}/", "")))
	add("role-duplicate-slug", "role slugs are unique", steps(
		post(pRoles, `{"name":"a","slug":"a"}`, ""), post(pRoles, `{"name":"b","slug":"a"}`, "")))
	add("role-bad-color", "a colour that is not 6 hex digits is 400", steps(post(pRoles, `{"name":"a","slug":"a","color":"red"}`, "")))
	add("role-defaults", "a role defaults to vm_role true and colour 9e9e9e", steps(
		post(pRoles, `{"name":"a","slug":"a"}`, "r", "vm_role", "color")))
	add("platform-duplicate-name", "platform names are unique", steps(
		post(pPlats, `{"name":"a","slug":"a"}`, ""), post(pPlats, `{"name":"a","slug":"b"}`, "")))
	add("platform-manufacturer", "a platform may name a manufacturer", base(), steps(
		post(pPlats, `{"name":"a","slug":"a","manufacturer":{mfr}}`, "p", "manufacturer.name")))
	add("tag-duplicate-slug", "tag slugs are unique", steps(
		post(pTags, `{"name":"a","slug":"a"}`, ""), post(pTags, `{"name":"b","slug":"a"}`, "")))
	add("tag-object-types-refused", "a tag restricted to some object types cannot go on others", base(), steps(
		post(pTags, `{"name":"only-sites","slug":"only-sites","object_types":["dcim.site"]}`, ""),
		post(pDevs, `{"name":"x","device_type":{dt},"role":{role},"site":{site},"tags":[{"slug":"only-sites"}]}`, "")))
	add("tag-object-types-allowed", "a restricted tag goes on its own types", steps(
		post(pTags, `{"name":"only-sites","slug":"only-sites","object_types":["dcim.site"]}`, ""),
		post(pSites, `{"name":"a","slug":"a","tags":[{"slug":"only-sites"}]}`, "", "tags.*.slug")))
	add("tag-by-id", "tags may be given by id", steps(
		post(pTags, `{"name":"t","slug":"t"}`, "t"), post(pSites, `{"name":"a","slug":"a","tags":[{t}]}`, "", "tags.*.name")))
	add("tag-unknown", "an unknown tag is 400", steps(post(pSites, `{"name":"a","slug":"a","tags":[{"slug":"nosuch"}]}`, "")))
	add("tag-tagged-items", "a tag answers tagged_items", steps(
		post(pTags, `{"name":"t","slug":"t"}`, "t"), post(pSites, `{"name":"a","slug":"a","tags":[{t}]}`, ""),
		get(pTags+"{t}/", "tagged_items")))
	add("tag-replace-on-patch", "PATCH tags replaces the set", steps(
		post(pTags, `[{"name":"t1","slug":"t1"},{"name":"t2","slug":"t2"}]`, ""),
		post(pSites, `{"name":"a","slug":"a","tags":[{"slug":"t1"}]}`, "s"),
		patch(pSites+"{s}/", `{"tags":[{"slug":"t2"}]}`, "tags.*.slug")))
	add("tag-delete-removes", "deleting a tag removes it from objects", steps(
		post(pTags, `{"name":"t","slug":"t"}`, "t"), post(pSites, `{"name":"a","slug":"a","tags":[{t}]}`, "s"),
		del(pTags+"{t}/", ""), get(pSites+"{s}/", "tags")))

	// --- custom fields ---
	cf := func(body string) step { return post(pCFs, body, "cf") }
	add("cf-integer-max", "a value above validation_maximum is 400", base(), steps(
		cf(`{"name":"n","type":"integer","object_types":["dcim.device"],"validation_maximum":10}`),
		post(pDevs, `{"name":"x","device_type":{dt},"role":{role},"site":{site},"custom_fields":{"n":11}}`, "")))
	add("cf-integer-ok", "a value within bounds is stored", base(), steps(
		cf(`{"name":"n","type":"integer","object_types":["dcim.device"],"validation_maximum":10}`),
		post(pDevs, `{"name":"x","device_type":{dt},"role":{role},"site":{site},"custom_fields":{"n":9}}`, "", "custom_fields")))
	add("cf-regex", "a text value not matching validation_regex is 400", base(), steps(
		cf(`{"name":"k","type":"text","object_types":["dcim.device"],"validation_regex":"^[a-z]+$"}`),
		post(pDevs, `{"name":"x","device_type":{dt},"role":{role},"site":{site},"custom_fields":{"k":"ABC"}}`, "")))
	add("cf-integer-string", "a string for an integer field is 400", base(), steps(
		cf(`{"name":"n","type":"integer","object_types":["dcim.device"]}`),
		post(pDevs, `{"name":"x","device_type":{dt},"role":{role},"site":{site},"custom_fields":{"n":"abc"}}`, "")))
	add("cf-unknown-field", "an unknown custom field is 400", base(), steps(
		post(pDevs, `{"name":"x","device_type":{dt},"role":{role},"site":{site},"custom_fields":{"nosuch":"v"}}`, "")))
	add("cf-required", "a required custom field must be given", base(), steps(
		cf(`{"name":"r","type":"text","object_types":["dcim.device"],"required":true}`),
		post(pDevs, `{"name":"x","device_type":{dt},"role":{role},"site":{site}}`, "")))
	add("cf-unset-null", "unset custom fields answer null", base(), steps(
		cf(`{"name":"a","type":"text","object_types":["dcim.device"]}`), device("x", "d"), get(pDevs+"{d}/", "custom_fields")))
	add("cf-json", "a json custom field stores an object", base(), steps(
		cf(`{"name":"j","type":"json","object_types":["dcim.device"]}`),
		post(pDevs, `{"name":"x","device_type":{dt},"role":{role},"site":{site},"custom_fields":{"j":{"a":[1,2]}}}`, "", "custom_fields")))
	add("cf-bad-name", "a custom field name with a hyphen is 400", steps(
		post(pCFs, `{"name":"bad-name","type":"text","object_types":["dcim.device"]}`, "")))
	add("cf-duplicate", "custom field names are unique", steps(
		post(pCFs, `{"name":"a","type":"text","object_types":["dcim.device"]}`, ""),
		post(pCFs, `{"name":"a","type":"text","object_types":["dcim.site"]}`, "")))
	add("cf-bad-type", "an unknown custom field type is 400", steps(
		post(pCFs, `{"name":"a","type":"bogus","object_types":["dcim.device"]}`, "")))
	add("cf-other-type", "a custom field of another object type is unknown here", base(), steps(
		cf(`{"name":"s","type":"text","object_types":["dcim.site"]}`),
		post(pDevs, `{"name":"x","device_type":{dt},"role":{role},"site":{site},"custom_fields":{"s":"v"}}`, "")))
	add("cf-patch-merge", "PATCH custom_fields changes only the keys given", base(), steps(
		post(pCFs, `[{"name":"a","type":"text","object_types":["dcim.device"]},{"name":"b","type":"text","object_types":["dcim.device"]}]`, ""),
		post(pDevs, `{"name":"x","device_type":{dt},"role":{role},"site":{site},"custom_fields":{"a":"1","b":"2"}}`, "d"),
		patch(pDevs+"{d}/", `{"custom_fields":{"b":"3"}}`, "custom_fields")))
	add("cf-boolean", "a boolean custom field refuses a string", base(), steps(
		cf(`{"name":"f","type":"boolean","object_types":["dcim.device"]}`),
		post(pDevs, `{"name":"x","device_type":{dt},"role":{role},"site":{site},"custom_fields":{"f":"yes"}}`, "")))

	// --- devices ---
	add("device-duplicate-name-case", "device names are unique per site, case-insensitively", base(), steps(
		device("web", ""), device("WEB", "")))
	add("device-same-name-other-site", "the same name in another site is fine", base(), steps(
		device("web", ""), post(pSites, `{"name":"b","slug":"b"}`, "s2"),
		post(pDevs, `{"name":"web","device_type":{dt},"role":{role},"site":{s2}}`, "", "name")))
	add("device-unnamed-twice", "unnamed devices do not collide", base(), steps(
		post(pDevs, `{"device_type":{dt},"role":{role},"site":{site}}`, ""),
		post(pDevs, `{"device_type":{dt},"role":{role},"site":{site}}`, "", "name")))
	add("device-asset-tag-unique", "asset tags are unique", base(), steps(
		post(pDevs, `{"name":"a","device_type":{dt},"role":{role},"site":{site},"asset_tag":"A1"}`, ""),
		post(pDevs, `{"name":"b","device_type":{dt},"role":{role},"site":{site},"asset_tag":"A1"}`, "")))
	add("device-location-other-site", "a location of another site is 400", base(), steps(
		post(pSites, `{"name":"b","slug":"b"}`, "s2"), post(pLocs, `{"name":"L","slug":"l","site":{s2}}`, "loc"),
		post(pDevs, `{"name":"a","device_type":{dt},"role":{role},"site":{site},"location":{loc}}`, "")))
	add("device-unknown-site", "a reference to a missing object is 400", base(), steps(
		post(pDevs, `{"name":"a","device_type":{dt},"role":{role},"site":999999}`, "")))
	add("device-nested-by-name", "references may be attribute dicts", base(), steps(
		post(pDevs, `{"name":"a","device_type":{"slug":"model-1"},"role":{"slug":"role-1"},"site":{"slug":"site-1"}}`, "", "site.slug", "role.slug")))
	add("device-nested-ambiguous", "an attribute dict matching nothing is 400", base(), steps(
		post(pDevs, `{"name":"a","device_type":{dt},"role":{role},"site":{"slug":"nosuch"}}`, "")))
	add("device-status-invalid", "an unknown device status is 400", base(), steps(
		post(pDevs, `{"name":"a","device_type":{dt},"role":{role},"site":{site},"status":"bogus"}`, "")))
	add("device-serial", "serial is stored as given", base(), steps(
		post(pDevs, `{"name":"a","device_type":{dt},"role":{role},"site":{site},"serial":"SN 1"}`, "", "serial")))
	add("device-nested-render", "nested references answer their brief fields", base(), steps(
		device("a", "d"), get(pDevs+"{d}/", "site@keys", "device_type@keys", "role@keys")))
	add("device-primary-ip", "a device's primary_ip4 is an IP of its own interfaces", withDevice(), steps(
		ipOn("192.0.2.1/24", "if0", "ip"), patch(pDevs+"{dev}/", `{"primary_ip4":{ip}}`, "primary_ip4.address", "primary_ip.address")))
	add("device-primary-ip-unassigned", "an unassigned IP cannot be primary", withDevice(), steps(
		post(pIPs, `{"address":"192.0.2.1/24"}`, "ip"), patch(pDevs+"{dev}/", `{"primary_ip4":{ip}}`)))
	add("device-primary-ip-other-device", "another device's IP cannot be primary", withDevice(), steps(
		device("dev2", "d2"), post(pIfs, `{"device":{d2},"name":"e","type":"virtual"}`, "if2"),
		ipOn("192.0.2.1/24", "if2", "ip"), patch(pDevs+"{dev}/", `{"primary_ip4":{ip}}`)))
	add("device-primary-ip6-as-4", "an IPv6 address as primary_ip4 is 400", withDevice(), steps(
		ipOn("2001:db8::1/64", "if0", "ip"), patch(pDevs+"{dev}/", `{"primary_ip4":{ip}}`)))
	add("device-primary-nat-outside", "a NAT-outside address of the device's IP may be primary", withDevice(), steps(
		ipOn("10.0.0.5/24", "if0", "in"),
		post(pIPs, `{"address":"198.51.100.5/24","nat_inside":{in}}`, "out"),
		patch(pDevs+"{dev}/", `{"primary_ip4":{out}}`, "primary_ip4.address")))
	add("device-primary-ip-move-same-device", "a primary IP may move to another interface of its device", withDevice(), steps(
		ipOn("192.0.2.1/24", "if0", "ip"), patch(pDevs+"{dev}/", `{"primary_ip4":{ip}}`),
		patch(pIPs+"{ip}/", `{"assigned_object_type":"dcim.interface","assigned_object_id":{if1}}`, "assigned_object.name")))
	add("device-primary-ip-move-other-device", "a primary IP cannot move to another device", withDevice(), steps(
		device("dev2", "d2"), post(pIfs, `{"device":{d2},"name":"e","type":"virtual"}`, "if2"),
		ipOn("192.0.2.1/24", "if0", "ip"), patch(pDevs+"{dev}/", `{"primary_ip4":{ip}}`),
		patch(pIPs+"{ip}/", `{"assigned_object_type":"dcim.interface","assigned_object_id":{if2}}`)))
	add("device-primary-ip-unassign", "a primary IP cannot be unassigned", withDevice(), steps(
		ipOn("192.0.2.1/24", "if0", "ip"), patch(pDevs+"{dev}/", `{"primary_ip4":{ip}}`),
		patch(pIPs+"{ip}/", `{"assigned_object_type":null,"assigned_object_id":null}`)))
	add("device-primary-ip-delete", "deleting a primary IP clears primary_ip4", withDevice(), steps(
		ipOn("192.0.2.1/24", "if0", "ip"), patch(pDevs+"{dev}/", `{"primary_ip4":{ip}}`),
		del(pIPs+"{ip}/", ""), get(pDevs+"{dev}/", "primary_ip4", "primary_ip")))
	add("device-delete-cascades", "deleting a device deletes its interfaces and their IPs", withDevice(), steps(
		ipOn("192.0.2.1/24", "if0", ""), del(pDevs+"{dev}/", ""), get(pIfs, "count"), get(pIPs, "count")))
	add("device-oob-ip", "oob_ip must be an IP of the device", withDevice(), steps(
		ipOn("192.0.2.1/24", "if0", "ip"), patch(pDevs+"{dev}/", `{"oob_ip":{ip}}`, "oob_ip.address")))
	add("device-interface-count", "a device answers interface_count", withDevice(), steps(get(pDevs+"{dev}/", "interface_count")))
	add("device-cluster-other-site", "a device's cluster must be in its site's scope", withCluster(), steps(
		post(pSites, `{"name":"b","slug":"b"}`, "s2"),
		post(pDevs, `{"name":"a","device_type":{dt},"role":{role},"site":{s2},"cluster":{cl}}`, "")))
	add("device-put-missing-required", "PUT without required fields is 400", withDevice(), steps(
		step{method: "PUT", path: pDevs + "{dev}/", body: `{"name":"x"}`}))

	// --- interfaces and MAC addresses ---
	add("interface-duplicate", "interface names are unique per device", withDevice(), steps(
		post(pIfs, `{"device":{dev},"name":"eth0","type":"virtual"}`, "")))
	add("interface-bad-type", "an unknown interface type is 400", withDevice(), steps(
		post(pIfs, `{"device":{dev},"name":"x","type":"bogus"}`, "")))
	add("interface-parent-other-device", "a parent interface of another device is 400", withDevice(), steps(
		device("dev2", "d2"), post(pIfs, `{"device":{d2},"name":"e","type":"virtual"}`, "if2"),
		post(pIfs, `{"device":{dev},"name":"x","type":"virtual","parent":{if2}}`, "")))
	add("interface-lag-not-lag", "a LAG must be of type lag", withDevice(), steps(
		post(pIfs, `{"device":{dev},"name":"x","type":"1000base-t","lag":{if0}}`, "")))
	add("interface-lag-ok", "a member of a LAG", withDevice(), steps(
		post(pIfs, `{"device":{dev},"name":"bond0","type":"lag"}`, "lag"),
		patch(pIfs+"{if0}/", `{"lag":{lag}}`, "lag.name")))
	add("interface-mtu-range", "an MTU below 1 is 400", withDevice(), steps(
		post(pIfs, `{"device":{dev},"name":"x","type":"virtual","mtu":0}`, "")))
	add("interface-mac-address-field", "interface mac_address in the body (read-only on 4.3, writable later)", withDevice(), steps(
		post(pIfs, `{"device":{dev},"name":"x","type":"virtual","mac_address":"00:11:22:33:44:55"}`, "", "mac_address")))
	add("interface-primary-mac", "an interface's primary MAC must be assigned to it", withDevice(), steps(
		post(pMACs, `{"mac_address":"00:11:22:33:44:55","assigned_object_type":"dcim.interface","assigned_object_id":{if0}}`, "mac"),
		patch(pIfs+"{if0}/", `{"primary_mac_address":{mac}}`, "primary_mac_address.mac_address", "mac_address")))
	add("interface-primary-mac-foreign", "a MAC of another interface cannot be primary", withDevice(), steps(
		post(pMACs, `{"mac_address":"00:11:22:33:44:55","assigned_object_type":"dcim.interface","assigned_object_id":{if1}}`, "mac"),
		patch(pIfs+"{if0}/", `{"primary_mac_address":{mac}}`)))
	add("interface-bulk-duplicate", "a bulk create of interfaces with a duplicate inside keeps nothing", withDevice(), steps(
		post(pIfs, `[{"device":{dev},"name":"a","type":"virtual"},{"device":{dev},"name":"a","type":"virtual"}]`, ""),
		get(pIfs+"?name=a", "count")))
	add("interface-delete-cascades-ips", "deleting an interface deletes its IPs and MACs", withDevice(), steps(
		ipOn("192.0.2.1/24", "if0", ""),
		post(pMACs, `{"mac_address":"00:11:22:33:44:55","assigned_object_type":"dcim.interface","assigned_object_id":{if0}}`, ""),
		del(pIfs+"{if0}/", ""), get(pIPs, "count"), get(pMACs, "count")))
	add("mac-invalid", "an invalid MAC is 400", steps(post(pMACs, `{"mac_address":"zz:11"}`, "")))
	add("mac-normalised", "a MAC is answered upper-case with colons", steps(
		post(pMACs, `{"mac_address":"aa-bb-cc-00-11-22"}`, "", "mac_address")))
	add("mac-duplicate", "the same MAC may exist twice (no uniqueness)", steps(
		post(pMACs, `{"mac_address":"00:11:22:33:44:55"}`, ""), post(pMACs, `{"mac_address":"00:11:22:33:44:55"}`, "")))
	add("mac-reassign-primary", "a primary MAC cannot be moved to another interface", withDevice(), steps(
		post(pMACs, `{"mac_address":"00:11:22:33:44:55","assigned_object_type":"dcim.interface","assigned_object_id":{if0}}`, "mac"),
		patch(pIfs+"{if0}/", `{"primary_mac_address":{mac}}`),
		patch(pMACs+"{mac}/", `{"assigned_object_id":{if1}}`)))
	add("interface-count-ipaddresses", "an interface answers count_ipaddresses", withDevice(), steps(
		ipOn("192.0.2.1/24", "if0", ""), get(pIfs+"{if0}/", "count_ipaddresses")))

	// --- IP addresses ---
	add("ip-network-id-assigned", "a network ID assigned to an interface is 400", withDevice(), steps(ipOn("10.0.0.0/24", "if0", "")))
	add("ip-broadcast-assigned", "a broadcast address assigned to an interface is 400", withDevice(), steps(ipOn("10.0.0.255/24", "if0", "")))
	add("ip-network-id-unassigned", "a network ID not assigned to anything", steps(post(pIPs, `{"address":"10.0.0.0/24"}`, "")))
	add("ip-slash31-assigned", "a /31 has no network ID or broadcast", withDevice(), steps(ipOn("10.0.0.0/31", "if0", "")))
	add("ip-slash32-assigned", "a /32 is a host", withDevice(), steps(ipOn("10.0.0.0/32", "if0", "")))
	add("ip-v6-subnet-router-anycast", "an IPv6 network ID assigned to an interface", withDevice(), steps(ipOn("2001:db8::/64", "if0", "")))
	add("ip-duplicate-global", "a duplicate host in the global table is 400 (ENFORCE_GLOBAL_UNIQUE)", steps(
		post(pIPs, `{"address":"192.0.2.1/24"}`, ""), post(pIPs, `{"address":"192.0.2.1/24"}`, "")))
	add("ip-duplicate-other-mask", "the same host with another mask is a duplicate", steps(
		post(pIPs, `{"address":"192.0.2.1/24"}`, ""), post(pIPs, `{"address":"192.0.2.1/25"}`, "")))
	add("ip-duplicate-bulk", "a duplicate within one bulk create", steps(
		post(pIPs, `[{"address":"192.0.2.1/24"},{"address":"192.0.2.1/24"}]`, ""), get(pIPs, "count")))
	add("ip-duplicate-anycast", "anycast addresses may repeat", steps(
		post(pIPs, `{"address":"192.0.2.1/24","role":"anycast"}`, ""), post(pIPs, `{"address":"192.0.2.1/24","role":"anycast"}`, "")))
	add("ip-slaac-v4", "status slaac on IPv4 is 400", steps(post(pIPs, `{"address":"192.0.2.1/24","status":"slaac"}`, "")))
	add("ip-slaac-v6", "status slaac on IPv6 is fine", steps(post(pIPs, `{"address":"2001:db8::1/64","status":"slaac"}`, "", "status")))
	add("ip-no-mask", "an address without a mask is 400", steps(post(pIPs, `{"address":"192.0.2.1"}`, "")))
	add("ip-invalid", "an address that is not one is 400", steps(post(pIPs, `{"address":"300.1.1.1/24"}`, "")))
	add("ip-bad-dns-name", "a DNS name with invalid characters is 400", steps(post(pIPs, `{"address":"192.0.2.1/24","dns_name":"bad name!"}`, "")))
	add("ip-dns-name", "a valid DNS name is stored", steps(post(pIPs, `{"address":"192.0.2.1/24","dns_name":"host.example.com"}`, "", "dns_name")))
	add("ip-bad-role", "an unknown role is 400", steps(post(pIPs, `{"address":"192.0.2.1/24","role":"bogus"}`, "")))
	add("ip-assigned-type-only", "assigned_object_type without an id", steps(
		post(pIPs, `{"address":"192.0.2.1/24","assigned_object_type":"dcim.interface"}`, "", "assigned_object")))
	add("ip-assigned-missing", "an assignment to a missing interface is 400", steps(
		post(pIPs, `{"address":"192.0.2.1/24","assigned_object_type":"dcim.interface","assigned_object_id":999999}`, "")))
	add("ip-assigned-bad-type", "an assignment to a type that takes no IPs is 400", base(), steps(
		post(pIPs, `{"address":"192.0.2.1/24","assigned_object_type":"dcim.site","assigned_object_id":{site}}`, "")))
	add("ip-assigned-render", "assigned_object renders the interface with its device", withDevice(), steps(
		ipOn("192.0.2.1/24", "if0", "ip"), get(pIPs+"{ip}/", "assigned_object_type", "assigned_object.name", "assigned_object.device.name", "family")))
	add("ip-v6-family", "an IPv6 address answers family 6", steps(post(pIPs, `{"address":"2001:db8::1/64"}`, "", "family", "address")))
	add("ip-v6-compressed", "IPv6 is answered in compressed form", steps(post(pIPs, `{"address":"2001:0db8:0000::0001/64"}`, "", "address")))
	add("ip-nat-inside-self", "nat_inside may not be itself", steps(
		post(pIPs, `{"address":"192.0.2.1/24"}`, "ip"), patch(pIPs+"{ip}/", `{"nat_inside":{ip}}`)))
	add("ip-nat-outside-list", "nat_outside lists the outside addresses", steps(
		post(pIPs, `{"address":"10.0.0.1/24"}`, "in"), post(pIPs, `{"address":"198.51.100.1/24","nat_inside":{in}}`, ""),
		get(pIPs+"{in}/", "nat_outside.*.address")))
	add("ip-patch-address", "an address may be changed by PATCH", steps(
		post(pIPs, `{"address":"192.0.2.1/24"}`, "ip"), patch(pIPs+"{ip}/", `{"address":"192.0.2.2/24"}`, "address")))
	add("ip-vminterface", "an IP may be assigned to a VM interface", withVM(), steps(
		post(pIPs, `{"address":"192.0.2.5/24","assigned_object_type":"virtualization.vminterface","assigned_object_id":{vif0}}`, "", "assigned_object.virtual_machine.name")))
	add("ip-status-deprecated", "status deprecated is a choice", steps(post(pIPs, `{"address":"192.0.2.1/24","status":"deprecated"}`, "", "status")))

	// --- services ---
	svc := func(extra string) step {
		return post(pSvcs, `{"parent_object_type":"dcim.device","parent_object_id":{dev},"name":"ssh","protocol":"tcp","ports":[22]`+extra+`}`, "svc")
	}
	add("service-port-range", "a port above 65535 is 400", withDevice(), steps(
		post(pSvcs, `{"parent_object_type":"dcim.device","parent_object_id":{dev},"name":"x","protocol":"tcp","ports":[70000]}`, "")))
	add("service-bad-protocol", "an unknown protocol is 400", withDevice(), steps(
		post(pSvcs, `{"parent_object_type":"dcim.device","parent_object_id":{dev},"name":"x","protocol":"icmp","ports":[1]}`, "")))
	add("service-no-ports", "a service needs ports", withDevice(), steps(
		post(pSvcs, `{"parent_object_type":"dcim.device","parent_object_id":{dev},"name":"x","protocol":"tcp","ports":[]}`, "")))
	add("service-ipaddresses", "a service's IPs belong to its parent", withDevice(), steps(
		ipOn("192.0.2.1/24", "if0", "ip"), svc(`,"ipaddresses":[{ip}]`), get(pSvcs+"{svc}/", "ipaddresses.*.address", "parent.name")))
	add("service-ip-foreign", "an IP of another device is 400", withDevice(), steps(
		post(pIPs, `{"address":"192.0.2.9/24"}`, "ip"), svc(`,"ipaddresses":[{ip}]`)))
	add("service-vm-parent", "a service on a VM", withVM(), steps(
		post(pSvcs, `{"parent_object_type":"virtualization.virtualmachine","parent_object_id":{vm},"name":"http","protocol":"tcp","ports":[80,443]}`, "", "ports", "parent.name")))
	add("service-duplicate", "two services with one name on one device are allowed", withDevice(), steps(svc(""), svc("")))
	add("service-display", "a service's display", withDevice(), steps(svc(""), get(pSvcs+"{svc}/", "display")))

	// --- virtualization ---
	add("vm-cluster-site", "a VM given only a cluster takes the cluster's site", withCluster(), steps(
		post(pVMs, `{"name":"vm","cluster":{cl}}`, "", "site.slug")))
	add("vm-site-mismatch", "a VM whose site differs from its cluster's is 400 (under cluster)", withCluster(), steps(
		post(pSites, `{"name":"b","slug":"b"}`, "s2"), post(pVMs, `{"name":"vm","cluster":{cl},"site":{s2}}`, "")))
	add("vm-device-not-in-cluster", "a VM's device must be in its cluster", withCluster(), steps(
		device("host", "h"), post(pVMs, `{"name":"vm","cluster":{cl},"device":{h}}`, "")))
	add("vm-device-in-cluster", "a VM on a device of its cluster", withCluster(), steps(
		post(pDevs, `{"name":"host","device_type":{dt},"role":{role},"site":{site},"cluster":{cl}}`, "h"),
		post(pVMs, `{"name":"vm","cluster":{cl},"device":{h}}`, "", "device.name")))
	add("vm-no-site-no-cluster", "a VM with neither site nor cluster is 400", steps(post(pVMs, `{"name":"vm"}`, "")))
	add("vm-site-only", "a VM may stand in a site without a cluster", base(), steps(post(pVMs, `{"name":"vm","site":{site}}`, "", "site.slug", "cluster")))
	add("vm-duplicate-name-case", "VM names are unique per cluster, case-insensitively", withVM(), steps(
		post(pVMs, `{"name":"VM1","cluster":{cl}}`, "")))
	add("vm-disk-with-virtual-disks", "disk cannot be set while virtual disks exist", withVM(), steps(
		post(pDisks, `{"virtual_machine":{vm},"name":"d","size":10}`, ""), patch(pVMs+"{vm}/", `{"disk":99}`)))
	add("vm-disk-sum", "disk is the sum of the virtual disks", withVM(), steps(
		post(pDisks, `[{"virtual_machine":{vm},"name":"a","size":10},{"virtual_machine":{vm},"name":"b","size":5}]`, ""),
		get(pVMs+"{vm}/", "disk", "virtual_disk_count")))
	add("vm-resources", "vcpus, memory and disk are stored", withCluster(), steps(
		post(pVMs, `{"name":"vm","cluster":{cl},"vcpus":2.5,"memory":2048,"disk":10}`, "", "vcpus", "memory", "disk")))
	add("vm-vcpus-invalid", "vcpus below 0.01 is 400", withCluster(), steps(post(pVMs, `{"name":"vm","cluster":{cl},"vcpus":0}`, "")))
	add("vm-primary-ip", "a VM's primary IP is on its interfaces", withVM(), steps(
		post(pIPs, `{"address":"192.0.2.5/24","assigned_object_type":"virtualization.vminterface","assigned_object_id":{vif0}}`, "ip"),
		patch(pVMs+"{vm}/", `{"primary_ip4":{ip}}`, "primary_ip4.address")))
	add("vm-primary-ip-foreign", "another VM's IP cannot be primary", withVM(), steps(
		post(pIPs, `{"address":"192.0.2.5/24"}`, "ip"), patch(pVMs+"{vm}/", `{"primary_ip4":{ip}}`)))
	add("vm-interface-duplicate", "VM interface names are unique per VM", withVM(), steps(
		post(pVMIfs, `{"virtual_machine":{vm},"name":"net0"}`, "")))
	add("vm-interface-mtu", "VM interface MTU is stored", withVM(), steps(
		post(pVMIfs, `{"virtual_machine":{vm},"name":"net1","mtu":9000}`, "", "mtu", "enabled")))
	add("vm-delete-cascades", "deleting a VM deletes interfaces and disks", withVM(), steps(
		post(pDisks, `{"virtual_machine":{vm},"name":"d","size":1}`, ""), del(pVMs+"{vm}/", ""), get(pVMIfs, "count"), get(pDisks, "count")))
	add("vm-counts", "a VM answers interface_count", withVM(), steps(get(pVMs+"{vm}/", "interface_count", "virtual_disk_count")))
	add("disk-duplicate", "disk names are unique per VM", withVM(), steps(
		post(pDisks, `{"virtual_machine":{vm},"name":"d","size":1}`, ""), post(pDisks, `{"virtual_machine":{vm},"name":"d","size":2}`, "")))
	add("disk-negative", "a negative size is 400", withVM(), steps(post(pDisks, `{"virtual_machine":{vm},"name":"d","size":-1}`, "")))
	add("cluster-duplicate", "cluster names are unique within a scope", withCluster(), steps(
		post(pCls, `{"name":"pve","type":{ct},"scope_type":"dcim.site","scope_id":{site}}`, "")))
	add("cluster-duplicate-unscoped", "two unscoped clusters with one name", withCluster(), steps(
		post(pCls, `{"name":"x","type":{ct}}`, ""), post(pCls, `{"name":"x","type":{ct}}`, "")))
	add("cluster-scope-render", "a cluster answers its scope", withCluster(), steps(
		get(pCls+"{cl}/", "scope_type", "scope.slug", "site.slug")))
	add("cluster-type-protected", "a cluster type in use cannot be deleted", withCluster(), steps(del(pCTypes+"{ct}/", "")))
	add("cluster-delete-with-vms", "a cluster with VMs cannot be deleted", withVM(), steps(del(pCls+"{cl}/", "")))
	add("cluster-counts", "a cluster answers its counts", withVM(), steps(get(pCls+"{cl}/", "virtualmachine_count", "device_count")))

	// --- the change log (core/object-changes): the agent follows it between runs ---
	const pChanges = "/api/core/object-changes/"
	logOf := func(typ, save, extra string) string {
		return pChanges + "?changed_object_type=" + typ + "&changed_object_id={" + save + "}" + extra
	}
	add("changelog-create-update-delete", "a create, an update and a delete each log one entry, oldest first with ordering=id", base(), steps(
		post(pSites, `{"name":"S2","slug":"s2"}`, "s2"), patch(pSites+"{s2}/", `{"name":"S3"}`), del(pSites+"{s2}/", ""),
		get(logOf("dcim.site", "s2", "&ordering=id"), "count", "results.*.action.value", "results.*.object_repr", "results.*.changed_object_type")))
	add("changelog-default-order", "the log lists newest first by default", base(), steps(
		post(pSites, `{"name":"S2","slug":"s2"}`, "s2"), patch(pSites+"{s2}/", `{"name":"S3"}`),
		get(logOf("dcim.site", "s2", ""), "results.*.action.value")))
	add("changelog-id-gt", "id__gt filters the log", base(), steps(
		get(logOf("dcim.site", "site", "&id__gt=0"), "count"), get(logOf("dcim.site", "site", "&id__gt=2147483000"), "count")))
	add("changelog-fields", "fields= selects the entry's fields", base(), steps(
		get(logOf("dcim.site", "site", "&fields=id,changed_object_type,changed_object_id,action"), "results.0@keys", "results.0.action")))
	add("changelog-cascade-logged", "a VM's delete logs the delete of its interface (CASCADE)", withVM(), steps(
		del(pVMs+"{vm}/", ""), get(logOf("virtualization.vminterface", "vif0", "&ordering=id"), "results.*.action.value")))
	add("changelog-primary-ip-delete", "deleting a device's primary IP logs an update of the device (NetBox's clear_primary_ip saves it)", withDevice(), steps(
		ipOn("192.0.2.10/24", "if0", "ip"), patch(pDevs+"{dev}/", `{"primary_ip4":{ip}}`), del(pIPs+"{ip}/", ""),
		get(pDevs+"{dev}/", "primary_ip4"), get(logOf("dcim.device", "dev", "&ordering=id"), "results.*.action.value")))
	add("changelog-primary-mac-delete", "deleting an interface's primary MAC logs nothing on the interface (SET_NULL is a queryset update)", withDevice(), steps(
		post(pMACs, `{"mac_address":"00:00:5E:00:53:01","assigned_object_type":"dcim.interface","assigned_object_id":{if0}}`, "mac"),
		patch(pIfs+"{if0}/", `{"primary_mac_address":{mac}}`), del(pMACs+"{mac}/", ""),
		get(pIfs+"{if0}/", "primary_mac_address"), get(logOf("dcim.interface", "if0", "&ordering=id"), "results.*.action.value")))
	add("changelog-bulk-rollback", "a bulk create refused on its second object logs nothing", base(), steps(
		post(pSites, `[{"name":"S9","slug":"s9"},{"name":"Site 1","slug":"site-1"}]`, ""),
		get(pChanges+"?changed_object_type=dcim.site&object_repr=S9", "count")))
	add("changelog-read-only", "the log cannot be written", base(), steps(
		post(pChanges, `{"action":"create"}`, "")))

	// --- bulk writes ---
	add("bulk-duplicate-devices", "a batch of devices with a duplicate name inside it", base(), steps(
		post(pDevs, `[{"name":"a","device_type":{dt},"role":{role},"site":{site}},{"name":"a","device_type":{dt},"role":{role},"site":{site}}]`, ""),
		get(pDevs, "count")))
	add("bulk-invalid-one", "a batch with one invalid object fails as a whole", steps(
		post(pSites, `[{"name":"a","slug":"a"},{"name":"b","slug":"b b"}]`, ""), get(pSites, "count")))
	add("bulk-patch", "a bulk PATCH changes each object", steps(
		post(pSites, `[{"name":"a","slug":"a"},{"name":"b","slug":"b"}]`, "s"),
		patch(pSites, `[{"id":{s.1},"description":"B"},{"id":{s.0},"description":"A"}]`, "*.name", "*.description")))
	add("bulk-patch-no-id", "a bulk PATCH element without id is 400", steps(
		post(pSites, `{"name":"a","slug":"a"}`, ""), patch(pSites, `[{"description":"x"}]`)))
	add("bulk-patch-missing-id", "a bulk PATCH of a missing id", steps(patch(pSites, `[{"id":999999,"description":"x"}]`)))
	add("bulk-patch-invalid", "a bulk PATCH with one invalid object changes nothing", steps(
		post(pSites, `[{"name":"a","slug":"a"},{"name":"b","slug":"b"}]`, "s"),
		patch(pSites, `[{"id":{s.0},"description":"x"},{"id":{s.1},"status":"bogus"}]`),
		get(pSites+"?ordering=name", "results.*.description")))
	add("bulk-delete", "a bulk DELETE removes each object", steps(
		post(pSites, `[{"name":"a","slug":"a"},{"name":"b","slug":"b"}]`, "s"),
		del(pSites, `[{"id":{s.0}},{"id":{s.1}}]`), get(pSites, "count")))
	add("bulk-delete-missing", "a bulk DELETE naming a missing id", steps(
		post(pSites, `{"name":"a","slug":"a"}`, "s"), del(pSites, `[{"id":{s}},{"id":999999}]`), get(pSites, "count")))
	add("bulk-delete-protected", "a bulk DELETE of a protected object deletes nothing", base(), steps(
		device("d", ""), post(pSites, `{"name":"b","slug":"b"}`, "s2"),
		del(pSites, `[{"id":{s2}},{"id":{site}}]`), get(pSites, "count")))
	add("bulk-create-order", "a bulk create answers in request order", steps(
		post(pSites, `[{"name":"z","slug":"z"},{"name":"a","slug":"a"}]`, "", "*.name")))
	add("bulk-patch-tags", "a bulk PATCH may set tags", steps(
		post(pTags, `{"name":"t","slug":"t"}`, ""), post(pSites, `[{"name":"a","slug":"a"}]`, "s"),
		patch(pSites, `[{"id":{s.0},"tags":[{"slug":"t"}]}]`, "*.tags.*.slug")))
	add("patch-unknown-field", "an unknown field in a PATCH is ignored", steps(
		post(pSites, `{"name":"a","slug":"a"}`, "s"), patch(pSites+"{s}/", `{"bogus":1,"description":"d"}`, "description")))
	add("patch-read-only-field", "a read-only field in a PATCH is ignored", base(), steps(
		patch(pSites+"{site}/", `{"device_count":99}`, "device_count")))
	add("post-null-required", "null for a required field is 400", steps(post(pSites, `{"name":null,"slug":"a"}`, "")))
	add("post-wrong-type", "a number where a string is expected is coerced or refused", steps(
		post(pSites, `{"name":5,"slug":"a"}`, "", "name")))
	add("post-description-too-long", "a description over 200 characters is 400", steps(
		post(pSites, `{"name":"a","slug":"a","description":"`+strings.Repeat("d", 201)+`"}`, "")))
	add("location-duplicate", "location names are unique within their site and parent", base(), steps(
		post(pLocs, `{"name":"L","slug":"l","site":{site}}`, ""), post(pLocs, `{"name":"L","slug":"l2","site":{site}}`, "")))
	add("location-parent-other-site", "a location's parent must be in its site", base(), steps(
		post(pSites, `{"name":"b","slug":"b"}`, "s2"), post(pLocs, `{"name":"P","slug":"p","site":{s2}}`, "p"),
		post(pLocs, `{"name":"L","slug":"l","site":{site},"parent":{p}}`, "")))
	add("location-depth", "a child location answers _depth 1", base(), steps(
		post(pLocs, `{"name":"P","slug":"p","site":{site}}`, "p"), post(pLocs, `{"name":"L","slug":"l","site":{site},"parent":{p}}`, "l"),
		get(pLocs+"?brief=1&ordering=name", "results.*._depth")))
	add("devicetype-duplicate", "device type models are unique per manufacturer", base(), steps(
		post(pTypes, `{"manufacturer":{mfr},"model":"Model 1","slug":"other"}`, "")))
	add("devicetype-uheight", "a device type's u_height defaults to 1", base(), steps(get(pTypes+"{dt}/", "u_height", "is_full_depth")))
	return out
}

func itoa(i int) string {
	const digits = "0123456789"
	if i < 10 {
		return digits[i : i+1]
	}
	return itoa(i/10) + digits[i%10:i%10+1]
}
