package netboxtest

import (
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
)

// TestDecodeJSONIsUnmarshal: the fast decoder gives what json.Unmarshal gives (value, or an
// error with the same message) for hand-picked, random and randomly damaged documents.
func TestDecodeJSONIsUnmarshal(t *testing.T) {
	check := func(doc string) {
		t.Helper()
		var want any
		wantErr := json.Unmarshal([]byte(doc), &want)
		got, err := decodeJSON([]byte(doc))
		if (err == nil) != (wantErr == nil) || err != nil && err.Error() != wantErr.Error() {
			t.Fatalf("%q: error %v, json.Unmarshal %v", doc, err, wantErr)
		}
		if err == nil && !reflect.DeepEqual(got, want) {
			t.Fatalf("%q:\n got %#v\nwant %#v", doc, got, want)
		}
	}
	for _, doc := range []string{
		`[]`, `{}`, ` [ { } , [ ] ] `, `null`, `true`, `false`, `0`, `-0`, `1.5e3`, `-12.25E-2`, `1E+2`, `"x"`,
		`[{"name":"web01","device_type":1,"tags":[{"name":"a"}],"custom_fields":{"x":{"a":[1,2,null]}},"b":true}]`,
		`{"a":1,"a":2}`, `{"é":"Zürich ☃"}`, `"a\"b"`, `"\u00e9"`, `"\ud83d\ude00"`, `"bad \xff utf8"`, "\"ctl\x01\"",
		`01`, `1.`, `.5`, `+1`, `-`, `1e`, `1e+`, `1e400`, `-1e400`, `tru`, `nul`, `[1,]`, `{"a":1,}`, `{"a" 1}`, `{a:1}`,
		`[1 2]`, `[1] x`, `"unterminated`, `{"a":`, `[`, `{`, ``, ` `, `NaN`, `[1e-400]`,
		strings.Repeat("[", 600) + strings.Repeat("]", 600),
	} {
		check(doc)
	}
	for _, doc := range []string{`[{"name":"web01","vcpus":2,"tags":[{"name":"a"}],"x":null,"é":"Zürich"}]`, ` -0.5e-3 `} {
		if d := (fastDecoder{data: []byte(doc)}); func() bool { _, ok := d.value(0); return ok }() == false {
			t.Errorf("%s: the fast path gave up on plain JSON", doc)
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	var gen func(depth int) any
	gen = func(depth int) any {
		switch k := rng.IntN(9); {
		case k == 0 && depth < 4:
			m := map[string]any{}
			for range rng.IntN(5) {
				m[[]string{"name", "id", "é", "a\"b", "tags", "x<y"}[rng.IntN(6)]] = gen(depth + 1)
			}
			return m
		case k == 1 && depth < 4:
			l := []any{}
			for range rng.IntN(5) {
				l = append(l, gen(depth+1))
			}
			return l
		case k == 2:
			return rng.NormFloat64() * 1e6
		case k == 3:
			return float64(rng.IntN(100000))
		case k == 4:
			return []string{"web01", "Zürich", "tab\there", "q\"uote", "", "\u2028", "☃"}[rng.IntN(7)]
		case k == 5:
			return rng.IntN(2) == 0
		case k == 6:
			return nil
		}
		return "x"
	}
	for range 3000 {
		raw, _ := json.MarshalIndent(gen(0), "", strings.Repeat(" ", rng.IntN(3)))
		check(string(raw))
		if len(raw) > 0 { // damage one byte
			b := []byte(string(raw))
			b[rng.IntN(len(b))] = "{}[]\",:0-e. x\\"[rng.IntN(14)]
			check(string(b))
		}
	}
}
