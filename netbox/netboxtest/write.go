package netboxtest

import (
	"fmt"
	"math"
	"net/netip"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
)

// writeCtx carries one request's write transaction.
type writeCtx struct {
	s       *state
	tx      *tx
	spec    *Spec
	profile Profile
	now     time.Time
	// pendingMAC is a 4.7 interface mac_address write, applied after the interface is stored.
	pendingMAC map[*object]*string
}

func invalidPK(id int) string { return fmt.Sprintf("Invalid pk \"%d\" - object does not exist.", id) }

func unrecognizedRef(v any) string {
	return fmt.Sprintf("Related objects must be referenced by numeric ID or by dictionary of attributes. "+
		"Received an unrecognized value: %v", v)
}

// refNotFound words a missing referenced object: NetBox's nested serializer fields (pk or
// attributes) say "numeric ID"; plain primary-key fields use DRF's message.
func refNotFound(prop *openapi3.Schema, id int) string {
	if isRefSchema(prop) {
		return fmt.Sprintf("Related object not found using the provided numeric ID: %d", id)
	}
	return invalidPK(id)
}

func toInt(v any) (int, bool) {
	switch x := v.(type) {
	case float64:
		if x == math.Trunc(x) {
			return int(x), true
		}
	case int:
		return x, true
	}
	return 0, false
}

func toFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case int:
		return float64(x), true
	}
	return 0, false
}

// pyRepr renders attributes as Python prints a dict, as NetBox quotes them in errors.
func pyRepr(m map[string]any) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		v := m[k]
		var s string
		switch x := v.(type) {
		case string:
			s = "'" + x + "'"
		case nil:
			s = "None"
		case bool:
			s = "False"
			if x {
				s = "True"
			}
		default:
			s = toString(v)
		}
		parts = append(parts, "'"+k+"': "+s)
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

// lookup resolves a nested reference given as attributes ({"name": "x"}) to an id.
func (w *writeCtx) lookup(target string, attrs map[string]any) (int, string) {
	t := w.s.tables[target]
	notFound := "Related object not found using the provided attributes: " + pyRepr(attrs)
	if t == nil || len(attrs) == 0 {
		return 0, notFound
	}
	if v, ok := attrs["id"]; ok && len(attrs) == 1 {
		if id, ok := toInt(v); ok && t.byID[id] != nil {
			return id, ""
		}
		return 0, notFound
	}
	// A single-field unique rule answers from its index.
	if len(attrs) == 1 {
		for i, rule := range t.ep.unique {
			if len(rule.fields) == 1 && !rule.fold && rule.applies(w.profile) {
				if v, ok := attrs[rule.fields[0]].(string); ok {
					if id, ok := t.uniq[i][v]; ok {
						return id, ""
					}
					return 0, notFound
				}
			}
		}
	}
	found := 0
	for _, id := range t.ids {
		o := t.byID[id]
		if matchAttrs(o, attrs) {
			if found != 0 {
				return 0, "Multiple objects match the provided attributes: " + pyRepr(attrs)
			}
			found = id
		}
	}
	if found == 0 {
		return 0, notFound
	}
	return found, ""
}

func matchAttrs(o *object, attrs map[string]any) bool {
	for k, v := range attrs {
		if k == "id" {
			if id, ok := toInt(v); !ok || id != o.id {
				return false
			}
			continue
		}
		have, ok := o.f[k]
		if !ok {
			return false
		}
		if toString(have) != toString(v) || (have == nil) != (v == nil) {
			return false
		}
	}
	return true
}

// resolveTags turns tags given as ids or {"name"}/{"slug"} dicts into sorted tag ids.
func (w *writeCtx) resolveTags(v any) ([]int, string) {
	list, ok := v.([]any)
	if v == nil {
		return nil, "This field may not be null."
	}
	if !ok {
		return nil, fmt.Sprintf("Expected a list of items but got type %q.", pyType(v))
	}
	t := w.s.tables[pathTags]
	var ids []int
	for _, item := range list {
		switch x := item.(type) {
		case float64:
			id, _ := toInt(x)
			if t.byID[id] == nil {
				return nil, invalidPK(id)
			}
			ids = append(ids, id)
		case map[string]any:
			id, msg := w.lookup(pathTags, x)
			if msg != "" {
				return nil, msg
			}
			ids = append(ids, id)
		default:
			return nil, fmt.Sprintf("Incorrect type. Expected pk value, received %s.", pyType(item))
		}
	}
	sort.Ints(ids)
	return slices.Compact(ids), ""
}

