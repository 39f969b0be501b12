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
	"testing"
)

// pveReturns is testdata/pve-api-returns.json: the GET return schemas of the endpoints the
// proxmox adapter reads, taken from Proxmox's own API description (pve-docs
// api-viewer/apidata.js; the file names the commit). The simulator is held to it, not to our
// reading of Proxmox.
type pveReturns struct {
	Origin  string                    `json:"origin"`
	Returns map[string]map[string]any `json:"returns"`
}

func loadReturns(t *testing.T) pveReturns {
	t.Helper()
	raw, err := os.ReadFile("testdata/pve-api-returns.json")
	if err != nil {
		t.Fatal(err)
	}
	var r pveReturns
	if err := json.Unmarshal(raw, &r); err != nil {
		t.Fatalf("testdata/pve-api-returns.json: %v", err)
	}
	return r
}

// checkPVE validates v against a PVE JSON schema (the subset apidata uses: type, properties,
// optional, items, enum, additionalProperties) and returns one line per problem, with the
// path. Integers and numbers may come as numeric strings: PVE's JSON encoder writes a Perl
// scalar that was last used as a string as a string (the simulator's *AsString knobs).
func checkPVE(schema map[string]any, v any, path string) []string {
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
			out = append(out, checkPVE(ps, sub, path+"."+n)...)
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
				out = append(out, checkPVE(items, e, fmt.Sprintf("%s[%d]", path, i))...)
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

// knownSchemaGaps are differences from the published schema the simulator keeps, by schema
// path and field path, each with its reason. Keep this short.
var knownSchemaGaps = map[string]string{
	"/nodes/{node}/qemu/{vmid}/config data.memory": "apidata types memory as a string (a property string, [current=]<MiB>); " +
		"the simulator answers a number unless Guest.MemoryAsString, so the adapter is tested with both",
}

// TestAnswersValidateAgainstPVESchema asks the simulator every endpoint the adapter reads,
// for every node and guest of a generated lab and of the small hand-written lab (strings
// for numbers, stopped guests, agent states), and validates each answer's data.
func TestAnswersValidateAgainstPVESchema(t *testing.T) {
	ret := loadReturns(t)
	labs := map[string][]Option{
		"generated": {WithCluster("lab"), WithLab(GenerateLab(LabSpec{Nodes: 3, Guests: 24, Seed: 11}))},
		"small":     smallLab(),
	}
	checked := map[string]int{}
	for name, opts := range labs {
		t.Run(name, func(t *testing.T) {
			s := NewServer(opts...)
			defer s.Close()
			ask := func(schemaPath, path string) {
				t.Helper()
				schema, ok := ret.Returns[schemaPath]
				if !ok {
					t.Fatalf("no schema for %s in testdata", schemaPath)
				}
				code, body := get(t, s, path, goodAuth)
				if code != 200 {
					return // errors (a stopped guest's agent, an offline node) are not data
				}
				var env struct {
					Data any `json:"data"`
				}
				if err := json.Unmarshal([]byte(body), &env); err != nil {
					t.Errorf("GET %s: not JSON: %v", path, err)
					return
				}
				for _, p := range checkPVE(schema, env.Data, "data") {
					if reason, ok := knownSchemaGaps[schemaPath+" "+strings.SplitN(p, ":", 2)[0]]; ok {
						t.Logf("GET %s: %s (accepted: %s)", path, p, reason)
						continue
					}
					t.Errorf("GET %s (schema %s, %s): %s", path, schemaPath, ret.Origin[:40], p)
				}
				checked[schemaPath]++
			}
			for _, p := range []string{"/version", "/access/permissions", "/cluster/status", "/cluster/resources", "/nodes"} {
				ask(p, p)
			}
			_, body := get(t, s, "/cluster/resources", goodAuth)
			var res struct {
				Data []map[string]any `json:"data"`
			}
			if err := json.Unmarshal([]byte(body), &res); err != nil {
				t.Fatal(err)
			}
			for _, r := range res.Data {
				node, _ := r["node"].(string)
				switch typ, _ := r["type"].(string); typ {
				case "node":
					for _, what := range []string{"status", "network", "qemu", "lxc"} {
						ask("/nodes/{node}/"+what, "/nodes/"+node+"/"+what)
					}
				case "qemu", "lxc":
					vmid := fmt.Sprint(r["vmid"])
					base := "/nodes/" + node + "/" + typ + "/" + vmid
					ask("/nodes/{node}/"+typ+"/{vmid}/config", base+"/config")
					ask("/nodes/{node}/"+typ+"/{vmid}/status/current", base+"/status/current")
					if typ == "qemu" {
						ask("/nodes/{node}/qemu/{vmid}/agent/network-get-interfaces", base+"/agent/network-get-interfaces")
					} else {
						ask("/nodes/{node}/lxc/{vmid}/interfaces", base+"/interfaces")
					}
				}
			}
		})
	}
	// Every schema in testdata was exercised at least once with a 200, across the labs.
	for p := range ret.Returns {
		if checked[p] == 0 {
			t.Errorf("%s: no answer of the simulator was checked against it", p)
		}
	}
}
