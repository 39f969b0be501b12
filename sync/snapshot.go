package sync

import (
	"context"
	"fmt"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	gosync "sync"
)

// snapshot is what the planner knows of NetBox: every object of the types the agent
// manages, read in bulk, with the indexes matching needs.
type snapshot struct {
	major, minor int
	objs         map[string][]Object       // by endpoint
	byID         map[string]map[int]Object // endpoint -> id -> object

	// machines: endpoint -> index key -> ids
	bySource map[string]map[string][]int // "source|native id"
	byEntity map[string]map[string][]int // ownership record id
	byUUID   map[string]map[string][]int
	bySerial map[string][]int            // devices, lower-case serial
	byName   map[string]map[string][]int // endpoint -> "lower(name)|site or cluster id"

	// children by parent: "endpoint:id" -> objects
	ifacesOf   map[string][]Object // machine key -> interfaces
	macsOf     map[string][]Object // interface key -> MAC objects
	ipsOf      map[string][]Object // interface key -> IP objects
	servicesOf map[string][]Object // machine key -> services
	disksOf    map[int][]Object    // vm id -> virtual disks
	ipsByAddr  map[netip.Addr][]Object
	macParents map[string][]string // MAC -> interface keys holding it
}

var snapshotEndpoints = []string{epTags, epCustomFields, epSites, epLocations, epManufacturers, epDeviceTypes,
	epDeviceRoles, epPlatforms, epClusterTypes, epClusters, epDevices, epVMs, epInterfaces,
	epVMInterfaces, epMACs, epIPs, epServices, epVirtualDisks}

// snapshotFields are the fields the planner reads per endpoint (NetBox 4.0+ "fields="): a
// third of the full representation, which keeps the agent's memory and NetBox's work down.
var snapshotFields = func() map[string]string {
	owned := ",tags,custom_fields,last_updated"
	named := "id,name,slug"
	return map[string]string{
		epTags: "id,name,slug,description", epCustomFields: "id,name",
		epSites: named, epManufacturers: named, epDeviceRoles: named, epPlatforms: named, epClusterTypes: named,
		epDeviceTypes:  "id,model,slug,manufacturer",
		epClusters:     "id,name,type,scope_type,scope_id,scope",
		epDevices:      "id,name,site,location,cluster,serial,device_type,role,platform,status,description,primary_ip4,primary_ip6" + owned,
		epVMs:          "id,name,cluster,site,role,platform,status,vcpus,memory,disk,description,primary_ip4,primary_ip6" + owned,
		epInterfaces:   "id,name,device,type,enabled,primary_mac_address" + owned,
		epVMInterfaces: "id,name,virtual_machine,enabled,primary_mac_address" + owned,
		epMACs:         "id,mac_address,assigned_object_type,assigned_object_id" + owned,
		epIPs:          "id,address,status,assigned_object_type,assigned_object_id,dns_name,description" + owned,
		epServices:     "id,name,protocol,ports,description,parent_object_type,parent_object_id" + owned,
		epVirtualDisks: "id,name,size,virtual_machine" + owned,
	}
}()

// nestedRef is a reference field of a snapshot object, compacted: its id and display.
type nestedRef struct {
	ID      int
	Display string
}

// compact keeps what the planner uses of an object: scalars, references as nestedRef,
// choices as their value, tags as shared {name, slug} maps, and of the custom fields only the
// agent's record, decoded.
func compact(o Object, cf string, tags map[string]any) Object {
	out := make(Object, len(o))
	for k, v := range o {
		switch k {
		case "url", "display_url", "created":
			continue
		case "custom_fields":
			if rec, ok := ownership(o, cf); ok {
				out[k] = ownerField{cf, rec} // not a one-entry map: ~1.4 KB each for ~200 bytes
			}
			continue
		case "tags":
			list, _ := v.([]any)
			ts := make([]any, 0, len(list))
			for _, t := range list {
				m, _ := t.(map[string]any)
				slug, _ := m["slug"].(string)
				shared, ok := tags[slug]
				if !ok {
					shared = map[string]any{"name": m["name"], "slug": slug}
					tags[slug] = shared
				}
				ts = append(ts, shared)
			}
			out[k] = ts
			continue
		}
		switch x := v.(type) {
		case map[string]any:
			if id, ok := x["id"]; ok {
				d, _ := x["display"].(string)
				if d == "" {
					d, _ = x["name"].(string)
				}
				out[k] = nestedRef{ID: toInt(id), Display: d}
			} else if val, ok := x["value"]; ok {
				out[k] = val
			} else {
				out[k] = x
			}
		default:
			out[k] = v
		}
	}
	return out
}

