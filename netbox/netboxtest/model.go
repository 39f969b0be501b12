package netboxtest

import (
	"fmt"
	"strconv"
	"strings"
)

// Endpoint paths the simulator serves.
const (
	pathStatus        = "/api/status/"
	pathTags          = "/api/extras/tags/"
	pathCustomFields  = "/api/extras/custom-fields/"
	pathSites         = "/api/dcim/sites/"
	pathLocations     = "/api/dcim/locations/"
	pathManufacturers = "/api/dcim/manufacturers/"
	pathDeviceTypes   = "/api/dcim/device-types/"
	pathDeviceRoles   = "/api/dcim/device-roles/"
	pathPlatforms     = "/api/dcim/platforms/"
	pathDevices       = "/api/dcim/devices/"
	pathInterfaces    = "/api/dcim/interfaces/"
	pathMACs          = "/api/dcim/mac-addresses/"
	pathIPs           = "/api/ipam/ip-addresses/"
	pathServices      = "/api/ipam/services/"
	pathClusterTypes  = "/api/virtualization/cluster-types/"
	pathClusters      = "/api/virtualization/clusters/"
	pathVMs           = "/api/virtualization/virtual-machines/"
	pathVMInterfaces  = "/api/virtualization/interfaces/"
	pathVirtualDisks  = "/api/virtualization/virtual-disks/"
)

// onDelete is what happens to an object referring to a deleted one (Django's on_delete).
type onDelete int

const (
	protect   onDelete = iota // the delete fails with 409
	cascade                   // the referring object is deleted too
	setNull                   // the reference is cleared
	removeRef                 // the id is removed from a many-to-many list
)

type fkDef struct {
	target string
	del    onDelete
}

// gfkDef is a generic foreign key: a content type field plus an id field.
type gfkDef struct {
	typeField, idField string
	targets            map[string]string // content type -> endpoint path
	del                onDelete
}

// uniqueRule is a uniqueness constraint. A field rule (single field) answers like DRF's
// UniqueValidator ({"name": ["site with this name already exists."]}); others answer
// {"__all__": [msg]}.
type uniqueRule struct {
	fields      []string
	fold        bool // compare strings case-insensitively (Lower(name) constraints)
	nullAsValue bool // NULL counts as a value (NetBox adds a conditional constraint for it)
	skipEmpty   bool // "" does not take part (optional names)
	field       string
	msg         string
	only        Profile // 0: every profile
	before      Profile // rule applies only before this profile (0: always)
}

func (r uniqueRule) applies(p Profile) bool {
	if r.only != 0 && r.only != p {
		return false
	}
	if r.before != 0 && p >= r.before {
		return false
	}
	return true
}

type computedRef struct {
	targets []string
	ref     func(rc *renderCtx, o *object) (string, int)
}

type computedRefs struct {
	targets []string
	refs    func(rc *renderCtx, o *object) (string, []int)
}

// endpoint describes one NetBox model as the simulator enforces it.
type endpoint struct {
	path       string
	objectName string // class name, as in "No Device matches the given query."
	verbose    string // verbose name, as in "site with this name already exists."
	objectType string // content type, "dcim.device"
	uiPath     string
	fks        map[string]fkDef
	m2m        map[string]fkDef
	gfk        *gfkDef
	hasTags    bool
	unique     []uniqueRule
	defaults   map[string]any
	brief      []string
	filters    map[string]filterFunc // endpoint-specific query filters

	computed     map[string]func(rc *renderCtx, o *object) any
	computedRef  map[string]computedRef
	computedRefs map[string]computedRefs
	display      func(rc *renderCtx, o *object) string
	clean        func(w *writeCtx, o, old *object) fieldErrors
	afterWrite   func(w *writeCtx, o, old *object)
	afterDelete  func(w *writeCtx, o *object)
}

type renderCtx struct {
	s       *state
	base    string
	profile Profile
	cfCache map[string][]*object
	write   bool // rendering the answer to a POST (a create)
	depth   int  // nesting level of the object being rendered (0: the object itself)
}

func countOf(from, key string) func(rc *renderCtx, o *object) any {
	return func(rc *renderCtx, o *object) any { return rc.s.tables[from].countReferrers(key, o.id) }
}