// writeOne validates body against schema (relaxed as the real server is) and the model's
// rules, and stores the created or updated object in the transaction.
func (w *writeCtx) writeOne(def *endpoint, old *object, body map[string]any, schema *openapi3.Schema) (*object, fieldErrors) {
	es := w.spec.eps[def.path]
	errs := fieldErrors{}
	vbody := make(map[string]any, len(body))
	var tags []int
	tagsGiven := false
	for name, v := range body {
		vbody[name] = v
		prop := es.writable[name]
		if name == "tags" && prop != nil {
			ids, msg := w.resolveTags(v)
			if msg != "" {
				errs.add("tags", msg)
			}
			// A tag restricted to some object types cannot go on others; NetBox's
			// TaggableModelSerializer answers this one as a bare detail.
			for _, id := range ids {
				tag := w.s.tables[pathTags].byID[id]
				if tag == nil {
					continue
				}
				ots := asList(tag.f["object_types"])
				if len(ots) > 0 && !slices.ContainsFunc(ots, func(x any) bool { return toString(x) == def.objectType }) {
					errs["detail"] = fmt.Sprintf("Tag %s cannot be assigned to %s objects.", strField(tag, "slug"), def.verbose)
					break
				}
			}
			tags, tagsGiven = ids, true
			delete(vbody, "tags") // ids are valid too, though the spec only lists objects
			continue
		}
		if _, isMap := v.(map[string]any); isMap && name == "custom_fields" {
			delete(vbody, name) // checked against the defined custom fields below; null clears a value
			continue
		}
		if prop != nil && isRefSchema(prop) {
			switch x := v.(type) {
			case nil, map[string]any:
			case float64:
				if _, ok := toInt(x); !ok {
					errs.add(name, unrecognizedRef(v))
				}
			case string:
				n, err := strconv.Atoi(strings.TrimSpace(x))
				if err != nil {
					errs.add(name, unrecognizedRef(v))
					continue
				}
				vbody[name] = float64(n) // NetBox casts a numeric string to a pk
				continue
			default:
				errs.add(name, unrecognizedRef(v))
				continue
			}
		}
		if attrs, ok := v.(map[string]any); ok && prop != nil && isRefSchema(prop) {
			fk, known := def.fks[name]
			if !known {
				errs.add(name, "Related object not found using the provided attributes: "+pyRepr(attrs))
				continue
			}
			id, msg := w.lookup(fk.target, attrs)
			if msg != "" {
				errs.add(name, msg)
				continue
			}
			vbody[name] = float64(id)
		}
	}
	if fe := validateBody(schema, vbody); fe != nil {
		errs.merge(fe)
	}
	if len(errs) > 0 {
		return nil, errs
	}

	var o *object
	if old != nil {
		o = old.clone()
	} else {
		o = &object{ep: def, f: map[string]any{}, cf: map[string]any{}}
		for k, v := range def.defaults {
			o.f[k] = v
		}
	}
	var cfGiven map[string]any
	if cf, ok := body["custom_fields"].(map[string]any); ok && es.writable["custom_fields"] != nil {
		cfGiven = cf
	}
	for name, v := range vbody {
		prop := es.writable[name]
		if prop == nil {
			if name == "mac_address" && w.profile.writableInterfaceMAC() && (def.path == pathInterfaces || def.path == pathVMInterfaces) {
				if v == nil {
					w.setPendingMAC(o, nil)
					continue
				}
				s, _ := v.(string)
				mac, ok := normalizeMAC(s)
				if !ok {
					errs.add(name, "Invalid MAC address format: "+s)
					continue
				}
				w.setPendingMAC(o, &mac)
			}
			continue // read-only and unknown fields are ignored, as NetBox does
		}
		switch {
		case def.fks[name].target != "":
			if v == nil {
				delete(o.f, name)
				continue
			}
			id, _ := toInt(v)
			if w.s.tables[def.fks[name].target].byID[id] == nil {
				errs.add(name, refNotFound(prop, id))
				continue
			}
			o.f[name] = id
		case isRefSchema(prop):
			if v != nil {
				id, _ := toInt(v)
				errs.add(name, refNotFound(prop, id)) // a model the simulator does not have: no such object
			}
		case def.m2m[name].target != "":
			var ids []int
			for _, item := range asList(v) {
				id, _ := toInt(item)
				if w.s.tables[def.m2m[name].target].byID[id] == nil {
					errs.add(name, invalidPK(id))
				}
				ids = append(ids, id)
			}
			sort.Ints(ids)
			o.f[name] = slices.Compact(ids)
		case prop.Type.Is("array") && prop.Items != nil && prop.Items.Value != nil && prop.Items.Value.Type.Is("integer") && name != "ports":
			for _, item := range asList(v) {
				id, _ := toInt(item)
				errs.add(name, invalidPK(id))
			}
		case name == "custom_fields":
			cfGiven, _ = v.(map[string]any)
		case prop.Type.Is("integer"):
			if id, ok := toInt(v); ok {
				o.f[name] = id
			} else {
				o.f[name] = v
			}
		default:
			o.f[name] = v
		}
	}
	if tagsGiven {
		o.tags = tags
	}
	if len(errs) > 0 {
		return nil, errs
	}
	if def.path != pathCustomFields && def.path != pathTags {
		w.applyCustomFields(def, o, old == nil, cfGiven, errs)
	}
	if len(errs) > 0 {
		return nil, errs
	}
	if def.clean != nil {
		if fe := def.clean(w, o, old); len(fe) > 0 {
			return nil, fe
		}
	}
	if old == nil {
		t := w.s.tables[def.path]
		o.id = t.nextID
	}
	t := w.s.tables[def.path]
	for i, rule := range def.unique {
		if !rule.applies(w.profile) {
			continue
		}
		if k := uniqueKey(rule, o); k != "" {
			if id, ok := t.uniq[i][k]; ok && id != o.id {
				if rule.field != "" {
					errs.add(rule.field, rule.msg)
				} else {
					errs.add("__all__", rule.msg)
				}
			}
		}
	}
	if len(errs) > 0 {
		return nil, errs
	}
	if old == nil {
		t.nextID++ // PostgreSQL sequences do not roll back either
		o.created = w.now
	}
	o.updated = w.now
	w.tx.put(o)
	if def.afterWrite != nil {
		def.afterWrite(w, o, old)
	}
	return o, nil
}

