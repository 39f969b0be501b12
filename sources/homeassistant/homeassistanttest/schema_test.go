package homeassistanttest

import (
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"os"
	"slices"
	"sort"
	"strings"
	"testing"
)

// haDefs is testdata/ha-messages.json: the shapes Home Assistant's own code gives the messages
// the homeassistant adapter reads (websocket auth, result and error envelopes, the registry
// lists, the REST answers), with the commit of each file read. The simulator is held to it,
// not to our reading of Home Assistant.
type haDefs struct {
	Origin   string                    `json:"origin"`
	Messages map[string]map[string]any `json:"messages"`
}

func loadDefs(t *testing.T) haDefs {
	t.Helper()
	raw, err := os.ReadFile("testdata/ha-messages.json")
	if err != nil {
		t.Fatal(err)
	}
	var d haDefs
	if err := json.Unmarshal(raw, &d); err != nil {
		t.Fatalf("testdata/ha-messages.json: %v", err)
	}
	return d
}

// checker validates answers of one release against the definitions and records which
// definitions (anyOf alternatives included) an answer matched.
type checker struct {
	defs    haDefs
	rel     release
	matched map[string]int
}

// check validates v against schema and returns one line per problem, with the JSON path. The
// subset of keywords: type (a name or a list, "null" for nullable), enum, properties,
// required, since (key -> release that added it: required from then on, absent before),
// additionalProperties false, values (schema of every value of a map), items, minItems,
// maxItems, anyOf (names of definitions), since_release (the whole shape arrived then).
func (c *checker) check(schema map[string]any, v any, path string) []string {
	if alts, ok := schema["anyOf"].([]any); ok {
		var best []string
		for _, a := range alts {
			name, _ := a.(string)
			probs := c.check(c.defs.Messages[name], v, path)
			if len(probs) == 0 {
				c.matched[name]++
				return nil
			}
			if best == nil || len(probs) < len(best) {
				best = append([]string{fmt.Sprintf("%s: matches none of %v; closest is %s:", path, alts, name)}, probs...)
			}
		}
		return best
	}
	if s, ok := schema["since_release"].(string); ok {
		if r := parseRelease(s); c.rel.before(r.year, r.month) {
			// Checked after the shape, so anyOf takes a valid shape of the wrong release as
			// the closest match and says so.
			inner := maps.Clone(schema)
			delete(inner, "since_release")
			return append(c.check(inner, v, path), fmt.Sprintf("%s: this shape arrived in %s (answer of %d.%d)", path, s, c.rel.year, c.rel.month))
		}
	}
	if p := c.checkType(schema, v, path); p != "" {
		return []string{p}
	}
	if enum, ok := schema["enum"].([]any); ok && !slices.Contains(enum, v) {
		return []string{fmt.Sprintf("%s: %s is not one of %s", path, show(v), show(enum))}
	}
	switch x := v.(type) {
	case map[string]any:
		return c.checkObject(schema, x, path)
	case []any:
		var out []string
		if n, ok := schema["minItems"].(float64); ok && float64(len(x)) < n {
			out = append(out, fmt.Sprintf("%s: %d items, want at least %v", path, len(x), n))
		}
		if n, ok := schema["maxItems"].(float64); ok && float64(len(x)) > n {
			out = append(out, fmt.Sprintf("%s: %d items, want at most %v", path, len(x), n))
		}
		if items, ok := schema["items"].(map[string]any); ok {
			for i, e := range x {
				out = append(out, c.check(items, e, fmt.Sprintf("%s[%d]", path, i))...)
			}
		}
		return out
	}
	return nil
}

func (c *checker) checkType(schema map[string]any, v any, path string) string {
	var types []string
	switch t := schema["type"].(type) {
	case nil:
		return "" // {} accepts anything
	case string:
		types = []string{t}
	case []any:
		for _, x := range t {
			s, _ := x.(string)
			types = append(types, s)
		}
	}
	got := jsonType(v)
	for _, want := range types {
		if want == got || (want == "number" && got == "integer") {
			return ""
		}
	}
	return fmt.Sprintf("%s: want %s, got %s %s", path, strings.Join(types, " or "), got, show(v))
}

