package netboxtest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
)

func TestChangeLogFollowsWrites(t *testing.T) {
	s := NewTestServer(t, WithProfile(Profile47))
	do := func(method, path, body string) (int, map[string]any) {
		t.Helper()
		req, _ := http.NewRequest(method, s.URL+path, strings.NewReader(body))
		req.Header.Set("Authorization", s.AuthHeader())
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out
	}
	changes := func(query string) []string {
		t.Helper()
		code, page := do("GET", "/api/core/object-changes/?"+query, "")
		if code != 200 {
			t.Fatalf("GET object-changes?%s: %d %v", query, code, page)
		}
		var out []string
		for _, r := range page["results"].([]any) {
			m := r.(map[string]any)
			out = append(out, fmt.Sprintf("%v %v %v", m["action"].(map[string]any)["value"], m["changed_object_type"], m["object_repr"]))
		}
		return out
	}
	_, site := do("POST", "/api/dcim/sites/", `{"name":"a","slug":"a"}`)
	id := int(site["id"].(float64))
	do("PATCH", fmt.Sprintf("/api/dcim/sites/%d/", id), `{"name":"b"}`)
	// a bulk create that fails on its second object writes nothing and logs nothing
	if code, _ := do("POST", "/api/dcim/sites/", `[{"name":"c","slug":"c"},{"name":"b","slug":"b"}]`); code != 400 {
		t.Fatalf("duplicate bulk create answered %d, want 400", code)
	}
	do("DELETE", fmt.Sprintf("/api/dcim/sites/%d/", id), "")
	got := strings.Join(changes("ordering=id"), "; ")
	want := "create dcim.site a; update dcim.site b; delete dcim.site b"
	if got != want {
		t.Errorf("change log = %q, want %q", got, want)
	}
	if got := strings.Join(changes(""), "; "); got != "delete dcim.site b; update dcim.site b; create dcim.site a" {
		t.Errorf("default ordering (newest first) = %q", got)
	}
	if got := changes("ordering=id&id__gt=1"); len(got) != 2 {
		t.Errorf("id__gt=1 = %q, want the update and the delete", got)
	}
	if got := changes("ordering=id&id=1&id=2"); len(got) != 2 {
		t.Errorf("id=1&id=2 = %q, want 2 entries", got)
	}
	if got := changes("changed_object_type=dcim.device"); len(got) != 0 {
		t.Errorf("changed_object_type=dcim.device = %q, want none", got)
	}
	// the rolled back request used a change id: the ids have a gap, as NetBox's sequence does
	_, page := do("GET", "/api/core/object-changes/?ordering=id&fields=id", "")
	var ids []float64
	for _, r := range page["results"].([]any) {
		ids = append(ids, r.(map[string]any)["id"].(float64))
	}
	if len(ids) != 3 || ids[0] != 1 || ids[1] != 2 || ids[2] <= 3 {
		t.Errorf("change ids %v, want 1, 2 and one after the rolled back request's", ids)
	}
}

func TestChangeLogOf43HasNoReprAndIgnoresFields(t *testing.T) {
	s := NewTestServer(t)
	s.MustSeed("/api/dcim/sites/", map[string]any{"name": "a", "slug": "a"})
	req, _ := http.NewRequest("GET", s.URL+"/api/core/object-changes/?fields=id", nil)
	req.Header.Set("Authorization", s.AuthHeader())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var page struct{ Results []map[string]any }
	if err := json.NewDecoder(resp.Body).Decode(&page); err != nil || len(page.Results) != 1 {
		t.Fatalf("answer %v, %v; want one entry", page, err)
	}
	e := page.Results[0]
	if _, ok := e["object_repr"]; ok {
		t.Error("4.3 answers object_repr; NetBox 4.3.7 does not")
	}
	if _, ok := e["changed_object_type"]; !ok {
		t.Error("4.3 honoured fields=id; NetBox 4.3.7 answers every field")
	}
}