func (w *writeCtx) setPendingMAC(o *object, mac *string) {
	if w.pendingMAC == nil {
		w.pendingMAC = map[*object]*string{}
	}
	w.pendingMAC[o] = mac
}

var datePattern = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)

// applyCustomFields merges given custom field data into o and checks it against the
// custom fields defined for o's type.
func (w *writeCtx) applyCustomFields(def *endpoint, o *object, creating bool, given map[string]any, errs fieldErrors) {
	defs := map[string]*object{}
	for _, cf := range w.s.customFieldsFor(def.objectType) {
		defs[strField(cf, "name")] = cf
	}
	nested := map[string]any{}
	report := func(name, msg4x3, msg string) {
		if w.profile.nestedCustomFieldErrors() {
			nested[name] = []string{msg}
		} else {
			errs.add("__all__", msg4x3)
		}
	}
	names := make([]string, 0, len(given))
	for n := range given {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		v := given[name]
		cf := defs[name]
		if cf == nil {
			msg := fmt.Sprintf("Unknown field name '%s' in custom field data.", name)
			report(name, msg, msg)
			continue
		}
		if v == nil {
			o.cf[name] = nil
			continue
		}
		nv, problem := checkCFValue(strField(cf, "type"), v)
		if problem == "" {
			problem = checkCFValidation(cf, nv)
		}
		if problem != "" {
			report(name, fmt.Sprintf("Invalid value for custom field '%s': %s", name, problem), problem)
			continue
		}
		o.cf[name] = nv
	}
	if creating {
		for name, cf := range defs {
			if _, ok := o.cf[name]; !ok {
				if d, ok := cf.f["default"]; ok && d != nil {
					o.cf[name] = d
				}
			}
		}
	}
	for _, name := range sortedKeys(defs) {
		cf := defs[name]
		if b, _ := cf.f["required"].(bool); b && o.cf[name] == nil {
			msg := fmt.Sprintf("Missing required custom field '%s'.", name)
			report(name, msg, "This field is required.")
		}
	}
	if len(nested) > 0 {
		errs["custom_fields"] = nested
	}
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func checkCFValue(typ string, v any) (any, string) {
	switch typ {
	case "text", "longtext", "url", "select":
		if _, ok := v.(string); !ok {
			return nil, "Value must be a string."
		}
	case "integer":
		i, ok := toInt(v)
		if !ok {
			return nil, "Value must be an integer."
		}
		return i, ""
	case "decimal":
		if _, ok := toFloat(v); !ok {
			return nil, "Value must be a decimal."
		}
	case "boolean":
		if _, ok := v.(bool); !ok {
			return nil, "Value must be true or false."
		}
	case "date":
		s, ok := v.(string)
		if !ok || !datePattern.MatchString(s) {
			return nil, "Date values must be in ISO 8601 format (YYYY-MM-DD)."
		}
		if _, err := time.Parse("2006-01-02", s); err != nil {
			return nil, "Date values must be in ISO 8601 format (YYYY-MM-DD)."
		}
	case "datetime":
		s, ok := v.(string)
		if !ok || parseTime(s).IsZero() {
			return nil, "Date and time values must be in ISO 8601 format (YYYY-MM-DD HH:MM:SS)."
		}
	case "multiselect", "multiobject":
		if _, ok := v.([]any); !ok {
			return nil, "Value must be a list."
		}
	}
	return v, ""
}

func parseTime(s string) time.Time {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02 15:04:05", "2006-01-02T15:04:05.999999", "2006-01-02 15:04:05.999999Z07:00", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t
		}
	}
	return time.Time{}
}

