package netbox

import (
	"encoding/json"
	"reflect"
	"testing"
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
