package netboxtest

import (
	"fmt"
	"math"
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
				if t.ep.path == pathIPs && (rel.key == "primary_ip4" || rel.key == "primary_ip6" || rel.key == "oob_ip") {
					// NetBox's clear_primary_ip signal saves the device or VM: logged, and
					// last_updated moves.
					c.updated = w.now
					w.tx.put(c)
					continue
				}
				w.tx.putQuiet(c) // SET_NULL is a queryset update: last_updated is not touched, nothing is logged
			}
		}
	}
	w.tx.del(t, id)
	if t.ep.afterDelete != nil {
		t.ep.afterDelete(w, o)
	}
}
