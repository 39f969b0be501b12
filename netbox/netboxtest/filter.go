package netboxtest

import (
	"fmt"
	"net/netip"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// filterFunc reports whether o matches the filter's values.
type filterFunc func(s *state, o *object, values []string) bool

// queryControl are the parameters that are not filters.
var queryControl = map[string]bool{"limit": true, "offset": true, "start": true, "brief": true, "fields": true,
	"ordering": true, "format": true, "exclude": true}

// slugged reports the endpoints whose objects a relation filter names by slug (?site=x).
func slugged(path string) bool {
	switch path {
	case pathSites, pathLocations, pathManufacturers, pathDeviceTypes, pathDeviceRoles, pathPlatforms, pathClusterTypes, pathTags:
		return true
	}
	return false
}

// searchFilter is ?q=: a case-insensitive substring of the fields NetBox's filtersets
// search (name, slug, model, address, serial, asset tag, description, DNS name, MAC).
func searchFilter(_ *state, o *object, vs []string) bool {
	for _, v := range vs {
		v = strings.ToLower(strings.TrimSpace(v))
		if v == "" {
			return true
		}
		for _, f := range []string{"name", "slug", "model", "address", "serial", "asset_tag", "description", "dns_name", "mac_address", "label"} {
			if strings.Contains(strings.ToLower(strField(o, f)), v) {
				return true
			}
		}
	}
	return false
}

// filter returns the objects of def matching the query, ordered by id. Parameters that are
// not filters the simulator knows are ignored, as NetBox does without STRICT_FILTERING.
func (s *Server) filter(def *endpoint, q url.Values) ([]*object, []string, fieldErrors) {
	var ignored []string
	t := s.st.tables[def.path]
	es := s.spec.eps[def.path]
	type pred struct {
		f      filterFunc
		values []string
	}
	var preds []pred
	var candidates []int // nil: all
	narrow := func(ids []int) {
		sort.Ints(ids)
		ids = slices.Compact(ids)
		if candidates == nil {
			candidates = ids
			return
		}
		var out []int
		for _, id := range candidates {
			if _, ok := slices.BinarySearch(ids, id); ok {
				out = append(out, id)
			}
		}
		candidates = out
		if candidates == nil {
			candidates = []int{}
		}
	}
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, key := range keys {
		values := q[key]
		if queryControl[key] || len(values) == 0 {
			continue
		}
		switch {
		case key == "id__in":
			// NetBox's id filter has no "in" lookup: id__in is an unknown filter, ignored
			// (the whole table is answered). Use repeated id= instead.
			ignored = append(ignored, key)
			continue
		case key == "id":
			var ids []int
			for _, v := range values {
				for _, part := range strings.Split(v, ",") {
					id, err := strconv.Atoi(strings.TrimSpace(part))
					if err != nil {
						return nil, nil, fieldErrors{key: []string{"Enter a number."}}
					}
					ids = append(ids, id)
				}
			}
			narrow(ids)
		case def.filters[key] != nil:
			preds = append(preds, pred{def.filters[key], values})
		case strings.HasSuffix(key, "_id") && def.fks[strings.TrimSuffix(key, "_id")].target != "":
			field := strings.TrimSuffix(key, "_id")
			var ids []int
			wantNull := false
			for _, v := range values {
				if v == "null" {
					wantNull = true
					continue
				}
				id, err := strconv.Atoi(v)
				if err != nil {
					return nil, nil, fieldErrors{key: []string{"Enter a number."}}
				}
				// django-filter's ModelMultipleChoiceFilter refuses an id that is not there.
				if s.st.tables[def.fks[field].target].byID[id] == nil {
					return nil, nil, fieldErrors{key: []string{fmt.Sprintf("Select a valid choice. %s is not one of the available choices.", v)}}
				}
				if !wantNull {
					ids = append(ids, t.referrers(field, id)...)
				}
			}
			if wantNull {
				preds = append(preds, pred{func(_ *state, o *object, vs []string) bool {
					id := intField(o, field)
					return id == 0 || slices.Contains(vs, strconv.Itoa(id))
				}, values})
			} else {
				narrow(ids)
			}
		case key == "tag":
			for _, slug := range values {
				if !s.st.tables[pathTags].hasValue("slug", slug) {
					return nil, nil, fieldErrors{key: []string{fmt.Sprintf("Select a valid choice. %s is not one of the available choices.", slug)}}
				}
			}
			preds = append(preds, pred{func(s *state, o *object, vs []string) bool {
				tags := s.tables[pathTags]
				for _, slug := range vs { // every tag given must be present (NetBox's TagFilter is conjoined)
					found := false
					for _, id := range o.tags {
						if strField(tags.byID[id], "slug") == slug {
							found = true
							break
						}
					}
					if !found {
						return false
					}
				}
				return true
			}, values})
		case key == "tag_id":
			preds = append(preds, pred{func(_ *state, o *object, vs []string) bool {
				for _, v := range vs {
					id, _ := strconv.Atoi(v)
					if !slices.Contains(o.tags, id) {
						return false
					}
				}
				return true
			}, values})
		case def.fks[key].target != "" && s.st.tables[def.fks[key].target] != nil && slugged(def.fks[key].target):
			// ?site=<slug>: the related object's slug; an unknown slug is a 400.
			tt := s.st.tables[def.fks[key].target]
			var ids []int
			for _, slug := range values {
				found := false
				for _, id := range tt.ids {
					if o := tt.byID[id]; o != nil && strField(o, "slug") == slug {
						ids = append(ids, t.referrers(key, id)...)
						found = true
					}
				}
				if !found && slug != "null" {
					return nil, nil, fieldErrors{key: []string{fmt.Sprintf("Select a valid choice. %s is not one of the available choices.", slug)}}
				}
			}
			narrow(ids)
		case key == "q":
			preds = append(preds, pred{searchFilter, values})
		case strings.HasPrefix(key, "cf_"):
			name := strings.TrimPrefix(key, "cf_")
			want := make(map[string]bool, len(values))
			for _, v := range values {
				want[v] = true
				if lv := strings.ToLower(v); lv == "true" || lv == "false" {
					want[lv] = true
				}
			}
			preds = append(preds, pred{func(_ *state, o *object, _ []string) bool {
				v, ok := o.cf[name]
				if !ok || v == nil {
					return want["null"]
				}
				if m, isMap := v.(map[string]any); isMap {
					return want[fmt.Sprint(m)]
				}
				return want[toString(v)]
			}, values})
		case strings.HasPrefix(key, "last_updated__") || strings.HasPrefix(key, "created__"):
			field, op, _ := strings.Cut(key, "__")
			var bounds []time.Time
			for _, v := range values {
				tv := parseTime(v)
				if tv.IsZero() {
					return nil, nil, fieldErrors{key: []string{"Enter a valid date/time."}}
				}
				bounds = append(bounds, tv)
			}
			preds = append(preds, pred{timeFilter(field, op, bounds), values})
		default:
			base, lookup, _ := strings.Cut(key, "__")
			prop := es.writable[base]
			if prop == nil || isRefSchema(prop) || !(prop.Type.Is("string") || prop.Type.Is("integer") || prop.Type.Is("boolean")) {
				ignored = append(ignored, key) // unknown filter: ignored, as NetBox does
				continue
			}
			if lookup == "" && len(prop.Enum) > 0 {
				for _, v := range values {
					if !slices.ContainsFunc(prop.Enum, func(e any) bool { return toString(e) == v }) {
						return nil, nil, fieldErrors{key: []string{fmt.Sprintf("Select a valid choice. %s is not one of the available choices.", v)}}
					}
				}
			}
			// NetBox filters serials case-insensitively, and device and VM names (iexact).
			fold := base == "serial" || (base == "name" && (def.path == pathDevices || def.path == pathVMs))
			if f := stringFilter(base, lookup, fold, values); f != nil {
				preds = append(preds, pred{f, values})
			} else {
				ignored = append(ignored, key)
			}
		}
	}
	ids := candidates
	if ids == nil {
		ids = t.ids
	}
	out := make([]*object, 0, min(len(ids), 1024))
	for _, id := range ids {
		o := t.byID[id]
		if o == nil {
			continue
		}
		ok := true
		for _, p := range preds {
			if !p.f(s.st, o, p.values) {
				ok = false
				break
			}
		}
		if ok {
			out = append(out, o)
		}
	}
	return out, ignored, nil
}

func timeFilter(field, op string, bounds []time.Time) filterFunc {
	return func(_ *state, o *object, _ []string) bool {
		t := o.updated
		if field == "created" {
			t = o.created
		}
		for _, b := range bounds {
			switch op {
			case "gte":
				if t.Before(b) {
					return false
				}
			case "gt":
				if !t.After(b) {
					return false
				}
			case "lte":
				if t.After(b) {
					return false
				}
			case "lt":
				if !t.Before(b) {
					return false
				}
			}
		}
		return true
	}
}

// stringFilter implements NetBox's lookups on a scalar field: exact (any of the values),
// n (none of), ie / nie (case-insensitive), ic (contains, case-insensitive), isw, iew.
func stringFilter(field, lookup string, fold bool, values []string) filterFunc {
	if lookup == "" || lookup == "n" || lookup == "ie" || lookup == "nie" {
		// Exact matches (the agent's name__ie/serial reads carry hundreds of values): a set.
		fold = fold || lookup == "ie" || lookup == "nie"
		want := make(map[string]bool, len(values))
		for _, v := range values {
			if fold {
				v = strings.ToLower(v)
			}
			want[v] = true
		}
		negate := strings.HasPrefix(lookup, "n")
		return func(_ *state, o *object, _ []string) bool {
			v, ok := o.f[field]
			have := toString(v)
			if !ok || v == nil {
				have = ""
			}
			if fold {
				have = strings.ToLower(have)
			}
			return want[have] != negate
		}
	}
	match := func(have, want string) bool {
		switch lookup {
		case "", "n":
			if fold {
				return strings.EqualFold(have, want)
			}
			return have == want
		case "ie", "nie":
			return strings.EqualFold(have, want)
		case "ic", "nic":
			return strings.Contains(strings.ToLower(have), strings.ToLower(want))
		case "isw", "nisw":
			return strings.HasPrefix(strings.ToLower(have), strings.ToLower(want))
		case "iew", "niew":
			return strings.HasSuffix(strings.ToLower(have), strings.ToLower(want))
		}
		return false
	}
	switch lookup {
	case "", "ie", "ic", "isw", "iew", "n", "nie", "nic", "nisw", "niew":
	case "empty":
		return func(_ *state, o *object, vs []string) bool {
			empty := toString(o.f[field]) == ""
			return (vs[0] == "true") == empty
		}
	default:
		return nil
	}
	negate := strings.HasPrefix(lookup, "n")
	return func(_ *state, o *object, vs []string) bool {
		v, ok := o.f[field]
		have := toString(v)
		if !ok || v == nil {
			have = ""
		}
		for _, want := range vs {
			if match(have, want) {
				return !negate
			}
		}
		return negate
	}
}

// macFilter matches a MAC address case- and separator-insensitively.
func macValues(vs []string) []string {
	out := make([]string, 0, len(vs))
	for _, v := range vs {
		if m, ok := normalizeMAC(v); ok {
			out = append(out, m)
		} else {
			out = append(out, strings.ToUpper(v))
		}
	}
	return out
}

func ifaceMACFilter(ct string) filterFunc {
	return func(s *state, o *object, vs []string) bool {
		want := macValues(vs)
		macs := s.tables[pathMACs]
		for _, id := range macs.referrers("gfk:"+ct, o.id) {
			if slices.Contains(want, strField(macs.byID[id], "mac_address")) {
				return true
			}
		}
		return false
	}
}

// assignedParentFilter matches IP or MAC addresses whose assigned interface belongs to one
// of the given devices (ct dcim.interface) or VMs (ct virtualization.vminterface).
func assignedParentFilter(typeField, idField, ct string) filterFunc {
	return func(s *state, o *object, vs []string) bool {
		if strField(o, typeField) != ct {
			return false
		}
		w := &writeCtx{s: s}
		_, pid := parentOfIface(w, ct, intField(o, idField))
		return slices.Contains(vs, strconv.Itoa(pid))
	}
}

func assignedFilter(typeField, idField, ct string) filterFunc {
	return func(_ *state, o *object, vs []string) bool {
		return strField(o, typeField) == ct && slices.Contains(vs, strconv.Itoa(intField(o, idField)))
	}
}

func hostOf(addr string) string {
	h, _, _ := strings.Cut(addr, "/")
	if a, err := netip.ParseAddr(h); err == nil {
		return a.String()
	}
	return h
}

// installFilters adds the endpoint-specific filters the agent uses.
func installFilters(defs map[string]*endpoint) {
	set := func(path, key string, f filterFunc) {
		if defs[path].filters == nil {
			defs[path].filters = map[string]filterFunc{}
		}
		defs[path].filters[key] = f
	}
	set(pathInterfaces, "mac_address", ifaceMACFilter("dcim.interface"))
	set(pathVMInterfaces, "mac_address", ifaceMACFilter("virtualization.vminterface"))
	set(pathMACs, "mac_address", func(_ *state, o *object, vs []string) bool {
		return slices.Contains(macValues(vs), strField(o, "mac_address"))
	})
	for _, p := range []string{pathMACs, pathIPs} {
		set(p, "device_id", assignedParentFilter("assigned_object_type", "assigned_object_id", "dcim.interface"))
		set(p, "virtual_machine_id", assignedParentFilter("assigned_object_type", "assigned_object_id", "virtualization.vminterface"))
		set(p, "interface_id", assignedFilter("assigned_object_type", "assigned_object_id", "dcim.interface"))
		set(p, "vminterface_id", assignedFilter("assigned_object_type", "assigned_object_id", "virtualization.vminterface"))
	}
	set(pathIPs, "address", func(_ *state, o *object, vs []string) bool {
		// With a mask NetBox matches address and mask (net_in on the inet); without, the host.
		addr := strField(o, "address")
		for _, v := range vs {
			if strings.Contains(v, "/") {
				if p, err := netip.ParsePrefix(v); err == nil && p.String() == addr {
					return true
				}
				continue
			}
			if hostOf(v) == hostOf(addr) {
				return true
			}
		}
		return false
	})
	set(pathIPs, "family", func(_ *state, o *object, vs []string) bool {
		fam := "4"
		if strings.Contains(strField(o, "address"), ":") {
			fam = "6"
		}
		return slices.Contains(vs, fam)
	})
	set(pathIPs, "parent", func(_ *state, o *object, vs []string) bool {
		p, err := netip.ParsePrefix(strField(o, "address"))
		if err != nil {
			return false
		}
		for _, v := range vs {
			if pp, err := netip.ParsePrefix(v); err == nil && pp.Masked().Contains(p.Addr()) && p.Bits() >= pp.Bits() {
				return true
			}
		}
		return false
	})
	set(pathServices, "device_id", assignedFilter("parent_object_type", "parent_object_id", "dcim.device"))
	set(pathServices, "virtual_machine_id", assignedFilter("parent_object_type", "parent_object_id", "virtualization.virtualmachine"))
	set(pathCustomFields, "object_type", func(_ *state, o *object, vs []string) bool {
		for _, ot := range cfObjectTypes(o) {
			if slices.Contains(vs, ot) {
				return true
			}
		}
		return false
	})
}

// hasValue reports an object whose field equals v.
func (t *table) hasValue(field, v string) bool {
	for _, id := range t.ids {
		if o := t.byID[id]; o != nil && strField(o, field) == v {
			return true
		}
	}
	return false
}
