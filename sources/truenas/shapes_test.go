package truenas

import (
	"context"
	"encoding/json"
	"maps"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/netbox-agent/netbox-agent/sources"
	"github.com/netbox-agent/netbox-agent/sources/truenas/truenastest"
)

// The models the simulator is held to (truenastest/testdata/truenas-api-models.json, from
// TrueNAS's own API models; see truenastest's schema_test.go) also say what else a real system
// may send: optional fields absent, nullable ones null, a union's other type, any enum value,
// empty lists. TestAdapterAcceptsEveryModelShape generates those shapes from the models and
// feeds each to the adapter through the simulator's SetAnswer.

type modelFile struct{ truenastest.Models }

// resolve follows $ref and a nullable anyOf ([null, $ref]) to the schema of the value;
// nullable reports that null is allowed.
func (m modelFile) resolve(s map[string]any) (schema map[string]any, nullable bool) {
	for {
		if ref, ok := s["$ref"].(string); ok {
			s = m.Definitions[ref]
			continue
		}
		if alts, ok := s["anyOf"].([]any); ok {
			var next map[string]any
			for _, a := range alts {
				am := a.(map[string]any)
				if am["type"] == "null" {
					nullable = true
				} else {
					next = am
				}
			}
			s = next
			continue
		}
		break
	}
	return s, nullable || slices.Contains(schemaTypes(s), "null")
}

func schemaTypes(s map[string]any) []string {
	switch t := s["type"].(type) {
	case string:
		return []string{t}
	case []any:
		out := make([]string, 0, len(t))
		for _, x := range t {
			out = append(out, x.(string))
		}
		return out
	}
	return nil
}

// shape is one answer a real system may give: the simulator's default answer with one change
// applied wherever the field occurs.
type shape struct {
	method, name string
	answer       any
}

// collect returns the values found at segs ("[]" walks a list).
func collect(v any, segs []string) []any {
	if len(segs) == 0 {
		return []any{v}
	}
	var out []any
	switch x := v.(type) {
	case []any:
		if segs[0] == "[]" {
			for _, e := range x {
				out = append(out, collect(e, segs[1:])...)
			}
		}
	case map[string]any:
		if sub, ok := x[segs[0]]; ok {
			out = collect(sub, segs[1:])
		}
	}
	return out
}

// apply runs op on every object holding the field at segs, in a deep copy of v.
func apply(v any, segs []string, op func(obj map[string]any, key string)) any {
	raw, _ := json.Marshal(v)
	var cp any
	_ = json.Unmarshal(raw, &cp)
	for _, parent := range collect(cp, segs[:len(segs)-1]) {
		if obj, ok := parent.(map[string]any); ok {
			if _, present := obj[segs[len(segs)-1]]; present {
				op(obj, segs[len(segs)-1])
			}
		}
	}
	return cp
}

func pathName(method string, segs []string) string {
	var b strings.Builder
	b.WriteString(method)
	for _, s := range segs {
		if s != "[]" {
			b.WriteString(".")
		}
		b.WriteString(s)
	}
	return b.String()
}

// generate walks schema along with base and returns the shapes the schema allows that base
// does not show.
func (m modelFile) generate(method string, base any) []shape {
	var out []shape
	var walk func(schema map[string]any, segs []string)
	walk = func(schema map[string]any, segs []string) {
		s, _ := m.resolve(schema)
		if items, ok := s["items"].(map[string]any); ok && slices.Contains(schemaTypes(s), "array") {
			walk(items, append(slices.Clone(segs), "[]"))
			return
		}
		props, _ := s["properties"].(map[string]any)
		required := map[string]bool{}
		req, _ := s["required"].([]any)
		for _, r := range req {
			required[r.(string)] = true
		}
		for _, name := range slices.Sorted(maps.Keys(props)) {
			fs := append(slices.Clone(segs), name)
			vals := collect(base, fs)
			if len(vals) == 0 {
				continue
			}
			ps, nullable := m.resolve(props[name].(map[string]any))
			types := schemaTypes(ps)
			add := func(what string, op func(obj map[string]any, key string)) {
				out = append(out, shape{method: method, name: pathName(method, fs) + " " + what, answer: apply(base, fs, op)})
			}
			if !required[name] {
				add("absent", func(obj map[string]any, key string) { delete(obj, key) })
			}
			if nullable && slices.ContainsFunc(vals, func(v any) bool { return v != nil }) {
				add("null", func(obj map[string]any, key string) { obj[key] = nil })
			}
			if slices.Contains(types, "string") && slices.Contains(types, "integer") {
				add("other union type", func(obj map[string]any, key string) {
					switch x := obj[key].(type) {
					case float64:
						obj[key] = strconv.FormatFloat(x, 'f', -1, 64)
					case string:
						if n, err := strconv.ParseFloat(x, 64); err == nil {
							obj[key] = n
						}
					}
				})
			}
			if slices.Contains(types, "any") {
				add("junk string", func(obj map[string]any, key string) { obj[key] = "not a number" })
			}
			if enum, ok := ps["enum"].([]any); ok {
				for _, e := range enum {
					if e != nil && !slices.Contains(vals, e) {
						add("= "+brief(e), func(obj map[string]any, key string) { obj[key] = e })
					}
				}
			}
			if slices.Contains(types, "array") && slices.ContainsFunc(vals, func(v any) bool { l, _ := v.([]any); return len(l) > 0 }) {
				add("empty", func(obj map[string]any, key string) { obj[key] = []any{} })
			}
			walk(props[name].(map[string]any), fs)
		}
	}
	walk(m.Methods[method], nil)
	return out
}

