package netbox

import (
	"encoding/json"
	"errors"
	"io"
	"math"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"
)

// TestAnswerDecoder: the fast scan keeps exactly what decoding whole objects and dropping the
// other fields keeps, and gives up on anything malformed, which then fails as before.
func TestAnswerDecoder(t *testing.T) {
	d := newAnswerDecoder([]string{"name", "serial"})
	good := []string{
		`[]`,
		` [ ] `,
		`[{}]`,
		`[{"id":1}]`,
		`[{"id": 1, "name": "a", "x": {"y": [1, {"z": "}]\"{["}], "w": null}, "serial": null}, {"id":2.0,"name":"b\u00e9\n","other":[[],{}],"t":true,"f":false}]`,
		"[\n  {\n    \"id\": 7,\n    \"url\": \"http://x/api/dcim/devices/7/\",\n    \"custom_fields\": {\"a\": {\"b\": \"\\\\\"}},\n    \"name\": \"n\"\n  }\n]\n",
		`[{"id":1,"id":2}]`,
		`[{"name":{"nested":"object"},"serial":[1,2],"id":-3e2}]`,
	}
	for _, body := range good {
		var full []Object
		if err := json.Unmarshal([]byte(body), &full); err != nil {
			t.Fatalf("%s: %v", body, err)
		}
		want := make([]Object, len(full))
		for i, o := range full {
			want[i] = d.keep(o)
		}
		got, ok := d.scanList([]byte(body))
		if !ok {
			t.Errorf("%s: scan gave up", body)
			continue
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s:\n got %v\nwant %v", body, got, want)
		}
		if viaList, err := d.list([]byte(body)); err != nil || !reflect.DeepEqual(viaList, want) {
			t.Errorf("%s: list = %v, %v", body, viaList, err)
		}
	}
	bad := []string{``, `{}`, `[`, `[{"id":1}`, `[{"id":1},]`, `[{"id":1}]x`, `[{"id":}]`, `[{"id":1,"x":{]}]`,
		`[{"id":1,"x":"unterminated}]`, `[{"i\u0064":1}]`, `[1]`, `[null]`, `[{"id":1 "name":"a"}]`, `[{"id":bogus}]`,
		"[{\"id\":1,\"x\":\"a\x01b\"}]"}
	for _, body := range bad {
		if _, ok := d.scanList([]byte(body)); ok {
			t.Errorf("%q: scan accepted it", body)
		}
		var full []Object
		_, err := d.list([]byte(body))
		if (json.Unmarshal([]byte(body), &full) != nil) != (err != nil) {
			t.Errorf("%q: list error %v, whole decoding disagrees", body, err)
		}
	}
	// escaped member names are left to encoding/json, which unescapes them
	got, err := d.list([]byte(`[{"i\u0064":5,"n\u0061me":"x"}]`))
	if err != nil || len(got) != 1 || got[0].ID() != 5 || got[0]["name"] != "x" {
		t.Errorf("escaped names: %v, %v", got, err)
	}
	if newAnswerDecoder(nil) != nil {
		t.Error("no fields should mean whole objects")
	}
}

type marshalerValue struct{ S string }

func (m marshalerValue) MarshalJSON() ([]byte, error) {
	return []byte(`{ "s" : ` + strconv.Quote(m.S) + ` }`), nil
}

// appenderValue appends its own JSON, the same as its MarshalJSON gives.
type appenderValue struct{ N int }

func (a appenderValue) AppendJSON(b []byte) ([]byte, error) {
	return append(b, `{"n":`+strconv.Itoa(a.N)+`}`...), nil
}
func (a appenderValue) MarshalJSON() ([]byte, error) { return a.AppendJSON(nil) }

// TestEncodeObjectsIsJSONMarshal: request bodies are the bytes json.Marshal gives, errors
// included.
func TestEncodeObjectsIsJSONMarshal(t *testing.T) {
	cases := [][]Object{
		nil,
		{},
		{nil, {}},
		{{"name": "web01", "id": 3, "n64": int64(-5), "f": 1.5, "big": 1e21, "whole": float64(7), "t": true, "nil": nil,
			"tags": []any{map[string]any{"name": "a<b>", "slug": "a&b"}}, "cf": map[string]any{"x": Object{"y": []any{}}},
			"nilmap": map[string]any(nil), "nillist": []any(nil), "s": []string{"x"}, "i": []int{1}, "m": marshalerValue{"q\"<"},
			"uni": "Zürich ☃ \u2028", "ctl": "a\tb\x01", "bad": "\xff", "u8": uint8(3),
			"app": appenderValue{7}, "apps": []any{appenderValue{1}, map[string]any{"a": appenderValue{2}}}}},
	}
	for _, objs := range cases {
		want, wantErr := json.Marshal(objs)
		got, err := encodeObjects(objs)
		if wantErr != nil || err != nil || string(got) != string(want) {
			t.Errorf("%v:\n got %s (%v)\nwant %s (%v)", objs, got, err, want, wantErr)
		}
	}
	for _, bad := range []Object{{"x": math.NaN()}, {"c": make(chan int)}, {"l": []any{math.Inf(1)}}} {
		_, wantErr := json.Marshal(bad)
		if _, err := encodeObjects([]Object{bad}); err == nil || wantErr == nil || err.Error() != wantErr.Error() {
			t.Errorf("%v: error %v, json.Marshal says %v", bad, err, wantErr)
		}
	}
}

// TestReadAnswer: the announced length only sizes the buffer; what is read is what came.
func TestReadAnswer(t *testing.T) {
	body := strings.Repeat("x", 5000)
	for _, length := range []int64{-1, 0, 10, 4999, 5000, 5001, 1 << 40} {
		got, err := readAnswer(strings.NewReader(body), length)
		if err != nil || string(got) != body {
			t.Errorf("length %d: %d bytes, %v", length, len(got), err)
		}
	}
	r := io.MultiReader(strings.NewReader("abc"), iotest.ErrReader(io.ErrUnexpectedEOF))
	if got, err := readAnswer(r, 10); !errors.Is(err, io.ErrUnexpectedEOF) || string(got) != "abc" {
		t.Errorf("truncated: %q, %v", got, err)
	}
}
