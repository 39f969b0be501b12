package truenastest

import (
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"net/netip"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// apiModels are the Models a test validates answers against.
type apiModels struct{ Models }

func loadModels(t *testing.T) apiModels {
	t.Helper()
	m, err := LoadModels()
	if err != nil {
		t.Fatal(err)
	}
	return apiModels{m}
}

func (m apiModels) forVersion(t *testing.T, v string) apiModels {
	t.Helper()
	out, err := m.ForVersion(v)
	if err != nil {
		t.Fatal(err)
	}
	return apiModels{out}
}

// check validates v against schema (in the language Models describes; anyOf and oneOf are
// valid when any alternative is) and returns one line per problem, with the path.
func (m apiModels) check(schema map[string]any, v any, path string) []string {
	if ref, ok := schema["$ref"].(string); ok {
		def, ok := m.Definitions[ref]
		if !ok {
			return []string{fmt.Sprintf("%s: schema refers to missing definition %q", path, ref)}
		}
		return m.check(def, v, path)
	}
	for _, key := range []string{"anyOf", "oneOf"} {
		alts, ok := schema[key].([]any)
		if !ok {
			continue
		}
		var first []string
		for _, a := range alts {
			probs := m.check(a.(map[string]any), v, path)
			if len(probs) == 0 {
				return nil
			}
			if first == nil {
				first = probs
			}
		}
		return []string{fmt.Sprintf("%s: matches none of the %d alternatives (first: %s)", path, len(alts), strings.Join(first, "; "))}
	}
	var types []string
	switch t := schema["type"].(type) {
	case string:
		types = []string{t}
	case []any:
		for _, x := range t {
			types = append(types, x.(string))
		}
	}
	got := jsonType(v)
	if !typeAllowed(types, got) {
		return []string{fmt.Sprintf("%s: want %s, got %s %s", path, strings.Join(types, "|"), got, brief(v))}
	}
	var out []string
	if enum, ok := schema["enum"].([]any); ok && !slices.ContainsFunc(enum, func(e any) bool { return brief(e) == brief(v) }) {
		out = append(out, fmt.Sprintf("%s: %s is not one of %s", path, brief(v), brief(enum)))
	}
	switch x := v.(type) {
	case string:
		n := float64(utf8.RuneCountInString(x))
		if min, ok := schema["minLength"].(float64); ok && n < min {
			out = append(out, fmt.Sprintf("%s: %q shorter than %v", path, x, min))
		}
		if max, ok := schema["maxLength"].(float64); ok && n > max {
			out = append(out, fmt.Sprintf("%s: %q longer than %v", path, x, max))
		}
		if p, ok := schema["pattern"].(string); ok && !regexp.MustCompile(p).MatchString(x) {
			out = append(out, fmt.Sprintf("%s: %q does not match %s", path, x, p))
		}
		if f, _ := schema["format"].(string); f == "ip-or-empty" && x != "" {
			if _, err := netip.ParseAddr(x); err != nil {
				out = append(out, fmt.Sprintf("%s: %q is neither an IP address nor empty", path, x))
			}
		}
	case float64:
		if min, ok := schema["minimum"].(float64); ok && x < min {
			out = append(out, fmt.Sprintf("%s: %v below %v", path, x, min))
		}
		if max, ok := schema["maximum"].(float64); ok && x > max {
			out = append(out, fmt.Sprintf("%s: %v above %v", path, x, max))
		}
	case []any:
		if items, ok := schema["items"].(map[string]any); ok {
			for i, e := range x {
				out = append(out, m.check(items, e, fmt.Sprintf("%s[%d]", path, i))...)
			}
		}
	case map[string]any:
		if got == "datetime" {
			break
		}
		props, _ := schema["properties"].(map[string]any)
		for _, n := range slices.Sorted(maps.Keys(props)) {
			sub, present := x[n]
			if !present {
				continue
			}
			out = append(out, m.check(props[n].(map[string]any), sub, path+"."+n)...)
		}
		req, _ := schema["required"].([]any)
		for _, r := range req {
			if _, ok := x[r.(string)]; !ok {
				out = append(out, fmt.Sprintf("%s.%s: required by the model, absent", path, r))
			}
		}
		if open, _ := schema["additionalProperties"].(bool); !open && props != nil {
			for _, k := range slices.Sorted(maps.Keys(x)) {
				if _, ok := props[k]; !ok {
					out = append(out, fmt.Sprintf("%s.%s: not in the model (extra fields are forbidden)", path, k))
				}
			}
		}
	}
	return out
}

// jsonType names a decoded JSON value's type; a whole number is "integer", an object that is
// exactly {"$date": <integer>} is "datetime".
func jsonType(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case string:
		return "string"
	case float64:
		if x == math.Trunc(x) {
			return "integer"
		}
		return "number"
	case []any:
		return "array"
	case map[string]any:
		if d, ok := x["$date"].(float64); ok && len(x) == 1 && d == math.Trunc(d) {
			return "datetime"
		}
		return "object"
	}
	return fmt.Sprintf("%T", v)
}