func brief(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// result is what the adapter made of one shape.
type result struct {
	Obs      sources.Observation
	Pools    []Pool
	Warnings []string
}

func readAll(t *testing.T, src *Source) (result, error) {
	t.Helper()
	res, err := src.Discover(context.Background(), nil)
	if err != nil {
		return result{}, err
	}
	if len(res.Observations) != 1 {
		t.Fatalf("want one observation, got %d", len(res.Observations))
	}
	pools, err := src.Pools(context.Background())
	if err != nil {
		return result{}, err
	}
	r := result{Obs: res.Observations[0], Pools: pools}
	r.Obs.SeenAt = time.Time{}
	for _, w := range res.Warnings {
		r.Warnings = append(r.Warnings, w.Item+": "+w.Message)
	}
	return r, nil
}

// renorm derives the keys again after an expectation changed interfaces.
func renorm(o *sources.Observation) {
	o.Keys.IPs, o.Keys.MACs = nil, nil
	o.Normalize()
}

func poolAttr(t *testing.T, o *sources.Observation, edit func(ps []poolSummary) []poolSummary) {
	t.Helper()
	var ps []poolSummary
	if err := json.Unmarshal([]byte(o.Facts.Attributes["truenas.pools"]), &ps); err != nil {
		t.Fatal(err)
	}
	ps = edit(ps)
	o.Facts.Attributes["truenas.pools"] = compactJSON(ps)
}

func datasetAttr(t *testing.T, o *sources.Observation, edit func(ds []datasetSummary)) {
	t.Helper()
	var ds []datasetSummary
	if err := json.Unmarshal([]byte(o.Facts.Attributes["truenas.datasets"]), &ds); err != nil {
		t.Fatal(err)
	}
	edit(ds)
	o.Facts.Attributes["truenas.datasets"] = compactJSON(ds)
}

func rootOf(ps []Pool, i int) Dataset {
	for _, d := range ps[i].Datasets {
		if d.Name == ps[i].Name {
			return d
		}
	}
	return Dataset{}
}

// shapeEffects are the shapes that change what the adapter reports, each with the change it
// must make to the default result and why. Every other generated shape must give exactly the
// default result, without warnings: the adapter does not depend on what it does not read.
var shapeEffects = map[string]func(t *testing.T, r *result){
	// Absent DMI strings are unknown facts, not errors.
	"system.info.system_product null":      func(t *testing.T, r *result) { r.Obs.Facts.Model = "" },
	"system.info.system_manufacturer null": func(t *testing.T, r *result) { r.Obs.Facts.Manufacturer = "" },
	// An unknown disk size is 0 ("unknown"), the disk is kept.
	"disk.query[].size null": func(t *testing.T, r *result) {
		for i := range r.Obs.Disks {
			r.Obs.Disks[i].SizeMB = 0
		}
	},
	// No current addresses: the interface has none now (state wins over configuration).
	"interface.query[].state.aliases empty": func(t *testing.T, r *result) {
		for i := range r.Obs.Interfaces {
			r.Obs.Interfaces[i].IPs = []netip.Prefix{}
		}
		renorm(&r.Obs)
	},
	// Pool figures null: the root dataset's figures stand in.
	"pool.query[].size null": func(t *testing.T, r *result) {
		for i := range r.Pools {
			root := rootOf(r.Pools, i)
			r.Pools[i].SizeBytes = root.UsedBytes + root.AvailableBytes
		}
		poolAttr(t, &r.Obs, func(ps []poolSummary) []poolSummary {
			for i := range ps {
				root := rootOf(r.Pools, i)
				ps[i].Size = root.UsedBytes + root.AvailableBytes
			}
			return ps
		})
	},
	"pool.query[].allocated null": func(t *testing.T, r *result) {
		for i := range r.Pools {
			r.Pools[i].AllocatedBytes = rootOf(r.Pools, i).UsedBytes
		}
	},
	"pool.query[].free null": func(t *testing.T, r *result) {
		for i := range r.Pools {
			r.Pools[i].FreeBytes = rootOf(r.Pools, i).AvailableBytes
		}
	},
	// No scan, no topology: no last scrub, no member disks.
	"pool.query[].scan null": func(t *testing.T, r *result) {
		for i := range r.Pools {
			r.Pools[i].LastScrub = nil
		}
	},
	"pool.query[].topology null":             noPoolDisks,
	"pool.query[].topology.data empty":       noPoolDisks,
	"pool.dataset.query[].type absent":       func(t *testing.T, r *result) { datasetTypes(t, r, "") },
	"pool.dataset.query[].mountpoint absent": noMountpoints,
	"pool.dataset.query[].mountpoint null":   noMountpoints,
	// Sizes unknown: 0 in Pools (they are not in the observation).
	"pool.dataset.query[].used absent":      func(t *testing.T, r *result) { datasetSizes(r, true, false) },
	"pool.dataset.query[].available absent": func(t *testing.T, r *result) { datasetSizes(r, false, true) },
	"iscsi.target.query[].alias null": func(t *testing.T, r *result) {
		for i, s := range r.Obs.Services {
			if strings.HasPrefix(s.Name, "iSCSI ") {
				r.Obs.Services[i].Description = strings.TrimPrefix(s.Name, "iSCSI ")
			}
		}
	},
	"iscsi.extent.query[].disk null": func(t *testing.T, r *result) {
		extentAttr(t, r, func(e *extentSummary) { e.Backing = "" })
	},
	"iscsi.extent.query[].type = \"FILE\"": func(t *testing.T, r *result) {
		extentAttr(t, r, func(e *extentSummary) { e.Type = "FILE" })
	},
}

func noPoolDisks(t *testing.T, r *result) {
	for i := range r.Pools {
		r.Pools[i].Disks = []string{}
	}
	poolAttr(t, &r.Obs, func(ps []poolSummary) []poolSummary {
		for i := range ps {
			ps[i].Disks = []string{}
		}
		return ps
	})
}

func noMountpoints(t *testing.T, r *result) {
	for i := range r.Pools {
		for j := range r.Pools[i].Datasets {
			r.Pools[i].Datasets[j].Mountpoint = ""
		}
	}
	datasetAttr(t, &r.Obs, func(ds []datasetSummary) {
		for i := range ds {
			ds[i].Mountpoint = ""
		}
	})
}

func datasetTypes(t *testing.T, r *result, typ string) {
	for i := range r.Pools {
		for j := range r.Pools[i].Datasets {
			r.Pools[i].Datasets[j].Type = typ
		}
	}
	datasetAttr(t, &r.Obs, func(ds []datasetSummary) {
		for i := range ds {
			ds[i].Type = typ
		}
	})
}

func datasetSizes(r *result, used, available bool) {
	for i := range r.Pools {
		for j := range r.Pools[i].Datasets {
			if used {
				r.Pools[i].Datasets[j].UsedBytes = 0
			}
			if available {
				r.Pools[i].Datasets[j].AvailableBytes = 0
			}
		}
	}
}

func extentAttr(t *testing.T, r *result, edit func(e *extentSummary)) {
	var ex []extentSummary
	if err := json.Unmarshal([]byte(r.Obs.Facts.Attributes["truenas.iscsi_extents"]), &ex); err != nil {
		t.Fatal(err)
	}
	for i := range ex {
		edit(&ex[i])
	}
	r.Obs.Facts.Attributes["truenas.iscsi_extents"] = compactJSON(ex)
}

// adapterMethods are the methods Discover and Pools read after login.
var adapterMethods = []string{"system.info", "network.configuration.config", "interface.query", "disk.query",
	"pool.query", "pool.dataset.query", "sharing.nfs.query", "sharing.smb.query", "iscsi.global.config",
	"iscsi.target.query", "iscsi.extent.query"}

// shapeRig is a 25.10 simulator, a websocket source on it and the default result.
type shapeRig struct {
	srv  *truenastest.Server
	src  *Source
	base result
}

func newShapeRig(t *testing.T) shapeRig {
	t.Helper()
	srv := truenastest.NewTestServer(t, truenastest.WithFlavour(truenastest.Scale2510))
	src := newSource(t, testConfig(t, srv, APIWebsocket))
	base, err := readAll(t, src)
	if err != nil || len(base.Warnings) != 0 {
		t.Fatalf("default answers: %v %v", err, base.Warnings)
	}
	return shapeRig{srv: srv, src: src, base: base}
}

// rendered is the simulator's default answer to method, decoded; datasets come flat, as the
// adapter asks for them over the websocket, so a change reaches every dataset.
func (r shapeRig) rendered(t *testing.T, method string) any {
	t.Helper()
	raw, err := r.srv.Render(method)
	if err != nil {
		t.Fatal(err)
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	if method == "pool.dataset.query" {
		v = apply(v, []string{"[]", "children"}, func(obj map[string]any, key string) { obj[key] = []any{} })
	}
	return v
}

// check feeds answer as method's and compares what the adapter reports with the default
// result changed by effect (nil: unchanged).
func (r shapeRig) check(t *testing.T, method string, answer any, effect func(t *testing.T, r *result)) {
	t.Helper()
	body, err := json.Marshal(answer)
	if err != nil {
		t.Fatal(err)
	}
	r.srv.SetAnswer(method, body)
	defer r.srv.ClearAnswers()
	got, err := readAll(t, r.src)
	if err != nil {
		t.Fatalf("the adapter failed: %v", err)
	}
	want := cloneResult(t, r.base)
	if effect != nil {
		effect(t, &want)
	}
	compareResults(t, got, want)
}

func loadModelFile(t *testing.T) modelFile {
	t.Helper()
	m, err := truenastest.LoadModels()
	if err != nil {
		t.Fatal(err)
	}
	return modelFile{m}
}

// TestAdapterAcceptsEveryModelShape: every shape generated from the models is read without
// failure, panic or warning, and gives the default result or the change shapeEffects says.
func TestAdapterAcceptsEveryModelShape(t *testing.T) {
	models := loadModelFile(t)
	rig := newShapeRig(t)
	var shapes []shape
	for _, method := range adapterMethods {
		shapes = append(shapes, models.generate(method, rig.rendered(t, method))...)
	}
	if len(shapes) < 100 {
		t.Fatalf("only %d shapes generated: the generator lost the models", len(shapes))
	}
	used := map[string]bool{}
	for _, sh := range shapes {
		t.Run(sh.name, func(t *testing.T) {
			used[sh.name] = true
			rig.check(t, sh.method, sh.answer, shapeEffects[sh.name])
		})
	}
	t.Logf("%d shapes from the models", len(shapes))
	if len(used) < len(shapes) {
		return // a -run filter chose some shapes: the table cannot be checked for stale entries
	}
	for name := range shapeEffects {
		if !used[name] {
			t.Errorf("shapeEffects[%q]: no such shape is generated any more", name)
		}
	}
}

// setAll sets key to value in every object at segs of v (a copy).
func setAll(v any, value any, segs ...string) any {
	return apply(v, segs, func(obj map[string]any, key string) { obj[key] = value })
}

// TestAdapterHandWrittenShapes covers what the models allow but the generator cannot make up:
// junk and real serials, an empty hostname, the scan dict of a never-scrubbed pool (every key
// null, as in a real 25.x `midclt call pool.query` answer posted in Imnotndesh/TrueHub issue
// #79), sizes whose text is no number; and input the models forbid, which must cost only the
// bad item, with a warning naming field and value.
func TestAdapterHandWrittenShapes(t *testing.T) {
	rig := newShapeRig(t)
	scrubbed := func(t *testing.T, r *result) {
		for i := range r.Pools {
			r.Pools[i].LastScrub = nil
		}
	}
	tests := []struct {
		name, method string
		edit         func(v any) any
		effect       func(t *testing.T, r *result)
	}{
		{"real serial kept", "system.info", func(v any) any { return setAll(v, " A1SRV2024X77 ", "system_serial") },
			func(t *testing.T, r *result) { r.Obs.Keys.Serial = "A1SRV2024X77" }},
		{"junk serial Default string", "system.info", func(v any) any { return setAll(v, "Default string", "system_serial") }, nil},
		{"junk serial 0123456789", "system.info", func(v any) any { return setAll(v, "0123456789", "system_serial") }, nil},
		{"junk serial zeros", "system.info", func(v any) any { return setAll(v, "00000000", "system_serial") }, nil},
		{"junk serial blank", "system.info", func(v any) any { return setAll(v, "   ", "system_serial") }, nil},
		{"junk manufacturer", "system.info", func(v any) any { return setAll(v, "To Be Filled By O.E.M.", "system_manufacturer") },
			func(t *testing.T, r *result) { r.Obs.Facts.Manufacturer = "" }},
		{"empty hostname: network configuration names the system", "system.info",
			func(v any) any { return setAll(v, "", "hostname") }, nil},
		{"never-scrubbed pool: scan of nulls", "pool.query", func(v any) any {
			for _, k := range []string{"function", "state", "start_time", "end_time", "percentage", "errors", "pause"} {
				v = setAll(v, nil, "[]", "scan", k)
			}
			return v
		}, scrubbed},
		{"scan of another shape: no date", "pool.query", func(v any) any { return setAll(v, map[string]any{}, "[]", "scan") }, scrubbed},
		{"dataset size text is no number", "pool.dataset.query", func(v any) any {
			v = setAll(v, nil, "[]", "used", "parsed")
			return setAll(v, "lots", "[]", "used", "rawvalue")
		}, func(t *testing.T, r *result) {
			datasetSizes(r, true, false)
			for _, d := range []string{"fast", "fast/vm-disk", "tank", "tank/backups", "tank/media", "tank/media/photos"} {
				r.Warnings = append(r.Warnings, "dataset "+d+": pool.dataset.query "+d+`.used.rawvalue "lots" is not a byte count: size unknown`)
			}
		}},
		{"forbidden: pool size as text", "pool.query", func(v any) any {
			l := v.([]any)
			l[0].(map[string]any)["size"] = "lots"
			return l
		}, func(t *testing.T, r *result) {
			// tank, answered first, is dropped with a warning; fast and every dataset stay.
			r.Pools = slices.DeleteFunc(r.Pools, func(p Pool) bool { return p.Name == "tank" })
			poolAttr(t, &r.Obs, func(ps []poolSummary) []poolSummary {
				return slices.DeleteFunc(ps, func(p poolSummary) bool { return p.Name == "tank" })
			})
			r.Warnings = []string{`pool.query[0]: skipped: field size = "lots": "lots" is not a byte count`}
		}},
		{"forbidden: address without netmask anywhere", "interface.query", func(v any) any {
			v = setAll(v, []any{}, "[]", "aliases")
			return apply(v, []string{"[]", "state", "aliases", "[]", "netmask"}, func(obj map[string]any, key string) { delete(obj, key) })
		}, func(t *testing.T, r *result) {
			for i := range r.Obs.Interfaces {
				r.Obs.Interfaces[i].IPs = []netip.Prefix{}
			}
			renorm(&r.Obs)
			r.Warnings = []string{
				`interface enp5s0: state.aliases[0]: address "192.168.10.20" has no netmask, nor a configured alias giving one: skipped`,
				`interface enp5s0: state.aliases[2]: address "2001:db8:10::20" has no netmask, nor a configured alias giving one: skipped`,
				`interface vlan30: state.aliases[0]: address "10.30.0.5" has no netmask, nor a configured alias giving one: skipped`,
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rig.check(t, tc.method, tc.edit(rig.rendered(t, tc.method)), tc.effect)
		})
	}
}

func cloneResult(t *testing.T, r result) result {
	t.Helper()
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var out result
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// compareResults compares each part of the result on its own, so a difference is shown whole.
func compareResults(t *testing.T, got, want result) {
	t.Helper()
	parts := []struct {
		name      string
		got, want any
	}{{"observation", got.Obs, want.Obs}, {"pools", got.Pools, want.Pools}, {"warnings", got.Warnings, want.Warnings}}
	for _, p := range parts {
		g, _ := json.Marshal(p.got)
		w, _ := json.Marshal(p.want)
		if string(g) != string(w) {
			t.Errorf("%s differs:\n got %s\nwant %s", p.name, g, w)
		}
	}
}