func objKey(endpoint string, id int) string { return fmt.Sprintf("%s:%d", endpoint, id) }

// readSnapshot reads everything the planner needs, in parallel, at most a few requests per
// 1,000 objects.
func readSnapshot(ctx context.Context, nb NetBox, cf string) (*snapshot, error) {
	major, minor, got, err := readObjects(ctx, nb, cf)
	if err != nil {
		return nil, err
	}
	return buildSnapshot(major, minor, got, cf), nil
}

// readObjects reads every object of the snapshot's endpoints, compacted, each endpoint's in
// id order (whatever order the NetBox version lists in).
func readObjects(ctx context.Context, nb NetBox, cf string) (major, minor int, got map[string][]Object, err error) {
	major, minor, err = nb.Version(ctx)
	if err != nil {
		return 0, 0, nil, fmt.Errorf("netbox version: %w", err)
	}
	// One endpoint at a time (its pages in parallel), each compacted as soon as it is read:
	// only one endpoint's full JSON is in memory at once.
	got = map[string][]Object{}
	tags := map[string]any{}
	var tagsMu gosync.Mutex // pages arrive in parallel; compact shares tags across objects
	for _, ep := range snapshotEndpoints {
		// Compacted page by page as they arrive where the client can (only a few pages are
		// ever whole in memory), else here.
		compacted := false
		res, err := nb.Snapshot(ctx, []ReadSpec{{Key: ep, Endpoint: ep, Query: url.Values{"fields": {snapshotFields[ep]}},
			Transform: func(o Object) Object {
				tagsMu.Lock()
				defer tagsMu.Unlock()
				compacted = true
				return compact(o, cf, tags)
			}}})
		if err != nil {
			return 0, 0, nil, fmt.Errorf("netbox snapshot: %w", err)
		}
		list := res[ep]
		tagsMu.Lock()
		done := compacted
		tagsMu.Unlock()
		if !done {
			for i, o := range list {
				list[i] = compact(o, cf, tags)
			}
		}
		slices.SortStableFunc(list, func(a, b Object) int { return objID(a) - objID(b) })
		got[ep] = list
	}
	return major, minor, got, nil
}

