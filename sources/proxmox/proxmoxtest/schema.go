package proxmoxtest

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// APISchema holds GET return schemas by API path ("/cluster/resources", with {node} and {vmid}
// placeholders), in the JSON form of pve-docs api-viewer/apidata.js: type, properties,
// optional, items, enum, format (a property string's keys when it is an object), ...
type APISchema struct {
	Origin  string                    `json:"origin"`
	Returns map[string]map[string]any `json:"returns"`
}

// LoadAPISchema reads a schema file such as testdata/pve-api-returns.json.
func LoadAPISchema(path string) (APISchema, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return APISchema{}, fmt.Errorf("API schema: %w", err)
	}
	var s APISchema
	if err := json.Unmarshal(raw, &s); err != nil {
		return APISchema{}, fmt.Errorf("API schema %s: %w", path, err)
	}
	if len(s.Returns) == 0 {
		return APISchema{}, fmt.Errorf("API schema %s: no returns", path)
	}
	return s, nil
}

// MatchPath tells whether a request path ("/nodes/pve1/qemu/100/config") is an instance of a
// schema path ("/nodes/{node}/qemu/{vmid}/config").
func MatchPath(schemaPath, path string) bool {
	sp := strings.Split(strings.Trim(schemaPath, "/"), "/")
	p := strings.Split(strings.Trim(path, "/"), "/")
	if len(sp) != len(p) {
		return false
	}
	for i := range sp {
		if sp[i] != p[i] && !(strings.HasPrefix(sp[i], "{") && strings.HasSuffix(sp[i], "}")) {
			return false
		}
	}
	return true
}

// CheckSchema validates v (decoded JSON) against a PVE JSON schema (the subset apidata uses:
// type, properties, optional, items, enum, additionalProperties) and returns one line per
// problem, with the path. Integers and numbers may come as numeric strings: PVE's JSON encoder
// writes a Perl scalar that was last used as a string as a string. Booleans are 0/1 or JSON
// booleans.
func CheckSchema(schema map[string]any, v any, path string) []string {
	var out []string
	typ, _ := schema["type"].(string)
	bad := func(want string) []string { return []string{fmt.Sprintf("%s: want %s, got %T %v", path, want, v, v)} }
	switch typ {
	case "object":
		m, ok := v.(map[string]any)
		if !ok {
			return bad("object")
		}
		props, _ := schema["properties"].(map[string]any)
		names := make([]string, 0, len(props))
		for n := range props {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			ps, _ := props[n].(map[string]any)
			sub, present := m[n]
			if !present {
				if opt, _ := ps["optional"].(float64); opt != 1 {
					out = append(out, fmt.Sprintf("%s.%s: required by the schema, absent", path, n))
				}
				continue
			}
			out = append(out, CheckSchema(ps, sub, path+"."+n)...)
		}
		if ap, ok := schema["additionalProperties"].(float64); ok && ap == 0 && len(props) > 0 {
			for k := range m {
				if _, ok := props[k]; !ok {
					out = append(out, fmt.Sprintf("%s.%s: not in the schema (additionalProperties 0)", path, k))
				}
			}
		}
	case "array":
		l, ok := v.([]any)
		if !ok {
			return bad("array")
		}
		items, _ := schema["items"].(map[string]any)
		for i, e := range l {
			if items != nil {
				out = append(out, CheckSchema(items, e, fmt.Sprintf("%s[%d]", path, i))...)
			}
		}
	case "string":
		s, ok := v.(string)
		if !ok {
			return bad("string")
		}
		if enum, ok := schema["enum"].([]any); ok && !slices.Contains(enum, any(s)) {
			out = append(out, fmt.Sprintf("%s: %q is not one of %v", path, s, enum))
		}
	case "integer", "number":
		f, ok := v.(float64)
		if s, isStr := v.(string); isStr {
			var err error
			f, err = strconv.ParseFloat(s, 64)
			ok = err == nil
		}
		if !ok || (typ == "integer" && f != math.Trunc(f)) {
			return bad(typ)
		}
	case "boolean":
		switch x := v.(type) {
		case bool:
		case float64:
			if x != 0 && x != 1 {
				return bad("boolean (0 or 1)")
			}
		default:
			return bad("boolean")
		}
	}
	return out
}