// deleteObj deletes one object and applies NetBox's on-delete rules to what refers to it.
// Objects that PROTECT it are collected in protected (the caller then rolls back).
func (w *writeCtx) deleteObj(t *table, id int, protected *[]*object, deleted map[*object]bool) {
	o := t.byID[id]
	if o == nil || deleted[o] {
		return
	}
	deleted[o] = true
	for _, rel := range w.s.relsTo[t.ep.path] {
		for _, rid := range rel.from.referrers(rel.key, id) {
			ro := rel.from.byID[rid]
			if ro == nil || deleted[ro] {
				continue
			}
			switch rel.del {
			case protect:
				*protected = append(*protected, ro)
			case cascade:
				w.deleteObj(rel.from, rid, protected, deleted)
			case setNull, removeRef:
				c := ro.clone()
				switch {
				case rel.key == "tags":
					c.tags = slices.DeleteFunc(c.tags, func(x int) bool { return x == id })
				case strings.HasPrefix(rel.key, "gfk:"):
					delete(c.f, c.ep.gfk.typeField)
					delete(c.f, c.ep.gfk.idField)
				case rel.del == removeRef:
					c.f[rel.key] = slices.DeleteFunc(slices.Clone(intsField(c, rel.key)), func(x int) bool { return x == id })
				default:
					delete(c.f, rel.key)
				}
				w.tx.put(c) // SET_NULL is a queryset update: last_updated is not touched
			}
		}
	}
	w.tx.del(t, id)
	if t.ep.afterDelete != nil {
		t.ep.afterDelete(w, o)
	}
}

// syncVMDisk keeps a VM's disk equal to the sum of its virtual disks, as NetBox's signal
// does (a queryset update: last_updated is not touched).
func (w *writeCtx) syncVMDisk(disks ...*object) {
	vms := w.s.tables[pathVMs]
	dt := w.s.tables[pathVirtualDisks]
	seen := map[int]bool{}
	for _, d := range disks {
		if d == nil {
			continue
		}
		vmID := intField(d, "virtual_machine")
		if seen[vmID] || vms.byID[vmID] == nil {
			continue
		}
		seen[vmID] = true
		total, n := 0, 0
		for _, id := range dt.referrers("virtual_machine", vmID) {
			s, _ := toInt(dt.byID[id].f["size"])
			total += s
			n++
		}
		c := vms.byID[vmID].clone()
		if n == 0 {
			c.f["disk"] = nil
		} else {
			c.f["disk"] = total
		}
		w.tx.put(c)
	}
}