func typeAllowed(types []string, got string) bool {
	if len(types) == 0 {
		return true
	}
	for _, t := range types {
		switch {
		case t == got, t == "any":
			return true
		case t == "number" && got == "integer":
			return true
		case t == "object" && got == "datetime":
			return true // a bare dict may hold anything, a date included
		}
	}
	return false
}

func brief(v any) string {
	b, _ := json.Marshal(v)
	if len(b) > 80 {
		return string(b[:80]) + "..."
	}
	return string(b)
}

func TestSchemaChecker(t *testing.T) {
	m := apiModels{Models{Definitions: map[string]map[string]any{
		"Alias": {"type": "object", "required": []any{"address"}, "properties": map[string]any{
			"address": map[string]any{"type": "string", "format": "ip-or-empty"},
			"netmask": map[string]any{"type": []any{"string", "integer"}}}},
	}}}
	schema := map[string]any{"type": "object", "required": []any{"name", "when"}, "properties": map[string]any{
		"name":    map[string]any{"type": "string", "minLength": 1.0, "pattern": "^[a-z]+$"},
		"when":    map[string]any{"type": []any{"datetime", "null"}},
		"mode":    map[string]any{"type": "string", "enum": []any{"A", "B"}},
		"port":    map[string]any{"type": []any{"integer", "null"}, "minimum": 1025.0},
		"aliases": map[string]any{"type": "array", "items": map[string]any{"$ref": "Alias"}},
		"user":    map[string]any{"anyOf": []any{map[string]any{"type": "null"}, map[string]any{"$ref": "Alias"}}},
		"free":    map[string]any{"type": "object", "additionalProperties": true},
	}}
	tests := []struct {
		in   string
		want []string
	}{
		{`{"name": "tank", "when": {"$date": 1795403565000}, "mode": "A", "port": 3260, "aliases": [{"address": "10.0.0.1", "netmask": 24}, {"address": "", "netmask": "255.0.0.0"}], "user": null, "free": {"x": 1}}`, nil},
		{`{"name": "tank", "when": null}`, nil},
		{`{"name": "", "when": 5}`, []string{`r.name: "" shorter than 1`, `r.name: "" does not match ^[a-z]+$`, "r.when: want datetime|null, got integer 5"}},
		{`{"when": null, "extra": 1}`, []string{"r.name: required by the model, absent", "r.extra: not in the model"}},
		{`{"name": "a", "when": {"$date": "soon"}}`, []string{"r.when: want datetime|null, got object"}},
		{`{"name": "a", "when": null, "mode": "C", "port": 80}`, []string{`r.mode: "C" is not one of ["A","B"]`, "r.port: 80 below 1025"}},
		{`{"name": "a", "when": null, "aliases": [{"netmask": 1.5}]}`, []string{"r.aliases[0].netmask: want string|integer, got number 1.5", "r.aliases[0].address: required"}},
		{`{"name": "a", "when": null, "aliases": [{"address": "nope"}]}`, []string{`r.aliases[0].address: "nope" is neither an IP address nor empty`}},
		{`{"name": "a", "when": null, "user": {"netmask": 8}}`, []string{"r.user: matches none of the 2 alternatives"}},
	}
	for _, tc := range tests {
		var v any
		if err := json.Unmarshal([]byte(tc.in), &v); err != nil {
			t.Fatal(err)
		}
		got := m.check(schema, v, "r")
		if len(got) != len(tc.want) {
			t.Errorf("%s:\n got %q\nwant %q", tc.in, got, tc.want)
			continue
		}
		for _, w := range tc.want {
			if !slices.ContainsFunc(got, func(g string) bool { return strings.HasPrefix(g, w) }) {
				t.Errorf("%s: no problem starting %q in %q", tc.in, w, got)
			}
		}
	}
}

