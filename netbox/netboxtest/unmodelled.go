package netboxtest

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// unmodelled are NetBox endpoints the simulator has no model for but that NetBox clients
// commonly read at start-up (pynetbox scripts, Ansible inventories, the NetBox MCP server):
// they answer as a NetBox with none of those objects would, an empty list and a 404 per id,
// so a tool pointed at the lab does not fail on a 404 for the whole endpoint. Writes are
// refused with 405 and a detail saying the simulator does not model the endpoint (NetBox
// would accept them); references to such objects from modelled ones are a 400 as before.
var unmodelled = map[string]string{
	"/api/tenancy/tenants/":               "Tenant",
	"/api/tenancy/tenant-groups/":         "TenantGroup",
	"/api/tenancy/contacts/":              "Contact",
	"/api/tenancy/contact-groups/":        "ContactGroup",
	"/api/tenancy/contact-roles/":         "ContactRole",
	"/api/dcim/regions/":                  "Region",
	"/api/dcim/site-groups/":              "SiteGroup",
	"/api/dcim/racks/":                    "Rack",
	"/api/dcim/rack-roles/":               "RackRole",
	"/api/dcim/cables/":                   "Cable",
	"/api/dcim/virtual-device-contexts/":  "VirtualDeviceContext",
	"/api/dcim/virtual-chassis/":          "VirtualChassis",
	"/api/dcim/front-ports/":              "FrontPort",
	"/api/dcim/rear-ports/":               "RearPort",
	"/api/dcim/console-ports/":            "ConsolePort",
	"/api/dcim/power-ports/":              "PowerPort",
	"/api/dcim/inventory-items/":          "InventoryItem",
	"/api/ipam/prefixes/":                 "Prefix",
	"/api/ipam/vrfs/":                     "VRF",
	"/api/ipam/vlans/":                    "VLAN",
	"/api/ipam/vlan-groups/":              "VLANGroup",
	"/api/ipam/aggregates/":               "Aggregate",
	"/api/ipam/ip-ranges/":                "IPRange",
	"/api/ipam/rirs/":                     "RIR",
	"/api/ipam/roles/":                    "Role",
	"/api/ipam/route-targets/":            "RouteTarget",
	"/api/ipam/asns/":                     "ASN",
	"/api/virtualization/cluster-groups/": "ClusterGroup",
	"/api/wireless/wireless-lans/":        "WirelessLAN",
	"/api/wireless/wireless-lan-groups/":  "WirelessLANGroup",
	"/api/wireless/wireless-links/":       "WirelessLink",
	"/api/extras/config-contexts/":        "ConfigContext",
	"/api/extras/webhooks/":               "Webhook",
	"/api/extras/saved-filters/":          "SavedFilter",
	"/api/extras/journal-entries/":        "JournalEntry",
	"/api/circuits/circuits/":             "Circuit",
	"/api/circuits/providers/":            "Provider",
	"/api/vpn/tunnels/":                   "Tunnel",
}

// serveUnmodelled answers a path under an unmodelled endpoint; ok is false for other paths.
func (s *Server) serveUnmodelled(r *http.Request) (response, bool) {
	path := r.URL.Path
	list := path
	item := false
	if _, ok := unmodelled[path]; !ok {
		trimmed := strings.TrimSuffix(path, "/")
		i := strings.LastIndexByte(trimmed, '/')
		if i < 0 || !strings.HasSuffix(path, "/") {
			return response{}, false
		}
		if _, ok := unmodelled[trimmed[:i+1]]; !ok {
			return response{}, false
		}
		if n, err := strconv.Atoi(trimmed[i+1:]); err != nil || n <= 0 {
			return response{}, false
		}
		list, item = trimmed[:i+1], true
	}
	switch {
	case r.Method != http.MethodGet && r.Method != http.MethodHead:
		return detail(http.StatusMethodNotAllowed, fmt.Sprintf("Method \"%s\" not allowed (netboxtest does not model %s).", r.Method, list)), true
	case item:
		return detail(http.StatusNotFound, fmt.Sprintf("No %s matches the given query.", unmodelled[list])), true
	}
	return jsonResp(http.StatusOK, map[string]any{"count": 0, "next": nil, "previous": nil, "results": []any{}}), true
}

// apiRoot is GET /api/: NetBox's API root view lists each app's root.
func apiRoot(r *http.Request) response {
	base := "http://" + r.Host + "/api/"
	out := map[string]any{}
	for _, app := range []string{"circuits", "core", "dcim", "extras", "ipam", "plugins", "status", "tenancy", "users", "virtualization", "vpn", "wireless"} {
		out[app] = base + app + "/"
	}
	return jsonResp(http.StatusOK, out)
}