// buildSnapshot indexes objects (by endpoint, each list in id order) for the planner.
func buildSnapshot(major, minor int, got map[string][]Object, cf string) *snapshot {
	s := &snapshot{major: major, minor: minor, objs: got, byID: map[string]map[int]Object{},
		bySource: map[string]map[string][]int{}, byEntity: map[string]map[string][]int{},
		byUUID: map[string]map[string][]int{}, bySerial: map[string][]int{}, byName: map[string]map[string][]int{},
		ifacesOf: map[string][]Object{}, macsOf: map[string][]Object{}, ipsOf: map[string][]Object{},
		servicesOf: map[string][]Object{}, disksOf: map[int][]Object{}, ipsByAddr: map[netip.Addr][]Object{},
		macParents: map[string][]string{}}
	for ep, list := range got {
		m := make(map[int]Object, len(list))
		for _, o := range list {
			m[objID(o)] = o
		}
		s.byID[ep] = m
	}
	for _, ep := range []string{epDevices, epVMs} {
		s.bySource[ep], s.byEntity[ep], s.byUUID[ep], s.byName[ep] =
			map[string][]int{}, map[string][]int{}, map[string][]int{}, map[string][]int{}
		for _, o := range got[ep] {
			id := objID(o)
			if rec, ok := ownership(o, cf); ok {
				for _, src := range rec.Sources {
					k := src.Source + "|" + src.NativeID
					s.bySource[ep][k] = append(s.bySource[ep][k], id)
				}
				if rec.ID != "" {
					s.byEntity[ep][rec.ID] = append(s.byEntity[ep][rec.ID], id)
				}
				if u := rec.Keys.SystemUUID; u != "" {
					s.byUUID[ep][u] = append(s.byUUID[ep][u], id)
				}
			}
			scope := refID(o, "site")
			if ep == epVMs {
				scope = refID(o, "cluster")
			}
			if n := strings.ToLower(objStr(o, "name")); n != "" {
				k := fmt.Sprintf("%s|%d", n, scope)
				s.byName[ep][k] = append(s.byName[ep][k], id)
			}
			if ep == epDevices {
				if sn := strings.ToLower(objStr(o, "serial")); sn != "" {
					s.bySerial[sn] = append(s.bySerial[sn], id)
				}
			}
		}
	}
	for _, o := range got[epInterfaces] {
		k := objKey(epDevices, refID(o, "device"))
		s.ifacesOf[k] = append(s.ifacesOf[k], o)
	}
	for _, o := range got[epVMInterfaces] {
		k := objKey(epVMs, refID(o, "virtual_machine"))
		s.ifacesOf[k] = append(s.ifacesOf[k], o)
	}
	for _, o := range got[epMACs] {
		ifk := assignedKey(o)
		if ifk != "" {
			s.macsOf[ifk] = append(s.macsOf[ifk], o)
			mac := strings.ToUpper(objStr(o, "mac_address"))
			s.macParents[mac] = append(s.macParents[mac], ifk)
		}
	}
	for _, o := range got[epIPs] {
		if ifk := assignedKey(o); ifk != "" {
			s.ipsOf[ifk] = append(s.ipsOf[ifk], o)
		}
		if p, err := netip.ParsePrefix(objStr(o, "address")); err == nil {
			s.ipsByAddr[p.Addr()] = append(s.ipsByAddr[p.Addr()], o)
		}
	}
	for _, o := range got[epServices] {
		var k string
		switch objStr(o, "parent_object_type") {
		case "dcim.device":
			k = objKey(epDevices, toInt(o["parent_object_id"]))
		case "virtualization.virtualmachine":
			k = objKey(epVMs, toInt(o["parent_object_id"]))
		default:
			if id := refID(o, "device"); id != 0 {
				k = objKey(epDevices, id)
			} else {
				k = objKey(epVMs, refID(o, "virtual_machine"))
			}
		}
		s.servicesOf[k] = append(s.servicesOf[k], o)
	}
	for _, o := range got[epVirtualDisks] {
		id := refID(o, "virtual_machine")
		s.disksOf[id] = append(s.disksOf[id], o)
	}
	return s
}

// assignedKey is the "endpoint:id" of the interface an IP or MAC object is assigned to.
func assignedKey(o Object) string {
	id := toInt(o["assigned_object_id"])
	if id == 0 {
		return ""
	}
	switch objStr(o, "assigned_object_type") {
	case "dcim.interface":
		return objKey(epInterfaces, id)
	case "virtualization.vminterface":
		return objKey(epVMInterfaces, id)
	}
	return ""
}

// interfaceParent is the machine key an interface key belongs to.
func (s *snapshot) interfaceParent(ifk string) string {
	var ep string
	var id int
	if _, err := fmt.Sscanf(strings.Replace(ifk, ":", " ", 1), "%s %d", &ep, &id); err != nil {
		return ""
	}
	o := s.byID[ep][id]
	if o == nil {
		return ""
	}
	if ep == epInterfaces {
		return objKey(epDevices, refID(o, "device"))
	}
	return objKey(epVMs, refID(o, "virtual_machine"))
}

// findByName finds a shared object by name or slug, case-insensitive.
func (s *snapshot) findByName(ep, name string, filter func(Object) bool) Object {
	slug := slugify(name)
	for _, o := range s.objs[ep] {
		if filter != nil && !filter(o) {
			continue
		}
		n := objStr(o, "name")
		if n == "" {
			n = objStr(o, "model") // device types
		}
		if strings.EqualFold(n, name) || objStr(o, "slug") == slug {
			return o
		}
	}
	return nil
}

// slugify makes a NetBox slug: lower case, letters, digits, '-' and '_', at most 50 chars.
func slugify(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(strings.TrimSpace(s)) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '_':
			b.WriteRune(r)
			dash = false
		default:
			if !dash && b.Len() > 0 {
				b.WriteByte('-')
				dash = true
			}
		}
	}
	out := strings.TrimRight(b.String(), "-")
	if len(out) > 50 {
		out = strings.TrimRight(out[:50], "-")
	}
	if out == "" {
		out = "x"
	}
	return out
}