func (c *checker) checkObject(schema, m map[string]any, path string) []string {
	var out []string
	props, _ := schema["properties"].(map[string]any)
	since, _ := schema["since"].(map[string]any)
	added := func(key string) (release, bool) {
		s, ok := since[key].(string)
		if !ok {
			return release{}, false
		}
		return parseRelease(s), true
	}
	required, _ := schema["required"].([]any)
	for _, r := range required {
		key, _ := r.(string)
		_, present := m[key]
		rel, hasSince := added(key)
		switch {
		case hasSince && c.rel.before(rel.year, rel.month) && present:
			out = append(out, fmt.Sprintf("%s.%s: present, but the key arrived in %d.%d (answer of %d.%d)", path, key, rel.year, rel.month, c.rel.year, c.rel.month))
		case hasSince && c.rel.before(rel.year, rel.month):
		case !present:
			out = append(out, fmt.Sprintf("%s.%s: required, absent", path, key))
		}
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	values, _ := schema["values"].(map[string]any)
	for _, k := range keys {
		sub, known := props[k].(map[string]any)
		switch {
		case known:
			out = append(out, c.check(sub, m[k], path+"."+k)...)
		case values != nil:
			out = append(out, c.check(values, m[k], path+"."+k)...)
		case schema["additionalProperties"] == false:
			out = append(out, fmt.Sprintf("%s.%s: not a key Home Assistant sends here", path, k))
		}
	}
	return out
}

func jsonType(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case float64:
		if x == math.Trunc(x) {
			return "integer"
		}
		return "number"
	case string:
		return "string"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return fmt.Sprintf("%T", v)
}

func show(v any) string {
	b, _ := json.Marshal(v)
	if len(b) > 120 {
		return string(b[:120]) + "..."
	}
	return string(b)
}

// validate decodes one message and checks it against the named definition; failures name the
// lab, the message and the path.
func (c *checker) validate(t *testing.T, where, def string, data []byte) map[string]any {
	t.Helper()
	schema, ok := c.defs.Messages[def]
	if !ok {
		t.Fatalf("no definition %q in testdata", def)
	}
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		t.Errorf("%s: %s is not JSON: %v", where, def, err)
		return nil
	}
	for _, p := range c.check(schema, v, def) {
		if reason, ok := knownGaps[p]; ok {
			t.Logf("%s: %s (accepted: %s)", where, p, reason)
			continue
		}
		t.Errorf("%s: %s", where, p)
	}
	c.matched[def]++
	m, _ := v.(map[string]any)
	return m
}

// knownGaps are differences from Home Assistant's definitions the simulator keeps, by problem
// line, each with its reason. None today: keep it that way or say why.
var knownGaps = map[string]string{}

// labsForDefinitions are the labs every answer of the simulator is checked on: a generated
// home and the hand-written one at the default release, the hand-written one as 2024.3 sent
// it (keys that came later absent), and an edge lab as 2026.9 sends it (split devices with
// config_entry_id, child devices, every disabler and hider, entity categories, entities
// without a device, devices without a name or a manufacturer).
func labsForDefinitions() map[string][]Option {
	return map[string][]Option{
		"generated":   {WithDataset(Generate(60, 4))},
		"sample":      {WithDataset(SampleHome())},
		"sample@2024": {WithDataset(SampleHome()), WithVersion("2024.3.3")},
		"edge@2026.9": {WithDataset(edgeHome()), WithVersion("2026.9.1")},
		"edge@2025.1": {WithDataset(edgeHome()), WithVersion("2025.1.4")},
	}
}

