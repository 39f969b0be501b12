package proxmoxtest

import (
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// A Variant is one change of an endpoint's answers: a field absent, a number sent as a
// string, another enum value, a boolean as 0 or 1, a key of a property string ("net0":
// "virtio=...,bridge=vmbr0,tag=20") absent or changed. Variants from SchemaVariants are all
// allowed by the schema; SetValue makes one that may not be.
type Variant struct {
	Endpoint string // schema path: "/nodes/{node}/qemu/{vmid}/config"
	// Field is the field path in the schema: "[].vmid" (every element of a list),
	// "cpuinfo.cpus", "net[n]" (every net0, net1, ...), "net[n]:tag" (the key tag inside
	// that property string).
	Field string
	// Change is "absent", "string" (a number as its text), "enum=<value>", "bool=0",
	// "bool=1", "keyed" (a property string's default key or key alias written out) or
	// "set=<JSON>" (SetValue).
	Change string
	apply  func(v any) (any, bool)
}

// Name is "endpoint field change".
func (v Variant) Name() string { return v.Endpoint + " " + v.Field + " " + v.Change }

// Apply returns a changed copy of an answer's data (generic JSON) and whether anything
// changed; data itself is left alone.
func (v Variant) Apply(data any) (any, bool) {
	c := deepCopy(data)
	segs := fieldSegments(v.Field)
	changed := false
	if len(segs) == 0 {
		return c, false
	}
	walkField(c, segs[:len(segs)-1], func(m map[string]any) {
		for _, k := range matchingKeys(m, segs[len(segs)-1]) {
			nv, ok := v.apply(m[k])
			if !ok {
				continue
			}
			if nv == deleteMarker {
				delete(m, k)
			} else {
				m[k] = nv
			}
			changed = true
		}
	})
	return c, changed
}

// Rewrite is a server rewrite that applies the variant to every answer of its endpoint.
func (v Variant) Rewrite() Rewrite {
	return func(path string, data any) any {
		if !MatchPath(v.Endpoint, path) {
			return data
		}
		out, _ := v.Apply(data)
		return out
	}
}

type deleteType struct{}

var deleteMarker any = deleteType{}

// SchemaVariants lists the variants of an endpoint's answers that its schema allows, for every
// property of the schema (nested objects, list items and property-string keys included), and
// keeps those that change at least one of the sample answers.
func SchemaVariants(endpoint string, schema map[string]any, samples []any) []Variant {
	var all []Variant
	collectVariants(endpoint, schema, "", &all)
	var out []Variant
	for _, v := range all {
		for _, s := range samples {
			if _, changed := v.Apply(s); changed {
				out = append(out, v)
				break
			}
		}
	}
	return out
}

// SetValue is a variant that sets field to value (JSON-compatible); for a property-string key
// ("net[n]:tag") value is the key's text.
func SetValue(endpoint, field string, value any) Variant {
	b, _ := json.Marshal(value)
	v := Variant{Endpoint: endpoint, Field: field, Change: "set=" + string(b)}
	if outer, key, ok := strings.Cut(field, ":"); ok {
		v.Field = outer + ":" + key
		v.apply = func(cur any) (any, bool) {
			s, ok := cur.(string)
			if !ok {
				return nil, false
			}
			ps := parsePropString(s)
			for i := range ps {
				if ps[i].key == key {
					ps[i].val = fmt.Sprint(value)
					return ps.String(), true
				}
			}
			return ps.String() + "," + key + "=" + fmt.Sprint(value), true
		}
		return v
	}
	v.apply = func(any) (any, bool) { return deepCopy(value), true }
	return v
}

func collectVariants(endpoint string, schema map[string]any, field string, out *[]Variant) {
	add := func(change string, f func(any) (any, bool)) {
		*out = append(*out, Variant{Endpoint: endpoint, Field: field, Change: change, apply: f})
	}
	typ, _ := schema["type"].(string)
	if field != "" && !strings.HasSuffix(field, "[]") {
		if opt, _ := schema["optional"].(float64); opt == 1 {
			add("absent", func(any) (any, bool) { return deleteMarker, true })
		}
	}
	switch typ {
	case "object":
		props, _ := schema["properties"].(map[string]any)
		for _, name := range slices.Sorted(maps.Keys(props)) {
			ps, _ := props[name].(map[string]any)
			sub := name
			if field != "" {
				sub = field + "." + name
			}
			collectVariants(endpoint, ps, sub, out)
		}
	case "array":
		if items, ok := schema["items"].(map[string]any); ok {
			collectVariants(endpoint, items, field+"[]", out)
		}
	case "integer", "number":
		add("string", func(v any) (any, bool) {
			f, ok := v.(float64)
			if !ok {
				return nil, false
			}
			return strconv.FormatFloat(f, 'f', -1, 64), true
		})
	case "boolean":
		for _, b := range []float64{0, 1} {
			add(fmt.Sprintf("bool=%v", b), func(v any) (any, bool) {
				if v == any(b) {
					return nil, false
				}
				return b, true
			})
		}
	case "string":
		if enum, ok := schema["enum"].([]any); ok {
			for _, e := range enum {
				add(fmt.Sprintf("enum=%v", e), func(v any) (any, bool) {
					if v == e {
						return nil, false
					}
					return e, true
				})
			}
		}
		if format, ok := schema["format"].(map[string]any); ok {
			collectPropStringVariants(endpoint, field, format, out)
		}
	}
}

// collectPropStringVariants varies the keys of a property string ("virtio=MAC,bridge=vmbr0").
func collectPropStringVariants(endpoint, field string, format map[string]any, out *[]Variant) {
	for _, key := range slices.Sorted(maps.Keys(format)) {
		ks, _ := format[key].(map[string]any)
		if _, alias := ks["alias"]; alias {
			continue // another name of a key, varied under that key
		}
		f := field + ":" + key
		add := func(change string, fn func(ps propString, i int) bool) {
			*out = append(*out, Variant{Endpoint: endpoint, Field: f, Change: change, apply: func(v any) (any, bool) {
				s, ok := v.(string)
				if !ok {
					return nil, false
				}
				ps := parsePropString(s)
				i := ps.find(key, format)
				if i < 0 || !fn(ps, i) {
					return nil, false
				}
				return ps.String(), true
			}})
		}
		_, isDefault := ks["default_key"]
		if opt, _ := ks["optional"].(float64); opt == 1 {
			add("absent", func(ps propString, i int) bool {
				if ps[i].aliasOf != "" { // "virtio=MAC" without its MAC is "model=virtio"
					ps[i] = propPart{key: ps[i].aliasOf, val: ps[i].key}
					return true
				}
				ps[i].drop = true
				return true
			})
		}
		if isDefault || keyAliased(key, format) {
			add("keyed", func(ps propString, i int) bool {
				switch {
				case ps[i].bare:
					ps[i].bare = false
					return true
				case ps[i].aliasOf != "":
					model, mac := ps[i].key, ps[i].val
					ps[i] = propPart{key: ps[i].aliasOf, val: model}
					ps[i].extra = ps[i].extra + "," + aliasTarget(model, format) + "=" + mac
					return true
				}
				return false
			})
		}
		typ, _ := ks["type"].(string)
		switch {
		case typ == "boolean":
			for _, b := range []string{"0", "1"} {
				add("bool="+b, func(ps propString, i int) bool {
					if ps[i].val == b {
						return false
					}
					ps[i].val = b
					return true
				})
			}
		case ks["enum"] != nil:
			enum, _ := ks["enum"].([]any)
			for _, e := range enum {
				val := fmt.Sprint(e)
				add("enum="+val, func(ps propString, i int) bool {
					switch {
					case ps[i].aliasOf != "" && ps[i].key != val:
						ps[i].key = val
					case ps[i].aliasOf == "" && ps[i].val != val:
						ps[i].val = val
					default:
						return false
					}
					return true
				})
			}
		}
	}
}

// keyAliased: some key of the format is written as "<value of key>=<other>" (QEMU's
// "virtio=MAC" is model=virtio plus macaddr=MAC).
func keyAliased(key string, format map[string]any) bool {
	for _, k := range slices.Sorted(maps.Keys(format)) {
		if ks, _ := format[k].(map[string]any); ks["keyAlias"] == key {
			return true
		}
	}
	return false
}

func aliasTarget(aliasKey string, format map[string]any) string {
	ks, _ := format[aliasKey].(map[string]any)
	t, _ := ks["alias"].(string)
	return t
}

// propPart is one "key=value" of a property string; a bare value belongs to the default key.
type propPart struct {
	key, val string
	bare     bool
	aliasOf  string // "model" for "virtio=MAC"
	extra    string // text appended after the part (a key written out)
	drop     bool
}

type propString []propPart

func parsePropString(s string) propString {
	var ps propString
	for _, p := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(p, "=")
		if !ok {
			ps = append(ps, propPart{val: p, bare: true})
			continue
		}
		ps = append(ps, propPart{key: k, val: v})
	}
	return ps
}