// knownModelGaps are differences from the published models the simulator keeps, by method and
// problem path, each with its reason. Keep this short.
var knownModelGaps = map[string]string{}

// edgeState is a hand-written system with the shapes DefaultState lacks: a never-scrubbed
// pool, RAIDZ2 and stripes, a LAG, a bridge and an interface without address or MAC, a disk
// outside any pool, a file extent, a target without alias, a share with several paths, absent
// DMI strings (sent as null) and a long uptime.
func edgeState() State {
	st := DefaultState()
	st.System = System{Hostname: "edge-nas", PhysMem: 17_179_869_184, Cores: 4, Model: "Intel(R) Celeron(R) N5105",
		BootTime: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)}
	st.Network = NetworkConfig{Hostname: "edge-nas", Domain: "local"}
	st.Interfaces = []Interface{
		{Name: "eno1", Type: "PHYSICAL", MAC: "3c:ec:ef:00:00:01", Up: true},
		{Name: "eno2", Type: "PHYSICAL", MAC: "3c:ec:ef:00:00:02", Up: true},
		{Name: "bond0", Type: "LINK_AGGREGATION", MAC: "3c:ec:ef:00:00:01", Up: true, Members: []string{"eno1", "eno2"},
			Aliases: []Alias{{Type: "INET", Address: "172.16.5.9", Netmask: 22}}},
		{Name: "br0", Type: "BRIDGE", MAC: "3c:ec:ef:00:00:01", Up: true, Members: []string{"bond0"},
			Aliases: []Alias{{Type: "INET6", Address: "fd00:5::9", Netmask: 64}}},
		{Name: "vlan7", Type: "VLAN", VLANTag: 7},
	}
	st.Disks = append(st.Disks, Disk{Name: "sdz", Serial: "", Model: "", Size: 0, Type: "HDD"})
	st.Pools = []Pool{
		{ID: 7, Name: "vault", GUID: "42", Status: "ONLINE", Healthy: true, Size: 1 << 40, Allocated: 1 << 30, Free: 1<<40 - 1<<30,
			Vdevs: []Vdev{{Type: "RAIDZ2", Disks: []string{"sda", "sdb", "nvme0n1"}}, {Type: "DISK", Disks: []string{"sdz"}}}},
		{ID: 8, Name: "empty", GUID: "43", Status: "FAULTED", Healthy: false},
	}
	st.Datasets = []Dataset{
		{Name: "vault", Type: "FILESYSTEM", Used: 1 << 30, Available: 1 << 39},
		{Name: "vault/a/b/c", Type: "FILESYSTEM"},
		{Name: "vault/zv", Type: "VOLUME", Volsize: 1 << 33},
	}
	st.NFSShares = []NFSShare{{ID: 9, Paths: []string{"/mnt/vault/a", "/mnt/vault/a/b"}, Enabled: true}}
	st.SMBShares = []SMBShare{{ID: 4, Name: "vault", Path: "/mnt/vault/a", Enabled: false},
		{ID: 5, Name: "archive", Enabled: true, RemotePaths: []string{`nas2.lab.example\ARCHIVE`}}} // a DFS proxy
	st.ISCSITargets = []ISCSITarget{{ID: 2, Name: "iqn.2001-04.com.example:bare"}}
	st.ISCSIExtents = []ISCSIExtent{{ID: 3, Name: "file-extent", Type: "FILE", Path: "/mnt/vault/a/extent.img", Enabled: false}}
	return st
}

