package netbox

import (
	"encoding/json"
	"math"
	"strconv"
)

// Endpoint names: API paths without /api/ and without slashes at either end.
const (
	Devices         = "dcim/devices"
	Interfaces      = "dcim/interfaces"
	MACAddresses    = "dcim/mac-addresses"
	Sites           = "dcim/sites"
	Locations       = "dcim/locations"
	Manufacturers   = "dcim/manufacturers"
	DeviceTypes     = "dcim/device-types"
	DeviceRoles     = "dcim/device-roles"
	Platforms       = "dcim/platforms"
	IPAddresses     = "ipam/ip-addresses"
	Services        = "ipam/services"
	ClusterTypes    = "virtualization/cluster-types"
	Clusters        = "virtualization/clusters"
	VirtualMachines = "virtualization/virtual-machines"
	VMInterfaces    = "virtualization/interfaces"
	VirtualDisks    = "virtualization/virtual-disks"
	Tags            = "extras/tags"
	CustomFields    = "extras/custom-fields"
)

// Object is one NetBox object as decoded JSON (numbers are float64). Reads decode into it
// tolerantly: a field or enum value a newer NetBox adds is kept, never an error.
type Object map[string]any

// ID is the object's "id", 0 when absent.
func (o Object) ID() int { return ToInt(o["id"]) }

// String gives a field as text: strings as they are, choice fields ({value, label}) as their
// value, numbers and booleans formatted, anything else (absent, null, objects) as "".
func (o Object) String(key string) string {
	switch v := o[key].(type) {
	case string:
		return v
	case map[string]any:
		if val, ok := v["value"]; ok {
			return Object{"v": val}.String("v")
		}
	case float64:
		if v == math.Trunc(v) && math.Abs(v) < 1e15 {
			return strconv.FormatInt(int64(v), 10)
		}
		return strconv.FormatFloat(v, 'f', -1, 64)
	case int:
		return strconv.Itoa(v)
	case int64:
		return strconv.FormatInt(v, 10)
	case json.Number:
		return v.String()
	case bool:
		return strconv.FormatBool(v)
	}
	return ""
}

// RefID gives the id a reference field points at: a nested object {"id": N, ...} or a plain
// number (as written by the agent). 0 when absent or null.
func (o Object) RefID(key string) int {
	if m, ok := o[key].(map[string]any); ok {
		return ToInt(m["id"])
	}
	if m, ok := o[key].(Object); ok {
		return ToInt(m["id"])
	}
	return ToInt(o[key])
}

// CustomField gives the value of custom field name (nil when unset). Select fields, which
// NetBox 4.7 returns as {value, label}, are given as their value.
func (o Object) CustomField(name string) any {
	cf, _ := o["custom_fields"].(map[string]any)
	if cf == nil {
		if c, ok := o["custom_fields"].(Object); ok {
			cf = c
		}
	}
	v := cf[name]
	if m, ok := v.(map[string]any); ok {
		if val, ok := m["value"]; ok && len(m) <= 2 {
			return val
		}
	}
	return v
}

// TagSlugs gives the slugs of the object's tags (nested tag objects or {"slug": ...} refs).
func (o Object) TagSlugs() []string {
	list, _ := o["tags"].([]any)
	var out []string
	for _, t := range list {
		if m, ok := t.(map[string]any); ok {
			if s, ok := m["slug"].(string); ok {
				out = append(out, s)
			}
		}
	}
	return out
}

// ToInt reads a decoded JSON number (or numeric string) as an int, 0 for anything else.
func ToInt(v any) int {
	switch n := v.(type) {
	case float64:
		return int(n)
	case int:
		return n
	case int64:
		return int(n)
	case json.Number:
		i, _ := n.Int64()
		return int(i)
	case string:
		i, _ := strconv.Atoi(n)
		return i
	}
	return 0
}