// find returns the index of the part that holds key, or -1.
func (ps propString) find(key string, format map[string]any) int {
	for i, p := range ps {
		switch {
		case p.key == key && p.aliasOf == "":
			return i
		case p.bare:
			if ks, _ := format[key].(map[string]any); ks["default_key"] != nil {
				ps[i].key = key
				return i
			}
		default:
			ks, _ := format[p.key].(map[string]any)
			if ka, _ := ks["keyAlias"].(string); ka == key {
				ps[i].aliasOf = key
				return i
			}
			if a, _ := ks["alias"].(string); a == key && ks["keyAlias"] != nil {
				// the MAC of "virtio=MAC"
				ps[i].aliasOf = ks["keyAlias"].(string)
				return i
			}
		}
	}
	return -1
}

func (ps propString) String() string {
	var parts []string
	for _, p := range ps {
		switch {
		case p.drop:
			continue
		case p.bare:
			parts = append(parts, p.val+p.extra)
		default:
			parts = append(parts, p.key+"="+p.val+p.extra)
		}
	}
	return strings.Join(parts, ",")
}

// fieldSegments splits "[].ip-addresses[].prefix" into "[]", "ip-addresses", "[]", "prefix";
// a property-string key stays with its field ("net[n]:tag").
func fieldSegments(field string) []string {
	var segs []string
	for _, part := range strings.Split(field, ".") {
		for strings.HasPrefix(part, "[]") {
			segs = append(segs, "[]")
			part = part[2:]
		}
		name := part
		var tail int
		for strings.HasSuffix(name, "[]") {
			name = strings.TrimSuffix(name, "[]")
			tail++
		}
		if name != "" {
			segs = append(segs, name)
		}
		for range tail {
			segs = append(segs, "[]")
		}
	}
	return segs
}