// edgeHome reaches the corners of the definitions the other labs leave out.
func edgeHome() Dataset {
	return Dataset{
		Areas: []Area{{AreaID: "attic", Name: "Attic"}, {AreaID: "garage", Name: "Garage", FloorID: "ground"}},
		Devices: []Device{
			{ID: "strip", ConfigEntries: []string{"e1", "e2"}, Connections: [][2]string{{"mac", "aa:bb:cc:00:11:22"}},
				Identifiers: [][2]string{{"tplink", "strip-1"}}, Manufacturer: "TP-Link", Model: "HS300", AreaID: "garage"},
			{ID: "outlet1", ConfigEntries: []string{"e1"}, Identifiers: [][2]string{{"tplink", "strip-1-outlet-1"}},
				Name: "Outlet 1", ParentDeviceID: "strip", DisabledBy: "device"},
			{ID: "outlet2", ConfigEntries: []string{"e1"}, Identifiers: [][2]string{{"tplink", "strip-1-outlet-2"}},
				NameByUser: "Kettle", ParentDeviceID: "strip", AreaID: "attic"},
			{ID: "bare", ConfigEntries: []string{"e3"}, Connections: [][2]string{}, Identifiers: [][2]string{{"mqtt", "x"}}},
			{ID: "cfg-disabled", ConfigEntries: []string{"e4"}, Identifiers: [][2]string{{"zha", "y"}}, DisabledBy: "config_entry"},
			{ID: "int-disabled", ConfigEntries: []string{"e5"}, Identifiers: [][2]string{{"zha", "z"}}, DisabledBy: "integration",
				ViaDeviceID: "strip", Labels: []string{"l1", "l2"}},
		},
		Entities: []Entity{
			{EntityID: "switch.outlet_1", DeviceID: "outlet1", Platform: "tplink", UniqueID: "o1", DisabledBy: "device"},
			{EntityID: "sensor.strip_rssi", DeviceID: "strip", Platform: "tplink", UniqueID: "rssi", EntityCategory: "diagnostic",
				HiddenBy: "integration", DisabledBy: "integration"},
			{EntityID: "button.strip_restart", DeviceID: "strip", Platform: "tplink", UniqueID: "restart", EntityCategory: "config",
				HiddenBy: "user"},
			{EntityID: "sensor.legacy", Platform: "template", UniqueID: "legacy", DisabledBy: "hass"},
			{EntityID: "light.cfg", Platform: "zha", UniqueID: "cfg", DisabledBy: "config_entry", ConfigEntryID: "e4", Name: "Cfg"},
			{EntityID: "light.user", Platform: "zha", UniqueID: "user", DisabledBy: "user", AreaID: "attic"},
		},
		States: []State{
			{EntityID: "device_tracker.phone", State: "not_home", Attributes: map[string]any{"source_type": "router"}},
			{EntityID: "sensor.legacy", State: "unavailable"},
		},
	}
}

// TestAnswersValidateAgainstHADefinitions asks the simulator, for each lab, every message the
// adapter reads (the auth handshake, the three registry lists, an unknown command's error,
// auth_invalid, GET /api/, /api/config, /api/states) and validates each against
// testdata/ha-messages.json at the lab's release. Each definition must be matched at least
// once across the labs.
func TestAnswersValidateAgainstHADefinitions(t *testing.T) {
	defs := loadDefs(t)
	matched := map[string]int{}
	for name, opts := range labsForDefinitions() {
		t.Run(name, func(t *testing.T) {
			srv := NewTestServer(t, opts...)
			c := &checker{defs: defs, rel: parseRelease(srv.version), matched: matched}
			for _, r := range []struct{ path, def string }{
				{"/api/", "GET /api/"}, {"/api/config", "GET /api/config"}, {"/api/states", "GET /api/states"},
			} {
				status, body := get(t, srv, r.path, DefaultToken)
				if status != 200 {
					t.Fatalf("GET %s = %d", r.path, status)
				}
				c.validate(t, name+" GET "+r.path, r.def, []byte(body))
			}

			ws := dial(t, srv)
			c.validate(t, name+" hello", "auth_required", ws.raw())
			ws.send(map[string]any{"type": "auth", "access_token": DefaultToken})
			c.validate(t, name+" auth", "auth_ok", ws.raw())
			for i, cmd := range []string{"config/area_registry/list", "config/device_registry/list", "config/entity_registry/list"} {
				ws.send(map[string]any{"id": i + 1, "type": cmd})
				env := c.validate(t, name+" "+cmd, "result", ws.raw())
				result, err := json.Marshal(env["result"])
				if err != nil {
					t.Fatal(err)
				}
				c.validate(t, name+" "+cmd, cmd, result)
			}
			ws.send(map[string]any{"id": 10, "type": "config/floor_registry/nothing"})
			c.validate(t, name+" unknown command", "error", ws.raw())

			bad := dial(t, srv)
			bad.raw()
			bad.send(map[string]any{"type": "auth", "access_token": "wrong"})
			c.validate(t, name+" bad token", "auth_invalid", bad.raw())
		})
	}
	for def := range defs.Messages {
		if matched[def] == 0 {
			t.Errorf("%s: no answer of the simulator matched it", def)
		}
	}
}

