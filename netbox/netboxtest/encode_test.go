package netboxtest

import (
	"encoding/json"
	"reflect"
	"testing"
)

// TestAppendJSONMatchesEncodingJSON: the fast encoder round-trips like encoding/json.
func TestAppendJSONMatchesEncodingJSON(t *testing.T) {
	values := []any{
		nil, true, false, 0, -7, 1.5, 1e21, 1e-7, 123456789012.0, "", "plain", "quote\" back\\ nl\n tab\t ctl\x01 é 日本 \u2028",
		[]any{}, []any{1, "a", nil}, map[string]any{}, map[string]any{"b": 1, "a": []any{map[string]any{"z": "y"}}},
		[]string{"x", "y"}, []int{3, 4}, fieldErrors{"name": []string{"bad"}},
	}
	for _, v := range values {
		got := appendJSON(nil, v)
		var back, want any
		if err := json.Unmarshal(got, &back); err != nil {
			t.Errorf("%#v encodes to invalid JSON %s: %v", v, got, err)
			continue
		}
		raw, _ := json.Marshal(v)
		_ = json.Unmarshal(raw, &want)
		if !reflect.DeepEqual(back, want) {
			t.Errorf("%#v: got %s, encoding/json %s", v, got, raw)
		}
	}
}