// walkField calls f on every object reached by segs from v ("[]" enters every list element).
func walkField(v any, segs []string, f func(map[string]any)) {
	if len(segs) == 0 {
		if m, ok := v.(map[string]any); ok {
			f(m)
		}
		return
	}
	if segs[0] == "[]" {
		if l, ok := v.([]any); ok {
			for _, e := range l {
				walkField(e, segs[1:], f)
			}
		}
		return
	}
	m, ok := v.(map[string]any)
	if !ok {
		return
	}
	for _, k := range matchingKeys(m, segs[0]) {
		walkField(m[k], segs[1:], f)
	}
}

// matchingKeys: "net[n]" matches net0, net1, ...; "net[n]:tag" is the key net[n] (the value
// function handles tag).
func matchingKeys(m map[string]any, seg string) []string {
	name, _, _ := strings.Cut(seg, ":")
	if !strings.HasSuffix(name, "[n]") {
		if _, ok := m[name]; ok {
			return []string{name}
		}
		return nil
	}
	re := regexp.MustCompile(`^` + regexp.QuoteMeta(strings.TrimSuffix(name, "[n]")) + `\d+$`)
	var out []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		if re.MatchString(k) {
			out = append(out, k)
		}
	}
	return out
}

func deepCopy(v any) any {
	switch x := v.(type) {
	case map[string]any:
		c := make(map[string]any, len(x))
		for k, e := range x {
			c[k] = deepCopy(e)
		}
		return c
	case []any:
		c := make([]any, len(x))
		for i, e := range x {
			c[i] = deepCopy(e)
		}
		return c
	}
	if reflect.TypeOf(v) == nil {
		return nil
	}
	return v
}