func nameUnique(verbose string) []uniqueRule {
	return []uniqueRule{
		{fields: []string{"name"}, field: "name", msg: verbose + " with this name already exists."},
		{fields: []string{"slug"}, field: "slug", msg: verbose + " with this slug already exists."},
	}
}

var briefNamed = []string{"id", "url", "display", "name", "slug", "description"}

// depth counts the ancestors of a nested object (locations, device roles).
func depth(rc *renderCtx, o *object) any {
	d := 0
	t := rc.s.tables[o.ep.path]
	for p := intField(o, "parent"); p != 0 && d < 100; d++ {
		po := t.byID[p]
		if po == nil {
			break
		}
		p = intField(po, "parent")
	}
	return d
}

func ifaceMACs(ct string) computedRefs {
	return computedRefs{targets: []string{pathMACs}, refs: func(rc *renderCtx, o *object) (string, []int) {
		return pathMACs, rc.s.tables[pathMACs].referrers("gfk:"+ct, o.id)
	}}
}

func ifaceMACString(rc *renderCtx, o *object) any {
	if id := intField(o, "primary_mac_address"); id != 0 {
		if m := rc.s.tables[pathMACs].byID[id]; m != nil {
			return strField(m, "mac_address")
		}
	}
	return nil
}

func primaryIP(rc *renderCtx, o *object) (string, int) {
	if id := intField(o, "primary_ip6"); id != 0 {
		return pathIPs, id
	}
	return pathIPs, intField(o, "primary_ip4")
}

func assignedObject(field string, targets map[string]string) computedRef {
	var ts []string
	for _, t := range targets {
		ts = append(ts, t)
	}
	return computedRef{targets: ts, ref: func(rc *renderCtx, o *object) (string, int) {
		ct := strField(o, field+"_type")
		return targets[ct], intField(o, field+"_id")
	}}
}

var ifaceTargets = map[string]string{"dcim.interface": pathInterfaces, "virtualization.vminterface": pathVMInterfaces}
var serviceTargets = map[string]string{"dcim.device": pathDevices, "virtualization.virtualmachine": pathVMs}

func endpointMap() map[string]*endpoint {
	m := map[string]*endpoint{}
	for _, e := range endpoints() {
		m[e.path] = e
	}
	installFilters(m)
	return m
}