func afterInterfaceWrite(ct string) func(w *writeCtx, o, old *object) {
	return func(w *writeCtx, o, old *object) {
		mac, ok := w.pendingMAC[o]
		if !ok {
			return
		}
		delete(w.pendingMAC, o)
		c := w.s.tables[o.ep.path].byID[o.id].clone()
		if mac == nil {
			delete(c.f, "primary_mac_address")
			w.tx.put(c)
			return
		}
		macs := w.s.tables[pathMACs]
		for _, id := range macs.referrers("gfk:"+ct, o.id) {
			if strField(macs.byID[id], "mac_address") == *mac {
				c.f["primary_mac_address"] = id
				w.tx.put(c)
				return
			}
		}
		m := &object{ep: macs.ep, id: macs.nextID, f: map[string]any{
			"mac_address": *mac, "assigned_object_type": ct, "assigned_object_id": o.id, "description": "", "comments": "",
		}, cf: map[string]any{}, created: w.now, updated: w.now}
		macs.nextID++
		w.tx.put(m)
		c.f["primary_mac_address"] = m.id
		w.tx.put(c)
	}
}

var hexDigits = regexp.MustCompile(`^[0-9a-fA-F]{12}$`)

// normalizeMAC writes a MAC address as NetBox stores it (AA:BB:CC:DD:EE:FF).
func normalizeMAC(s string) (string, bool) {
	h := strings.NewReplacer(":", "", "-", "", ".", "").Replace(strings.TrimSpace(s))
	if !hexDigits.MatchString(h) {
		return "", false
	}
	h = strings.ToUpper(h)
	parts := make([]string, 6)
	for i := range parts {
		parts[i] = h[2*i : 2*i+2]
	}
	return strings.Join(parts, ":"), true
}

// checkGFK checks a generic reference (content type + id).
func (w *writeCtx) checkGFK(g *gfkDef, o *object, errs fieldErrors) {
	ct := strField(o, g.typeField)
	id := intField(o, g.idField)
	if ct == "" && id == 0 {
		delete(o.f, g.typeField)
		delete(o.f, g.idField)
		return
	}
	target, ok := g.targets[ct]
	if !ok {
		errs.add(g.typeField, fmt.Sprintf("Invalid content type: %s", ct))
		return
	}
	if w.s.tables[target].byID[id] == nil {
		errs.add(g.idField, invalidPK(id))
	}
}

func parentOfIface(w *writeCtx, ct string, id int) (string, int) {
	switch ct {
	case "dcim.interface":
		if i := w.s.tables[pathInterfaces].byID[id]; i != nil {
			return pathDevices, intField(i, "device")
		}
	case "virtualization.vminterface":
		if i := w.s.tables[pathVMInterfaces].byID[id]; i != nil {
			return pathVMs, intField(i, "virtual_machine")
		}
	}
	return "", 0
}

func cleanIP(w *writeCtx, o, old *object) fieldErrors {
	errs := fieldErrors{}
	addr := strField(o, "address")
	if !strings.Contains(addr, "/") {
		if strings.Contains(addr, ":") {
			addr += "/128"
		} else {
			addr += "/32"
		}
	}
	p, err := netip.ParsePrefix(addr)
	if err != nil {
		errs.add("address", "Enter a valid IPv4 or IPv6 address with optional mask.")
		return errs
	}
	if p.Bits() == 0 {
		errs.add("address", "Cannot create IP address with /0 mask.")
		return errs
	}
	o.f["address"] = p.String()
	w.checkGFK(o.ep.gfk, o, errs)
	if len(errs) > 0 {
		return errs
	}
	// IPAddress.clean(): a network ID (or an IPv4 broadcast) may not sit on an interface,
	// except in /31, /32, /127 and /128.
	if strField(o, "assigned_object_type") != "" && intField(o, "assigned_object_id") != 0 {
		ip, bits := p.Addr(), p.Bits()
		if ip == p.Masked().Addr() && ((ip.Is4() && bits < 31) || (ip.Is6() && bits < 127)) {
			errs.add("__all__", ip.String()+" is a network ID, which may not be assigned to an interface.")
			return errs
		}
		if ip.Is4() && bits < 31 && ip == broadcast4(p) {
			errs.add("__all__", ip.String()+" is a broadcast address, which may not be assigned to an interface.")
			return errs
		}
	}
	// ENFORCE_GLOBAL_UNIQUE (on by default): one host once in the global table (the
	// simulator has no VRFs), unless every copy has a non-unique role (anycast, VIP, ...).
	nonUnique := func(role string) bool {
		switch role {
		case "anycast", "vip", "vrrp", "hsrp", "glbp", "carp":
			return true
		}
		return false
	}
	ips := w.s.tables[pathIPs]
	host := p.Addr().String()
	for _, id := range ips.ids {
		d := ips.byID[id]
		if d == nil || id == o.id || hostOf(strField(d, "address")) != host {
			continue
		}
		if !nonUnique(strField(o, "role")) || !nonUnique(strField(d, "role")) {
			errs.add("address", fmt.Sprintf("Duplicate IP address found in global table: %s", strField(d, "address")))
			return errs
		}
	}
	if strField(o, "status") == "slaac" && p.Addr().Is4() {
		errs.add("status", "Only IPv6 addresses can be assigned SLAAC status")
		return errs
	}
	if old != nil {
		oldCT, oldID := strField(old, "assigned_object_type"), intField(old, "assigned_object_id")
		if oldCT != strField(o, "assigned_object_type") || oldID != intField(o, "assigned_object_id") {
			if pt, pid := parentOfIface(w, oldCT, oldID); pid != 0 {
				// Moving to another interface of the same device or VM is allowed: NetBox
				// refuses only a change of parent object.
				npt, npid := parentOfIface(w, strField(o, "assigned_object_type"), intField(o, "assigned_object_id"))
				if parent := w.s.tables[pt].byID[pid]; parent != nil && (npt != pt || npid != pid) &&
					(intField(parent, "primary_ip4") == o.id || intField(parent, "primary_ip6") == o.id) {
					errs.add("__all__", "Cannot reassign IP address while it is designated as the primary IP for the parent object")
				}
			}
		}
	}
	return errs
}

