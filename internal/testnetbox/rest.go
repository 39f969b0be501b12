package testnetbox

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/netbox-agent/netbox-agent/netbox/netboxtest"
)

// do sends one API request straight to NetBox (not through the proxy, so it is neither
// logged nor faulted) and decodes the answer into out when out is non-nil.
func (t *Target) do(ctx context.Context, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("%s %s: encode body: %w", method, path, err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, t.upURL+path, rd)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	req.Header.Set("Authorization", t.AuthHeader())
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := t.hc.Do(req)
	if err != nil {
		// The error names the URL but never the token, which travels only in a header.
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("%s %s: read answer: %w", method, path, err)
	}
	if resp.StatusCode >= 300 {
		return fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, truncate(b, 600))
	}
	if out != nil && len(b) > 0 {
		if err := json.Unmarshal(b, out); err != nil {
			return fmt.Errorf("%s %s: decode answer: %w", method, path, err)
		}
	}
	return nil
}

func truncate(b []byte, n int) string {
	if len(b) > n {
		return string(b[:n]) + "..."
	}
	return string(b)
}

func apiPath(ep string) string { return "/api/" + strings.Trim(ep, "/") + "/" }

// List returns every object of endpoint ep ("dcim/devices") matching the query filters
// (nil: all), in NetBox's representation, following pagination.
func (t *Target) List(ep string, query url.Values) ([]map[string]any, error) {
	q := url.Values{}
	for k, v := range query {
		q[k] = v
	}
	q.Set("limit", "1000")
	var out []map[string]any
	for offset := 0; ; {
		q.Set("offset", strconv.Itoa(offset))
		var page struct {
			Count   int              `json:"count"`
			Next    *string          `json:"next"`
			Results []map[string]any `json:"results"`
		}
		if err := t.do(t.tb.Context(), http.MethodGet, apiPath(ep)+"?"+q.Encode(), nil, &page); err != nil {
			return nil, err
		}
		out = append(out, page.Results...)
		if page.Next == nil || len(page.Results) == 0 {
			return out, nil
		}
		offset += len(page.Results)
	}
}

// Objects is List of everything at ep; it fails the test on an error.
func (t *Target) Objects(ep string) []map[string]any {
	t.tb.Helper()
	objs, err := t.List(ep, nil)
	if err != nil {
		t.tb.Fatalf("testnetbox: %v", err)
	}
	return objs
}

// Find returns the one object at ep whose name (case-insensitive) is name, nil when there is
// none; two fail the test.
func (t *Target) Find(ep, name string) map[string]any {
	t.tb.Helper()
	var found map[string]any
	for _, o := range t.Objects(ep) {
		if n, _ := o["name"].(string); strings.EqualFold(n, name) {
			if found != nil {
				t.tb.Fatalf("testnetbox: %s: two objects named %q", ep, name)
			}
			found = o
		}
	}
	return found
}

// Count counts the objects at ep named name (case-insensitive).
func (t *Target) Count(ep, name string) int {
	t.tb.Helper()
	n := 0
	for _, o := range t.Objects(ep) {
		if s, _ := o["name"].(string); strings.EqualFold(s, name) {
			n++
		}
	}
	return n
}

// Create creates objects at ep through the API (as a person or another tool would) and
// returns their ids, in order; it fails the test on an error.
func (t *Target) Create(ep string, objs ...map[string]any) []int {
	t.tb.Helper()
	var out []map[string]any
	if err := t.do(t.tb.Context(), http.MethodPost, apiPath(ep), objs, &out); err != nil {
		t.tb.Fatalf("testnetbox: create: %v", err)
	}
	ids := make([]int, len(out))
	for i, o := range out {
		ids[i] = IntOf(o["id"])
	}
	return ids
}

// Update PATCHes one object through the API, as a person editing it would.
func (t *Target) Update(ep string, id int, fields map[string]any) map[string]any {
	t.tb.Helper()
	var out map[string]any
	if err := t.do(t.tb.Context(), http.MethodPatch, apiPath(ep)+strconv.Itoa(id)+"/", fields, &out); err != nil {
		t.tb.Fatalf("testnetbox: update: %v", err)
	}
	return out
}

// Delete deletes objects by id through the API.
func (t *Target) Delete(ep string, ids ...int) {
	t.tb.Helper()
	if err := t.deleteIDs(t.tb.Context(), ep, ids); err != nil {
		t.tb.Fatalf("testnetbox: delete: %v", err)
	}
}

func (t *Target) deleteIDs(ctx context.Context, ep string, ids []int) error {
	for len(ids) > 0 {
		n := min(len(ids), 500)
		body := make([]map[string]int, n)
		for i, id := range ids[:n] {
			body[i] = map[string]int{"id": id}
		}
		if err := t.do(ctx, http.MethodDelete, apiPath(ep), body, nil); err != nil {
			return err
		}
		ids = ids[n:]
	}
	return nil
}

// Snapshot reads every endpoint in WriteEndpoints (or eps) through the API, without the
// created/last_updated timestamps at any level (as netboxtest's Snapshot), so two runs
// compare; endpoints with no objects are left out.
func (t *Target) Snapshot(eps ...string) map[string][]map[string]any {
	t.tb.Helper()
	if len(eps) == 0 {
		eps = WriteEndpoints
	}
	out := map[string][]map[string]any{}
	for _, ep := range eps {
		if objs := t.Objects(ep); len(objs) > 0 {
			for _, o := range objs {
				netboxtest.StripTimes(o)
			}
			out[ep] = objs
		}
	}
	return out
}

// IntOf reads a JSON number (float64 after decoding) or a nested object's id as an int.
func IntOf(v any) int {
	switch x := v.(type) {
	case float64:
		return int(x)
	case int:
		return x
	case json.Number:
		n, _ := x.Int64()
		return int(n)
	case map[string]any:
		return IntOf(x["id"])
	}
	return 0
}