// endpoints describes the models the agent uses. On-delete behaviour follows NetBox's models
// (PROTECT for the objects a device or VM is built from, CASCADE for components, generic
// relations and child locations, SET_NULL for primary IP/MAC and platforms).
func endpoints() []*endpoint {
	return []*endpoint{
		{
			path: pathTags, objectName: "Tag", verbose: "tag", objectType: "extras.tag", uiPath: "/extras/tags/",
			unique:   nameUnique("tag"),
			defaults: map[string]any{"color": "9e9e9e", "description": "", "weight": 1000, "object_types": []any{}},
			brief:    []string{"id", "url", "display", "name", "slug", "color", "description"},
			computed: map[string]func(rc *renderCtx, o *object) any{"tagged_items": func(rc *renderCtx, o *object) any {
				n := 0
				for _, t := range rc.s.tables {
					n += t.countReferrers("tags", o.id)
				}
				return n
			}},
		},
		{
			path: pathCustomFields, objectName: "CustomField", verbose: "custom field", objectType: "extras.customfield", uiPath: "/extras/custom-fields/",
			unique: []uniqueRule{{fields: []string{"name"}, field: "name", msg: "custom field with this name already exists."}},
			defaults: map[string]any{"type": "text", "label": "", "group_name": "", "description": "", "required": false, "unique": false,
				"search_weight": 1000, "filter_logic": "loose", "ui_visible": "always", "ui_editable": "yes", "is_cloneable": false,
				"weight": 100, "validation_regex": "", "comments": ""},
			brief: []string{"id", "url", "display", "name", "description"},
			computed: map[string]func(rc *renderCtx, o *object) any{"data_type": func(_ *renderCtx, o *object) any {
				return cfDataType(strField(o, "type"))
			}},
			display: func(_ *renderCtx, o *object) string {
				if l := strField(o, "label"); l != "" {
					return l
				}
				n := strings.ReplaceAll(strField(o, "name"), "_", " ")
				if n == "" {
					return n
				}
				return strings.ToUpper(n[:1]) + n[1:]
			},
			clean:       cleanCustomField,
			afterWrite:  func(w *writeCtx, o, old *object) { w.renameCustomFieldData(o, old) },
			afterDelete: func(w *writeCtx, o *object) { w.dropCustomFieldData(o) },
		},
		{
			path: pathSites, objectName: "Site", verbose: "site", objectType: "dcim.site", uiPath: "/dcim/sites/", hasTags: true,
			unique:   nameUnique("site"),
			defaults: map[string]any{"status": "active"},
			brief:    briefNamed,
			computed: map[string]func(rc *renderCtx, o *object) any{
				"device_count":         countOf(pathDevices, "site"),
				"virtualmachine_count": countOf(pathVMs, "site"),
			},
		},
		{
			path: pathLocations, objectName: "Location", verbose: "location", objectType: "dcim.location", uiPath: "/dcim/locations/", hasTags: true,
			fks: map[string]fkDef{"site": {pathSites, cascade}, "parent": {pathLocations, cascade}},
			unique: []uniqueRule{
				{fields: []string{"site", "parent", "name"}, nullAsValue: true, msg: "A location with this name already exists within the specified site."},
				{fields: []string{"site", "parent", "slug"}, nullAsValue: true, msg: "A location with this slug already exists within the specified site."},
			},
			defaults: map[string]any{"status": "active"},
			brief:    []string{"id", "url", "display", "name", "slug", "description", "_depth", "rack_count"},
			computed: map[string]func(rc *renderCtx, o *object) any{
				"device_count": countOf(pathDevices, "location"),
				"_depth":       depth,
			},
			clean: cleanLocation,
		},
		{
			path: pathManufacturers, objectName: "Manufacturer", verbose: "manufacturer", objectType: "dcim.manufacturer", uiPath: "/dcim/manufacturers/", hasTags: true,
			unique: nameUnique("manufacturer"),
			brief:  append(append([]string{}, briefNamed...), "devicetype_count"),
			computed: map[string]func(rc *renderCtx, o *object) any{
				"devicetype_count": countOf(pathDeviceTypes, "manufacturer"),
				"platform_count":   countOf(pathPlatforms, "manufacturer"),
			},
		},
		{
			path: pathDeviceTypes, objectName: "DeviceType", verbose: "device type", objectType: "dcim.devicetype", uiPath: "/dcim/device-types/", hasTags: true,
			fks: map[string]fkDef{"manufacturer": {pathManufacturers, protect}, "default_platform": {pathPlatforms, setNull}},
			unique: []uniqueRule{
				{fields: []string{"manufacturer", "model"}, msg: "Device type with this Manufacturer and Model already exists."},
				{fields: []string{"manufacturer", "slug"}, msg: "Device type with this Manufacturer and Slug already exists."},
			},
			defaults: map[string]any{"u_height": 1.0, "is_full_depth": true, "exclude_from_utilization": false},
			brief:    []string{"id", "url", "display", "manufacturer", "model", "slug", "description", "device_count"},
			computed: map[string]func(rc *renderCtx, o *object) any{"device_count": countOf(pathDevices, "device_type")},
			display:  func(_ *renderCtx, o *object) string { return strField(o, "model") },
		},
		{
			path: pathDeviceRoles, objectName: "DeviceRole", verbose: "device role", objectType: "dcim.devicerole", uiPath: "/dcim/device-roles/", hasTags: true,
			fks: map[string]fkDef{"parent": {pathDeviceRoles, cascade}},
			unique: []uniqueRule{
				{fields: []string{"parent", "name"}, nullAsValue: true, msg: "A top-level device role with this name already exists."},
				{fields: []string{"parent", "slug"}, nullAsValue: true, msg: "A top-level device role with this slug already exists."},
			},
			defaults: map[string]any{"color": "9e9e9e", "vm_role": true},
			brief:    []string{"id", "url", "display", "name", "slug", "description", "_depth", "device_count", "virtualmachine_count"},
			computed: map[string]func(rc *renderCtx, o *object) any{
				"device_count":         countOf(pathDevices, "role"),
				"virtualmachine_count": countOf(pathVMs, "role"),
				"_depth":               depth,
			},
		},
		{
			path: pathPlatforms, objectName: "Platform", verbose: "platform", objectType: "dcim.platform", uiPath: "/dcim/platforms/", hasTags: true,
			fks: map[string]fkDef{"manufacturer": {pathManufacturers, protect}},
			unique: []uniqueRule{
				{fields: []string{"name"}, field: "name", msg: "platform with this name already exists.", before: Profile47},
				{fields: []string{"slug"}, field: "slug", msg: "platform with this slug already exists.", before: Profile47},
				{fields: []string{"manufacturer", "name"}, nullAsValue: true, msg: "Platform with this Manufacturer and Name already exists.", only: Profile47},
				{fields: []string{"manufacturer", "slug"}, nullAsValue: true, msg: "Platform with this Manufacturer and Slug already exists.", only: Profile47},
			},
			brief: append(append([]string{}, briefNamed...), "device_count", "virtualmachine_count"),
			computed: map[string]func(rc *renderCtx, o *object) any{
				"device_count":         countOf(pathDevices, "platform"),
				"virtualmachine_count": countOf(pathVMs, "platform"),
			},
		},
		{
			path: pathDevices, objectName: "Device", verbose: "device", objectType: "dcim.device", uiPath: "/dcim/devices/", hasTags: true,
			fks: map[string]fkDef{
				"device_type": {pathDeviceTypes, protect}, "role": {pathDeviceRoles, protect}, "site": {pathSites, protect},
				"location": {pathLocations, protect}, "platform": {pathPlatforms, setNull}, "cluster": {pathClusters, setNull},
				"primary_ip4": {pathIPs, setNull}, "primary_ip6": {pathIPs, setNull}, "oob_ip": {pathIPs, setNull},
			},
			unique: []uniqueRule{
				{fields: []string{"name", "site"}, fold: true, skipEmpty: true, msg: "Device name must be unique per site."},
				{fields: []string{"asset_tag"}, field: "asset_tag", msg: "device with this Asset tag already exists."},
			},
			defaults: map[string]any{"status": "active"},
			brief:    []string{"id", "url", "display", "name", "description"},
			computed: map[string]func(rc *renderCtx, o *object) any{
				"interface_count": countOf(pathInterfaces, "device"),
			},
			computedRef: map[string]computedRef{"primary_ip": {targets: []string{pathIPs}, ref: primaryIP}},
			display: func(rc *renderCtx, o *object) string {
				if n := strField(o, "name"); n != "" {
					return n
				}
				label := strconv.Itoa(o.id)
				if at := strField(o, "asset_tag"); at != "" {
					label = at
				}
				if dt := rc.s.tables[pathDeviceTypes].byID[intField(o, "device_type")]; dt != nil {
					mfr := ""
					if m := rc.s.tables[pathManufacturers].byID[intField(dt, "manufacturer")]; m != nil {
						mfr = strField(m, "name")
					}
					return fmt.Sprintf("%s %s (%s)", mfr, strField(dt, "model"), label)
				}
				return label
			},
			clean: cleanDevice,
		},
		{
			path: pathInterfaces, objectName: "Interface", verbose: "interface", objectType: "dcim.interface", uiPath: "/dcim/interfaces/", hasTags: true,
			fks: map[string]fkDef{
				"device": {pathDevices, cascade}, "parent": {pathInterfaces, setNull}, "bridge": {pathInterfaces, setNull},
				"lag": {pathInterfaces, setNull}, "primary_mac_address": {pathMACs, setNull},
			},
			unique:   []uniqueRule{{fields: []string{"device", "name"}, msg: "Interface with this Device and Name already exists."}},
			defaults: map[string]any{"enabled": true, "mgmt_only": false, "mark_connected": false},
			brief:    []string{"id", "url", "display", "device", "name", "description", "cable", "_occupied"},
			computed: map[string]func(rc *renderCtx, o *object) any{
				"mac_address":       ifaceMACString,
				"count_ipaddresses": countOf(pathIPs, "gfk:dcim.interface"),
			},
			computedRefs: map[string]computedRefs{"mac_addresses": ifaceMACs("dcim.interface")},
			clean:        cleanInterface("device"),
			afterWrite:   afterInterfaceWrite("dcim.interface"),
		},
		{
			path: pathMACs, objectName: "MACAddress", verbose: "MAC address", objectType: "dcim.macaddress", uiPath: "/dcim/mac-addresses/", hasTags: true,
			gfk:         &gfkDef{typeField: "assigned_object_type", idField: "assigned_object_id", targets: ifaceTargets, del: cascade},
			brief:       []string{"id", "url", "display", "mac_address", "description"},
			computedRef: map[string]computedRef{"assigned_object": assignedObject("assigned_object", ifaceTargets)},
			display:     func(_ *renderCtx, o *object) string { return strField(o, "mac_address") },
			clean:       cleanMAC,
		},
		{
			path: pathIPs, objectName: "IPAddress", verbose: "IP address", objectType: "ipam.ipaddress", uiPath: "/ipam/ip-addresses/", hasTags: true,
			fks:      map[string]fkDef{"nat_inside": {pathIPs, setNull}},
			gfk:      &gfkDef{typeField: "assigned_object_type", idField: "assigned_object_id", targets: ifaceTargets, del: cascade},
			defaults: map[string]any{"status": "active"},
			brief:    []string{"id", "url", "display", "family", "address", "description"},
			computed: map[string]func(rc *renderCtx, o *object) any{"family": func(_ *renderCtx, o *object) any {
				if strings.Contains(strField(o, "address"), ":") {
					return map[string]any{"value": 6, "label": "IPv6"}
				}
				return map[string]any{"value": 4, "label": "IPv4"}
			}},
			computedRef: map[string]computedRef{"assigned_object": assignedObject("assigned_object", ifaceTargets)},
			display:     func(_ *renderCtx, o *object) string { return strField(o, "address") },
			clean:       cleanIP,
		},
		{
			path: pathServices, objectName: "Service", verbose: "service", objectType: "ipam.service", uiPath: "/ipam/services/", hasTags: true,
			m2m:         map[string]fkDef{"ipaddresses": {target: pathIPs}},
			gfk:         &gfkDef{typeField: "parent_object_type", idField: "parent_object_id", targets: serviceTargets, del: cascade},
			brief:       []string{"id", "url", "display", "name", "protocol", "ports", "description"},
			computedRef: map[string]computedRef{"parent": assignedObject("parent_object", serviceTargets)},
			display: func(_ *renderCtx, o *object) string {
				var ports []string
				for _, p := range asList(o.f["ports"]) {
					ports = append(ports, toString(p))
				}
				return fmt.Sprintf("%s (%s/%s)", strField(o, "name"), strings.ToUpper(strField(o, "protocol")), strings.Join(ports, ", "))
			},
			clean: cleanService,
		},
		{
			path: pathClusterTypes, objectName: "ClusterType", verbose: "cluster type", objectType: "virtualization.clustertype", uiPath: "/virtualization/cluster-types/", hasTags: true,
			unique:   nameUnique("cluster type"),
			brief:    append(append([]string{}, briefNamed...), "cluster_count"),
			computed: map[string]func(rc *renderCtx, o *object) any{"cluster_count": countOf(pathClusters, "type")},
		},
		{
			path: pathClusters, objectName: "Cluster", verbose: "cluster", objectType: "virtualization.cluster", uiPath: "/virtualization/clusters/", hasTags: true,
			fks: map[string]fkDef{"type": {pathClusterTypes, protect}},
			unique: []uniqueRule{
				{fields: []string{"scope_type", "scope_id", "name"}, msg: "A cluster with this name already exists within the specified scope."},
			},
			defaults: map[string]any{"status": "active"},
			brief:    []string{"id", "url", "display", "name", "description", "virtualmachine_count"},
			computed: map[string]func(rc *renderCtx, o *object) any{
				"device_count":         countOf(pathDevices, "cluster"),
				"virtualmachine_count": countOf(pathVMs, "cluster"),
				"allocated_vcpus":      clusterSum("vcpus"),
				"allocated_memory":     clusterSum("memory"),
				"allocated_disk":       clusterSum("disk"),
			},
		},
		{
			path: pathVMs, objectName: "VirtualMachine", verbose: "virtual machine", objectType: "virtualization.virtualmachine", uiPath: "/virtualization/virtual-machines/", hasTags: true,
			fks: map[string]fkDef{
				"site": {pathSites, protect}, "cluster": {pathClusters, protect}, "device": {pathDevices, protect},
				"role": {pathDeviceRoles, protect}, "platform": {pathPlatforms, setNull},
				"primary_ip4": {pathIPs, setNull}, "primary_ip6": {pathIPs, setNull},
			},
			unique: []uniqueRule{
				{fields: []string{"name", "cluster"}, fold: true, msg: "Virtual machine name must be unique per cluster."},
			},
			defaults: map[string]any{"status": "active"},
			brief:    []string{"id", "url", "display", "name", "description"},
			computed: map[string]func(rc *renderCtx, o *object) any{
				"interface_count":    countOf(pathVMInterfaces, "virtual_machine"),
				"virtual_disk_count": countOf(pathVirtualDisks, "virtual_machine"),
			},
			computedRef: map[string]computedRef{"primary_ip": {targets: []string{pathIPs}, ref: primaryIP}},
			clean:       cleanVM,
		},
		{
			path: pathVMInterfaces, objectName: "VMInterface", verbose: "VM interface", objectType: "virtualization.vminterface", uiPath: "/virtualization/interfaces/", hasTags: true,
			fks: map[string]fkDef{
				"virtual_machine": {pathVMs, cascade}, "parent": {pathVMInterfaces, setNull}, "bridge": {pathVMInterfaces, setNull},
				"primary_mac_address": {pathMACs, setNull},
			},
			unique:   []uniqueRule{{fields: []string{"virtual_machine", "name"}, msg: "VM interface with this Virtual machine and Name already exists."}},
			defaults: map[string]any{"enabled": true},
			brief:    []string{"id", "url", "display", "virtual_machine", "name", "description"},
			computed: map[string]func(rc *renderCtx, o *object) any{
				"mac_address":       ifaceMACString,
				"count_ipaddresses": countOf(pathIPs, "gfk:virtualization.vminterface"),
			},
			computedRefs: map[string]computedRefs{"mac_addresses": ifaceMACs("virtualization.vminterface")},
			clean:        cleanInterface("virtual_machine"),
			afterWrite:   afterInterfaceWrite("virtualization.vminterface"),
		},
		{
			path: pathVirtualDisks, objectName: "VirtualDisk", verbose: "virtual disk", objectType: "virtualization.virtualdisk", uiPath: "/virtualization/virtual-disks/", hasTags: true,
			fks:         map[string]fkDef{"virtual_machine": {pathVMs, cascade}},
			unique:      []uniqueRule{{fields: []string{"virtual_machine", "name"}, msg: "Virtual disk with this Virtual machine and Name already exists."}},
			brief:       []string{"id", "url", "display", "virtual_machine", "name", "size", "description"},
			afterWrite:  func(w *writeCtx, o, old *object) { w.syncVMDisk(o, old) },
			afterDelete: func(w *writeCtx, o *object) { w.syncVMDisk(nil, o) },
		},
	}
}

func clusterSum(field string) func(rc *renderCtx, o *object) any {
	return func(rc *renderCtx, o *object) any {
		t := rc.s.tables[pathVMs]
		total := 0.0
		for _, id := range t.referrers("cluster", o.id) {
			if f, ok := toFloat(t.byID[id].f[field]); ok {
				total += f
			}
		}
		if field == "vcpus" {
			return total
		}
		return int(total)
	}
}

func cfDataType(t string) string {
	switch t {
	case "integer":
		return "integer"
	case "decimal":
		return "decimal"
	case "boolean":
		return "boolean"
	case "date":
		return "string"
	case "datetime":
		return "string"
	case "json":
		return "object"
	case "multiselect", "multiobject":
		return "array"
	case "object":
		return "object"
	}
	return "string"
}

func asList(v any) []any {
	l, _ := v.([]any)
	return l
}
