package netbox

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// fakeNetBox is a deliberately small stand-in for NetBox used by the unit tests of this
// package (error shapes, retries, pagination arithmetic). The integration tests run against
// netbox/netboxtest, the faithful simulator.
type fakeNetBox struct {
	t       *testing.T
	version string // "4.3.7" or "4.7.1"
	auth    string // expected Authorization header

	mu       sync.Mutex
	nextID   int
	objs     map[string]map[int]Object // endpoint -> id -> object
	requests []string                  // "METHOD path"
	// faults are taken one per request, before normal handling; one that returns true has
	// answered the request.
	faults []func(w http.ResponseWriter, r *http.Request) bool
	srv    *httptest.Server
}

func newFake(t *testing.T, version, auth string) *fakeNetBox {
	f := &fakeNetBox{t: t, version: version, auth: auth, objs: map[string]map[int]Object{}}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeNetBox) count(prefix string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, r := range f.requests {
		if strings.HasPrefix(r, prefix) {
			n++
		}
	}
	return n
}

func (f *fakeNetBox) seed(endpoint string, n int, mk func(i int) Object) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := range n {
		f.nextID++
		o := mk(i)
		o["id"] = float64(f.nextID)
		if f.objs[endpoint] == nil {
			f.objs[endpoint] = map[int]Object{}
		}
		f.objs[endpoint][f.nextID] = o
	}
}

func (f *fakeNetBox) all(endpoint string) []Object {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []Object
	for _, o := range f.objs[endpoint] {
		out = append(out, o)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID() < out[j].ID() })
	return out
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func (f *fakeNetBox) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.requests = append(f.requests, r.Method+" "+r.URL.Path)
	var fault func(http.ResponseWriter, *http.Request) bool
	if len(f.faults) > 0 {
		fault = f.faults[0]
		f.faults = f.faults[1:]
	}
	f.mu.Unlock()
	if fault != nil && fault(w, r) {
		return
	}
	f.handle(w, r)
}

// handle answers like NetBox, without faults.
func (f *fakeNetBox) handle(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Authorization") != f.auth {
		writeJSON(w, 403, map[string]any{"detail": "Invalid token"})
		return
	}
	if r.URL.Path == "/api/status/" {
		writeJSON(w, 200, map[string]any{"netbox-version": f.version, "plugins": map[string]any{}})
		return
	}
	ep := strings.Trim(strings.TrimPrefix(r.URL.Path, "/api/"), "/")
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.objs[ep] == nil {
		f.objs[ep] = map[int]Object{}
	}
	table := f.objs[ep]
	switch r.Method {
	case http.MethodGet:
		f.list(w, r, table)
	case http.MethodPost, http.MethodPatch:
		var in []Object
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
			writeJSON(w, 400, map[string]any{"detail": "JSON parse error"})
			return
		}
		errs := make([]map[string]any, len(in))
		bad := false
		for i, o := range in {
			errs[i] = map[string]any{}
			if name, ok := o["name"]; ok && (name == "" || name == "INVALID") {
				errs[i]["name"] = []string{"This field may not be blank."}
				bad = true
			}
			if r.Method == http.MethodPost {
				for _, ex := range table {
					if ex.String("name") == o.String("name") {
						errs[i]["__all__"] = []string{"Device name must be unique per site."}
						bad = true
					}
				}
			}
		}
		if bad {
			f.reject(w, r, errs)
			return
		}
		var out []Object
		for _, o := range in {
			if r.Method == http.MethodPost {
				f.nextID++
				o["id"] = float64(f.nextID)
				table[f.nextID] = o
				out = append(out, o)
				continue
			}
			ex, ok := table[o.ID()]
			if !ok {
				continue // NetBox skips unknown ids
			}
			for k, v := range o {
				ex[k] = v
			}
			out = append(out, ex)
		}
		code := 200
		if r.Method == http.MethodPost {
			code = 201
		}
		writeJSON(w, code, out)
	case http.MethodDelete:
		var in []Object
		_ = json.NewDecoder(r.Body).Decode(&in)
		for _, o := range in {
			if ex, ok := table[o.ID()]; ok && ex["protected"] == true {
				writeJSON(w, 409, map[string]any{"detail": "Unable to delete object. 1 dependent objects were found: x"})
				return
			}
		}
		for _, o := range in {
			delete(table, o.ID())
		}
		w.WriteHeader(204)
	}
}

// reject answers a bulk write NetBox's way for the version: 4.3 gives one dict per object
// for POST and the first bad object's dict for PATCH; 4.7 gives detail + indexed errors.
func (f *fakeNetBox) reject(w http.ResponseWriter, r *http.Request, errs []map[string]any) {
	if strings.HasPrefix(f.version, "4.7") {
		var list []map[string]any
		for i, e := range errs {
			if len(e) > 0 {
				list = append(list, map[string]any{"index": i, "errors": e})
			}
		}
		writeJSON(w, 400, map[string]any{"detail": "Bulk operation failed", "errors": list})
		return
	}
	if r.Method == http.MethodPatch {
		for _, e := range errs {
			if len(e) > 0 {
				writeJSON(w, 400, e)
				return
			}
		}
	}
	writeJSON(w, 400, errs)
}

func (f *fakeNetBox) list(w http.ResponseWriter, r *http.Request, table map[int]Object) {
	q := r.URL.Query()
	var ids []int
	for id := range table {
		ids = append(ids, id)
	}
	sort.Ints(ids)
	var match []Object
	idIn := map[int]bool{}
	for _, p := range q["id"] { // repeated id=, as NetBox takes them (it ignores id__in)
		n, _ := strconv.Atoi(p)
		idIn[n] = true
	}
	for _, id := range ids {
		o := table[id]
		if len(idIn) > 0 && !idIn[id] {
			continue
		}
		if n := q["name"]; len(n) > 0 && !contains(n, o.String("name")) {
			continue
		}
		if n := q["slug"]; len(n) > 0 && !contains(n, o.String("slug")) {
			continue
		}
		if n := q["cf_agent_id"]; len(n) > 0 && !contains(n, fmt.Sprint(o.CustomField("agent_id"))) {
			continue
		}
		match = append(match, o)
	}
	limit, _ := strconv.Atoi(q.Get("limit"))
	if limit <= 0 || limit > 1000 {
		limit = 1000
	}
	base := "http://" + r.Host + r.URL.Path
	if q.Has("start") && strings.HasPrefix(f.version, "4.7") {
		start, _ := strconv.Atoi(q.Get("start"))
		var page []Object
		for _, o := range match {
			if o.ID() >= start && len(page) < limit {
				page = append(page, o)
			}
		}
		var next any
		if len(page) == limit && page[len(page)-1].ID() < match[len(match)-1].ID() {
			nq := r.URL.Query()
			nq.Set("start", strconv.Itoa(page[len(page)-1].ID()+1))
			next = base + "?" + nq.Encode()
		}
		writeJSON(w, 200, map[string]any{"count": nil, "next": next, "previous": nil, "results": nonNil(page)})
		return
	}
	offset, _ := strconv.Atoi(q.Get("offset"))
	end := min(offset+limit, len(match))
	var page []Object
	if offset < len(match) {
		page = match[offset:end]
	}
	var next any
	if end < len(match) {
		nq := r.URL.Query()
		nq.Set("offset", strconv.Itoa(end))
		next = base + "?" + nq.Encode()
	}
	writeJSON(w, 200, map[string]any{"count": len(match), "next": next, "previous": nil, "results": nonNil(page)})
}

func nonNil(p []Object) []Object {
	if p == nil {
		return []Object{}
	}
	return p
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
