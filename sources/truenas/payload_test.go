package truenas

import (
	"encoding/json"
	"testing"
	"time"
)

func TestDecoders(t *testing.T) {
	scrub := time.Date(2026, 11, 23, 3, 12, 45, 0, time.UTC)
	dates := []struct {
		in   string
		want time.Time
	}{
		{`{"$date": 1795403565000}`, scrub},
		{`1795403565000`, scrub},
		{`"2026-11-23T03:12:45Z"`, scrub},
		{`null`, time.Time{}},
		{`{"$date": "soon"}`, time.Time{}},
		{`"yesterday"`, time.Time{}},
	}
	for _, tc := range dates {
		var d jsonDate
		if err := json.Unmarshal([]byte(tc.in), &d); err != nil || !d.Equal(tc.want) {
			t.Errorf("date %s: got %v, %v; want %v", tc.in, d.Time, err, tc.want)
		}
	}
	sizes := []struct {
		in    string
		want  uint64
		valid bool
		bad   bool
	}{
		{`{"value": "1.2G", "rawvalue": "1288490188", "parsed": 1288490188, "source": "NONE"}`, 1288490188, true, false},
		{`{"value": "1.2G", "rawvalue": "1288490188", "parsed": null, "source": "NONE"}`, 1288490188, true, false},
		{`{"value": "1.2G", "rawvalue": "1288490188", "source": "NONE"}`, 1288490188, true, false},
		{`42`, 42, true, false},
		{`"42"`, 42, true, false},
		{`1.5e3`, 1500, true, false},
		{`null`, 0, false, false},
		{`{"value": "-"}`, 0, false, false},
		{`"lots"`, 0, false, true},
		{`-4`, 0, false, true},
	}
	for _, tc := range sizes {
		var p zfsProperty
		err := json.Unmarshal([]byte(tc.in), &p)
		if (err != nil) != tc.bad || p.N != tc.want || p.Valid != tc.valid {
			t.Errorf("size %s: got %d valid=%v err=%v", tc.in, p.N, p.Valid, err)
		}
	}
	var g struct{ A, B flexString }
	if err := json.Unmarshal([]byte(`{"A": "11523431734892347691", "B": 11523431734892347691}`), &g); err != nil ||
		g.A != "11523431734892347691" || g.B != "11523431734892347691" {
		t.Errorf("guid: %+v %v", g, err)
	}
	g.A = "set"
	if err := json.Unmarshal([]byte(`{"A": null}`), &g); err != nil || g.A != "" {
		t.Errorf("guid null: %+v %v", g, err)
	}
	if err := json.Unmarshal([]byte(`{"A": true}`), &g); err == nil {
		t.Errorf("guid true: no error, got %+v", g)
	}
}
