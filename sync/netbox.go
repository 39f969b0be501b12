package sync

import (
	"context"
	"fmt"
	"math"
	"sort"

	"github.com/netbox-agent/netbox-agent/netbox"
)

// The engine speaks the netbox package's types; the aliases keep sync's short names.
type (
	// Object is one NetBox object as JSON decodes it (numbers are float64).
	Object = netbox.Object
	// ReadSpec is one list read of a snapshot: every object of Endpoint matching Query, under
	// Key. A NetBox may apply Transform to each object as it arrives (from several goroutines
	// at once) or return the objects as read.
	ReadSpec = netbox.ReadSpec
	// WriteResult is the outcome of writing one object, in input order.
	WriteResult = netbox.Result
)

// NetBox endpoints the engine reads and writes.
const (
	epTags          = "extras/tags"
	epCustomFields  = "extras/custom-fields"
	epSites         = "dcim/sites"
	epLocations     = "dcim/locations"
	epManufacturers = "dcim/manufacturers"
	epDeviceTypes   = "dcim/device-types"
	epDeviceRoles   = "dcim/device-roles"
	epPlatforms     = "dcim/platforms"
	epClusterTypes  = "virtualization/cluster-types"
	epClusters      = "virtualization/clusters"
	epDevices       = "dcim/devices"
	epVMs           = "virtualization/virtual-machines"
	epInterfaces    = "dcim/interfaces"
	epVMInterfaces  = "virtualization/interfaces"
	epMACs          = "dcim/mac-addresses"
	epIPs           = "ipam/ip-addresses"
	epServices      = "ipam/services"
	epVirtualDisks  = "virtualization/virtual-disks"
)

// NetBox is what the engine needs from a NetBox client. netbox.Client satisfies it through
// FromClient; tests may use the simulator through the same adapter.
type NetBox interface {
	// Version returns NetBox's major and minor version.
	Version(ctx context.Context) (major, minor int, err error)
	// Snapshot runs the reads (in parallel, all pages) and returns the objects per ReadSpec.Key.
	Snapshot(ctx context.Context, reads []ReadSpec) (map[string][]Object, error)
	// Create, Update (objects carry "id") and Delete write in bulk; one result per input.
	Create(ctx context.Context, endpoint string, objs []Object) []WriteResult
	Update(ctx context.Context, endpoint string, objs []Object) []WriteResult
	Delete(ctx context.Context, endpoint string, ids []int) []WriteResult
}

// objID returns an object's id, 0 if it has none.
func objID(o Object) int { return o.ID() }

// objStr returns a text field; a choice field ({value, label}) gives its value.
func objStr(o Object, k string) string { return o.String(k) }

// refID returns the id of a reference field, whether nested ({id: ...}) or a bare number.
func refID(o Object, k string) int {
	switch v := o[k].(type) {
	case nestedRef:
		return v.ID
	case map[string]any:
		return toInt(v["id"])
	default:
		return toInt(v)
	}
}

// toInt keeps the engine's short name for netbox.ToInt.
func toInt(v any) int { return netbox.ToInt(v) }

// norm puts a field value in the form the planner compares: references become their id,
// choices their value, integral numbers int64, empty strings and empty lists nil.
func norm(v any) any {
	switch x := v.(type) {
	case nil:
		return nil
	case string:
		if x == "" {
			return nil
		}
		return x
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1<<53 {
			return int64(x)
		}
		return x
	case int:
		return int64(x)
	case int64:
		return x
	case nestedRef:
		return int64(x.ID)
	case map[string]any:
		if id, ok := x["id"]; ok {
			return int64(toInt(id))
		}
		if val, ok := x["value"]; ok {
			return norm(val)
		}
		return fmt.Sprint(sortedMap(x))
	case []any:
		if len(x) == 0 {
			return nil
		}
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = fmt.Sprint(norm(e))
		}
		sort.Strings(parts)
		return fmt.Sprint(parts)
	case []int:
		if len(x) == 0 {
			return nil
		}
		parts := make([]any, len(x))
		for i, e := range x {
			parts[i] = float64(e)
		}
		return norm(parts)
	}
	return v
}

func sortedMap(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k, v := range m {
		out = append(out, k+"="+fmt.Sprint(norm(v)))
	}
	sort.Strings(out)
	return out
}