// TestAnswersValidateAgainstTrueNASModels asks the simulator every method the adapter reads,
// over the websocket (the API the models describe) as 25.10 and 26 and over REST as 25.10, for
// DefaultState and edgeState, and validates each answer against that release's models. Every model must be exercised at
// least once. 25.04 is left out: it has no models for system.info, interface.query and
// network.configuration.config, and its sharing.smb.query still had the legacy shape (ro, abe)
// the simulator keeps for it; CORE 13 and SCALE 24.10 predate the models altogether.
func TestAnswersValidateAgainstTrueNASModels(t *testing.T) {
	base := loadModels(t)
	byFlavour := map[Flavour]apiModels{Scale2510: base, TrueNAS26: base.forVersion(t, "26")}
	checked := map[string]int{}
	validate := func(t *testing.T, m apiModels, how, method string, result any) {
		t.Helper()
		schema, ok := m.Methods[method]
		if !ok {
			t.Fatalf("no model for %s in testdata", method)
		}
		for _, p := range m.check(schema, result, method) {
			if reason, ok := knownModelGaps[method+" "+strings.SplitN(p, ":", 2)[0]]; ok {
				t.Logf("%s %s: %s (accepted: %s)", how, method, p, reason)
				continue
			}
			t.Errorf("%s %s: %s", how, method, p)
		}
		checked[method]++
	}
	restPaths := map[string]string{
		"system.info": "system/info", "network.configuration.config": "network/configuration",
		"interface.query": "interface", "disk.query": "disk", "pool.query": "pool", "pool.dataset.query": "pool/dataset",
		"sharing.nfs.query": "sharing/nfs", "sharing.smb.query": "sharing/smb", "iscsi.global.config": "iscsi/global",
		"iscsi.target.query": "iscsi/target", "iscsi.extent.query": "iscsi/extent",
	}
	labs := map[string]State{"default": DefaultState(), "edges": edgeState()}
	for _, lab := range slices.Sorted(maps.Keys(labs)) {
		for _, fl := range []Flavour{Scale2510, TrueNAS26} {
			t.Run(lab+"/"+string(fl), func(t *testing.T) {
				s := NewTestServer(t, WithFlavour(fl), WithState(labs[lab]))
				r, err := dialRPC(t, s)
				if err != nil {
					t.Fatal(err)
				}
				for _, login := range []struct {
					method string
					params []any
				}{
					{"auth.login_ex", []any{map[string]any{"mechanism": "API_KEY_PLAIN", "username": "nobody", "api_key": s.APIKey()}}},
					{"auth.login_with_api_key", []any{"wrong"}},
					{"auth.login_ex", []any{map[string]any{"mechanism": "API_KEY_PLAIN", "username": s.Username(), "api_key": s.APIKey()}}},
				} {
					ans := r.call(login.method, login.params...)
					validate(t, byFlavour[fl], "websocket", login.method, ans["result"])
				}
				for _, method := range slices.Sorted(maps.Keys(restPaths)) {
					params := []any{}
					if method == "pool.dataset.query" {
						params = datasetParams(lab == "edges")
					}
					ans := r.call(method, params...)
					if ans["error"] != nil {
						t.Errorf("%s: %v", method, ans["error"])
						continue
					}
					validate(t, byFlavour[fl], "websocket", method, ans["result"])
				}
				if fl != Scale2510 {
					return
				}
				for _, method := range slices.Sorted(maps.Keys(restPaths)) {
					code, body := get(t, s, "/api/v2.0/"+restPaths[method], s.APIKey())
					var v any
					if err := json.Unmarshal(body, &v); code != 200 || err != nil {
						t.Errorf("GET %s: %d %v", restPaths[method], code, err)
						continue
					}
					validate(t, base, "REST", method, v)
				}
			})
		}
	}
	for _, method := range slices.Sorted(maps.Keys(base.Methods)) {
		if checked[method] == 0 {
			t.Errorf("%s: no answer of the simulator was checked against its model", method)
		}
	}
}

// datasetParams asks for nested children or a flat list, as REST and the adapter do.
func datasetParams(nested bool) []any {
	return []any{[]any{}, map[string]any{"extra": map[string]any{"retrieve_children": nested}}}
}