// TestRealAnswersValidate holds the definitions to real answers (testdata/real-answers.json):
// a definition too strict for what Home Assistant really sends fails here.
func TestRealAnswersValidate(t *testing.T) {
	defs := loadDefs(t)
	samples := loadRealAnswers(t)
	for _, s := range samples {
		t.Run(s.Name, func(t *testing.T) {
			c := &checker{defs: defs, rel: parseRelease(s.Release), matched: map[string]int{}}
			c.validate(t, s.Name+" ("+s.Origin[:40]+"...)", s.Message, s.Result)
		})
	}
}

type realAnswer struct {
	Name    string          `json:"name"`
	Message string          `json:"message"`
	Release string          `json:"release"`
	Origin  string          `json:"origin"`
	Result  json.RawMessage `json:"result"`
}

func loadRealAnswers(t *testing.T) []realAnswer {
	t.Helper()
	raw, err := os.ReadFile("testdata/real-answers.json")
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Samples []realAnswer `json:"samples"`
	}
	if err := json.Unmarshal(raw, &f); err != nil {
		t.Fatalf("testdata/real-answers.json: %v", err)
	}
	if len(f.Samples) == 0 {
		t.Fatal("testdata/real-answers.json has no samples")
	}
	return f.Samples
}

// TestCheckerCatchesViolations makes sure the checker can fail: each broken answer must give
// the problem named.
func TestCheckerCatchesViolations(t *testing.T) {
	defs := loadDefs(t)
	dev := func(change func(map[string]any)) []byte {
		var m map[string]any
		if err := json.Unmarshal(mustJSON(SampleHome().Devices[0].wire(parseRelease(DefaultVersion))), &m); err != nil {
			t.Fatal(err)
		}
		change(m)
		return mustJSON([]any{m})
	}
	tests := []struct {
		name, release string
		data          []byte
		want          string
	}{
		{"missing key", DefaultVersion, dev(func(m map[string]any) { delete(m, "model_id") }), "[0].model_id: required, absent"},
		{"key before its release", "2024.3", dev(func(m map[string]any) {}), "[0].model_id: present, but the key arrived in 2024.8"},
		{"bad enum", DefaultVersion, dev(func(m map[string]any) { m["entry_type"] = "hardware" }), `"hardware" is not one of`},
		{"wrong type", DefaultVersion, dev(func(m map[string]any) { m["sw_version"] = 1.5 }), "[0].sw_version: want string or null, got number"},
		{"invented key", DefaultVersion, dev(func(m map[string]any) { m["ip"] = "10.0.0.1" }), "[0].ip: not a key Home Assistant sends here"},
		{"child device before 2026.9", "2026.8", mustJSON([]any{Device{ID: "c", ParentDeviceID: "p", ConfigEntries: []string{"e"}}.wire(parseRelease("2026.9"))}), "this shape arrived in 2026.9"},
		{"bad pair", DefaultVersion, dev(func(m map[string]any) { m["connections"] = []any{[]any{"mac"}} }), "[0].connections[0]: 1 items, want at least 2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &checker{defs: defs, rel: parseRelease(tt.release), matched: map[string]int{}}
			var v any
			if err := json.Unmarshal(tt.data, &v); err != nil {
				t.Fatal(err)
			}
			probs := strings.Join(c.check(defs.Messages["config/device_registry/list"], v, "config/device_registry/list"), "\n")
			if !strings.Contains(probs, tt.want) {
				t.Fatalf("problems:\n%s\nwant one containing %q", probs, tt.want)
			}
		})
	}
}