func broadcast4(p netip.Prefix) netip.Addr {
	a := p.Masked().Addr().As4()
	host := uint32(1)<<(32-p.Bits()) - 1
	v := uint32(a[0])<<24 | uint32(a[1])<<16 | uint32(a[2])<<8 | uint32(a[3])
	v |= host
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

func cleanMAC(w *writeCtx, o, old *object) fieldErrors {
	errs := fieldErrors{}
	mac, ok := normalizeMAC(strField(o, "mac_address"))
	if !ok {
		errs.add("mac_address", "Invalid MAC address format: "+strField(o, "mac_address"))
		return errs
	}
	o.f["mac_address"] = mac
	w.checkGFK(o.ep.gfk, o, errs)
	if len(errs) > 0 {
		return errs
	}
	if old != nil {
		oldCT, oldID := strField(old, "assigned_object_type"), intField(old, "assigned_object_id")
		if oldCT != strField(o, "assigned_object_type") || oldID != intField(o, "assigned_object_id") {
			if target := ifaceTargets[oldCT]; target != "" {
				if iface := w.s.tables[target].byID[oldID]; iface != nil && intField(iface, "primary_mac_address") == o.id {
					errs.add("__all__", "Cannot unassign MAC Address while it is designated as the primary MAC for an object")
				}
			}
		}
	}
	return errs
}

func cleanInterface(parentField string) func(w *writeCtx, o, old *object) fieldErrors {
	return func(w *writeCtx, o, old *object) fieldErrors {
		errs := fieldErrors{}
		t := w.s.tables[o.ep.path]
		parent := intField(o, parentField)
		for _, f := range []string{"parent", "bridge", "lag"} {
			id := intField(o, f)
			if id == 0 {
				continue
			}
			other := t.byID[id]
			if old != nil && id == old.id {
				errs.add(f, "An interface cannot be its own "+f+".")
			} else if other != nil && intField(other, parentField) != parent {
				errs.add(f, fmt.Sprintf("The selected %s interface (%s) belongs to a different %s.", f, strField(other, "name"),
					strings.ReplaceAll(parentField, "_", " ")))
			}
		}
		if id := intField(o, "primary_mac_address"); id != 0 {
			m := w.s.tables[pathMACs].byID[id]
			if old == nil || m == nil || strField(m, "assigned_object_type") != o.ep.objectType || intField(m, "assigned_object_id") != old.id {
				errs.add("primary_mac_address", fmt.Sprintf("MAC address %s is not assigned to this interface.", strField(m, "mac_address")))
			}
		}
		return errs
	}
}

// checkPrimaryIPs enforces that primary IPs are of the right family and assigned to one
// of the object's interfaces.
func checkPrimaryIPs(w *writeCtx, o *object, fields []string, ifaceCT, parentField, what string, errs fieldErrors) {
	ips := w.s.tables[pathIPs]
	for _, f := range fields {
		id := intField(o, f)
		if id == 0 {
			continue
		}
		ip := ips.byID[id]
		addr := strField(ip, "address")
		v6 := strings.Contains(addr, ":")
		if f == "primary_ip4" && v6 {
			errs.add(f, addr+" is not an IPv4 address.")
			continue
		}
		if f == "primary_ip6" && !v6 {
			errs.add(f, addr+" is not an IPv6 address.")
			continue
		}
		ok := false
		// Device.clean() also accepts the NAT outside address of an IP of the device.
		for _, cand := range []*object{ip, ips.byID[intField(ip, "nat_inside")]} {
			if cand != nil && strField(cand, "assigned_object_type") == ifaceCT {
				if _, pid := parentOfIface(w, ifaceCT, intField(cand, "assigned_object_id")); pid != 0 && pid == o.id {
					ok = true
				}
			}
		}
		if !ok {
			errs.add(f, fmt.Sprintf("The specified IP address (%s) is not assigned to this %s.", addr, what))
		}
	}
}

func cleanDevice(w *writeCtx, o, old *object) fieldErrors {
	errs := fieldErrors{}
	if loc := intField(o, "location"); loc != 0 {
		l := w.s.tables[pathLocations].byID[loc]
		if intField(l, "site") != intField(o, "site") {
			site := w.s.tables[pathSites].byID[intField(o, "site")]
			errs.add("location", fmt.Sprintf("Location \"%s\" does not belong to site \"%s\".", strField(l, "name"), strField(site, "name")))
		}
	}
	if n := strField(o, "name"); n == "" {
		if _, ok := o.f["name"]; ok {
			o.f["name"] = nil // NetBox stores a blank name as NULL
		}
	}
	if at, ok := o.f["asset_tag"].(string); ok && at == "" {
		o.f["asset_tag"] = nil
	}
	// Device.clean(): a cluster scoped to a site must be the device's site.
	if cl := w.s.tables[pathClusters].byID[intField(o, "cluster")]; cl != nil && strField(cl, "scope_type") == "dcim.site" &&
		intField(cl, "scope_id") != intField(o, "site") {
		site := w.s.tables[pathSites].byID[intField(o, "site")]
		errs.add("cluster", fmt.Sprintf("The assigned cluster belongs to a different site (%s)", strField(site, "name")))
	}
	checkPrimaryIPs(w, o, []string{"primary_ip4", "primary_ip6", "oob_ip"}, "dcim.interface", "device", "device", errs)
	return errs
}

func cleanVM(w *writeCtx, o, old *object) fieldErrors {
	errs := fieldErrors{}
	// VirtualMachine.clean(): a VM takes its cluster's site; a different site, or a host
	// device outside the cluster, is refused.
	if cl := w.s.tables[pathClusters].byID[intField(o, "cluster")]; cl != nil {
		clSite := 0
		if strField(cl, "scope_type") == "dcim.site" {
			clSite = intField(cl, "scope_id")
		}
		if clSite != 0 && intField(o, "site") == 0 {
			o.f["site"] = clSite
		} else if clSite != 0 && intField(o, "site") != clSite {
			site := w.s.tables[pathSites].byID[intField(o, "site")]
			errs.add("cluster", fmt.Sprintf("The selected cluster (%s) is not assigned to this site (%s).", strField(cl, "name"), strField(site, "name")))
		}
		if dev := w.s.tables[pathDevices].byID[intField(o, "device")]; dev != nil && intField(dev, "cluster") != cl.id {
			errs.add("device", fmt.Sprintf("The selected device (%s) is not assigned to this cluster (%s).", strField(dev, "name"), strField(cl, "name")))
		}
	}
	if intField(o, "site") == 0 && intField(o, "cluster") == 0 {
		if !w.profile.standaloneVMs() {
			errs.add("cluster", "A virtual machine must be assigned to a site and/or cluster.")
		} else if intField(o, "device") == 0 {
			errs.add("__all__", "A virtual machine must be assigned to a site, cluster or device.")
		}
	}
	if old != nil {
		dt := w.s.tables[pathVirtualDisks]
		total := 0
		for _, id := range dt.referrers("virtual_machine", o.id) {
			s, _ := toInt(dt.byID[id].f["size"])
			total += s
		}
		disk, hasDisk := toInt(o.f["disk"])
		if total != 0 && o.f["disk"] == nil {
			o.f["disk"] = total
		} else if total != 0 && (!hasDisk || disk != total) {
			errs.add("disk", fmt.Sprintf("The specified disk size (%s) must match the aggregate size of assigned virtual disks (%d).",
				toString(o.f["disk"]), total))
		}
	}
	checkPrimaryIPs(w, o, []string{"primary_ip4", "primary_ip6"}, "virtualization.vminterface", "virtual_machine", "VM", errs)
	return errs
}

func cleanLocation(w *writeCtx, o, old *object) fieldErrors {
	errs := fieldErrors{}
	if p := intField(o, "parent"); p != 0 {
		parent := w.s.tables[pathLocations].byID[p]
		if intField(parent, "site") != intField(o, "site") {
			errs.add("parent", fmt.Sprintf("Parent location (%s) must belong to the same site (%d).", strField(parent, "name"), intField(o, "site")))
		}
	}
	return errs
}

func cleanService(w *writeCtx, o, old *object) fieldErrors {
	errs := fieldErrors{}
	w.checkGFK(o.ep.gfk, o, errs)
	return errs
}

var cfName = regexp.MustCompile(`^[a-z0-9_]+$`)

func cleanCustomField(w *writeCtx, o, old *object) fieldErrors {
	errs := fieldErrors{}
	name := strField(o, "name")
	switch {
	case !cfName.MatchString(name):
		errs.add("name", "Only alphanumeric characters and underscores are allowed.")
	case strings.Contains(name, "__"):
		errs.add("name", "Double underscores are not permitted in custom field names.")
	}
	for _, ot := range cfObjectTypes(o) {
		if w.s.byType[ot] == nil && !strings.Contains(ot, ".") {
			errs.add("object_types", fmt.Sprintf("Invalid object type: %s", ot))
		}
	}
	return errs
}

// renameCustomFieldData moves a renamed custom field's data to the new name, as NetBox does.
func (w *writeCtx) renameCustomFieldData(cf, old *object) {
	if old == nil || strField(old, "name") == strField(cf, "name") {
		return
	}
	from, to := strField(old, "name"), strField(cf, "name")
	for _, ot := range cfObjectTypes(old) {
		t := w.s.byType[ot]
		if t == nil {
			continue
		}
		for _, id := range t.ids {
			o := t.byID[id]
			if v, ok := o.cf[from]; ok {
				c := o.clone()
				delete(c.cf, from)
				c.cf[to] = v
				w.tx.put(c)
			}
		}
	}
}

// dropCustomFieldData removes a deleted custom field's data from objects, as NetBox does.
func (w *writeCtx) dropCustomFieldData(cf *object) {
	name := strField(cf, "name")
	for _, ot := range cfObjectTypes(cf) {
		t := w.s.byType[ot]
		if t == nil {
			continue
		}
		for _, id := range t.ids {
			o := t.byID[id]
			if _, ok := o.cf[name]; ok {
				c := o.clone()
				delete(c.cf, name)
				w.tx.put(c)
			}
		}
	}
}

func itoa(i int) string { return strconv.Itoa(i) }

// checkCFValidation applies a custom field's validation_minimum, validation_maximum and
// validation_regex (CustomField.validate()).
func checkCFValidation(cf *object, v any) string {
	switch strField(cf, "type") {
	case "integer", "decimal":
		n, ok := toFloat(v)
		if !ok {
			return ""
		}
		if lo, ok := toFloat(cf.f["validation_minimum"]); ok && cf.f["validation_minimum"] != nil && n < lo {
			return fmt.Sprintf("Value must be at least %s", toString(cf.f["validation_minimum"]))
		}
		if hi, ok := toFloat(cf.f["validation_maximum"]); ok && cf.f["validation_maximum"] != nil && n > hi {
			return fmt.Sprintf("Value must not exceed %s", toString(cf.f["validation_maximum"]))
		}
	case "text", "longtext", "url":
		re := strField(cf, "validation_regex")
		if re == "" {
			return ""
		}
		rx, err := regexp.Compile(re)
		if err != nil {
			return ""
		}
		if !rx.MatchString(toString(v)) {
			return fmt.Sprintf("Value must match regex '%s'", re)
		}
	}
	return ""
}
