package proxmoxtest

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// loadReturns reads testdata/pve-api-returns.json: the GET return schemas of the endpoints the
// proxmox adapter reads, taken from Proxmox's own API description (pve-docs
// api-viewer/apidata.js; the file names the commit). The simulator is held to it, not to our
// reading of Proxmox.
func loadReturns(t *testing.T) APISchema {
	t.Helper()
	r, err := LoadAPISchema("testdata/pve-api-returns.json")
	if err != nil {
		t.Fatal(err)
	}
	return r
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
	qga, err := LoadAPISchema("testdata/qga-returns.json")
	if err != nil {
		t.Fatal(err)
	}
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
				problems := CheckSchema(schema, env.Data, "data")
				if q, ok := qga.Returns[schemaPath]; ok {
					problems = append(problems, CheckSchema(q, env.Data, "data")...)
				}
				for _, p := range problems {
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
