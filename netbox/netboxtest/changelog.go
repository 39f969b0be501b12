package netboxtest

import (
	"crypto/rand"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// pathObjectChanges is NetBox's change log (core/object-changes, NetBox 4.1+).
const pathObjectChanges = "/api/core/object-changes/"

// change is one entry of the change log. NetBox writes one per object a request created,
// updated or deleted (a second save of the same object in one request updates the entry);
// SET_NULL and tag removals that a delete causes are queryset updates and write none. Ids
// come from a sequence: a rolled back request leaves a gap.
type change struct {
	id        int
	time      time.Time
	requestID string
	action    string // create, update, delete
	objType   string // "dcim.device"
	objID     int
	repr      string
}

// changeLog is the state's change log.
type changeLog struct {
	entries []change // ascending id
	nextID  int
}

// logChange records what tx did to o (o is the object as stored, or as it was for a delete).
func (x *tx) logChange(action string, o *object) {
	if x.quiet {
		return
	}
	key := fmt.Sprintf("%s:%d", o.ep.objectType, o.id)
	if x.logged == nil {
		x.logged = map[string]int{}
	}
	cl := &x.s.changes
	if i, ok := x.logged[key]; ok && action != "delete" {
		cl.entries[i].repr = reprOf(o)
		return
	}
	if x.requestID == "" {
		x.requestID = newRequestID()
	}
	cl.nextID++
	x.logged[key] = len(cl.entries)
	cl.entries = append(cl.entries, change{id: cl.nextID, time: x.now, requestID: x.requestID, action: action,
		objType: o.ep.objectType, objID: o.id, repr: reprOf(o)})
}

func reprOf(o *object) string {
	for _, k := range []string{"name", "model", "address", "mac_address"} {
		if s := strField(o, k); s != "" {
			return s
		}
	}
	return strconv.Itoa(o.id)
}

func newRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%x-%x-4%x-8%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])[:36]
}

var changeActionLabels = map[string]string{"create": "Created", "update": "Updated", "delete": "Deleted"}

// objectChanges answers GET core/object-changes/ (and one entry by id) with the filters a
// client uses to follow the log: id (and its lookups), changed_object_type, changed_object_id,
// action, request_id; ordering by id or time (NetBox's default: newest first).
func (s *Server) objectChanges(r *http.Request) (response, bool) {
	path := r.URL.Path
	if !strings.HasPrefix(path, pathObjectChanges) {
		return response{}, false
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return detail(http.StatusMethodNotAllowed, fmt.Sprintf("Method \"%s\" not allowed.", r.Method)), true
	}
	base := "http://" + r.Host
	s.mu.RLock()
	defer s.mu.RUnlock()
	entries := s.st.changes.entries
	if rest := strings.TrimPrefix(path, pathObjectChanges); rest != "" {
		id, err := strconv.Atoi(strings.TrimSuffix(rest, "/"))
		if err != nil || !strings.HasSuffix(rest, "/") {
			return detail(http.StatusNotFound, "Not found."), true
		}
		i, ok := slices.BinarySearchFunc(entries, id, func(c change, id int) int { return c.id - id })
		if !ok {
			return detail(http.StatusNotFound, "No ObjectChange matches the given query."), true
		}
		return jsonResp(http.StatusOK, renderChange(base, entries[i], nil, s.cfg.profile)), true
	}
	q := r.URL.Query()
	var ignored []string
	var keep []func(c change) bool
	num := func(_ string, v string) (int, bool) {
		n, err := strconv.Atoi(v)
		return n, err == nil
	}
	bad := fieldErrors{}
	for k, vs := range q {
		switch k {
		case "limit", "offset", "start", "ordering", "fields", "brief", "format":
			continue
		case "id", "changed_object_id":
			var want []int
			for _, v := range vs {
				n, ok := num(k, v)
				if !ok {
					bad[k] = []string{"Enter a number."}
					continue
				}
				want = append(want, n)
			}
			field := k
			keep = append(keep, func(c change) bool {
				if field == "id" {
					return slices.Contains(want, c.id)
				}
				return slices.Contains(want, c.objID)
			})
		case "id__gt", "id__gte", "id__lt", "id__lte":
			n, ok := num(k, vs[0])
			if !ok {
				bad[k] = []string{"Enter a number."}
				continue
			}
			op := strings.TrimPrefix(k, "id__")
			keep = append(keep, func(c change) bool {
				switch op {
				case "gt":
					return c.id > n
				case "gte":
					return c.id >= n
				case "lt":
					return c.id < n
				}
				return c.id <= n
			})
		case "changed_object_type", "action", "request_id", "object_repr":
			want := vs
			field := k
			keep = append(keep, func(c change) bool {
				v := map[string]string{"changed_object_type": c.objType, "action": c.action, "request_id": c.requestID, "object_repr": c.repr}[field]
				return slices.Contains(want, v)
			})
		default:
			ignored = append(ignored, k)
		}
	}
	if len(bad) > 0 {
		return jsonResp(http.StatusBadRequest, bad), true
	}
	var matches []change
	for _, c := range entries {
		ok := true
		for _, f := range keep {
			if !f(c) {
				ok = false
				break
			}
		}
		if ok {
			matches = append(matches, c)
		}
	}
	switch strings.TrimSpace(q.Get("ordering")) {
	case "id", "time":
	default: // -time (the model's ordering), -id
		slices.Reverse(matches)
	}
	limit := 50
	if n, err := strconv.Atoi(q.Get("limit")); err == nil && n >= 0 {
		limit = n
		if n == 0 || n > 1000 {
			limit = 1000
		}
	}
	offset := 0
	if n, err := strconv.Atoi(q.Get("offset")); err == nil && n > 0 {
		offset = n
	}
	var fields []string
	if f := q.Get("fields"); f != "" && s.cfg.profile.changeLogV2() {
		fields = strings.Split(f, ",")
	}
	lo, hi := min(offset, len(matches)), min(offset+limit, len(matches))
	results := make([]any, 0, hi-lo)
	for _, c := range matches[lo:hi] {
		results = append(results, renderChange(base, c, fields, s.cfg.profile))
	}
	page := map[string]any{"count": len(matches), "next": nil, "previous": nil, "results": results}
	offsetLinks(page, base+r.URL.Path, q, offset, limit, len(matches))
	resp := jsonResp(http.StatusOK, page)
	resp.objects = len(results)
	resp.ignored = ignored
	return resp, true
}

func renderChange(base string, c change, fields []string, p Profile) map[string]any {
	full := map[string]any{
		"id": c.id, "url": fmt.Sprintf("%s%s%d/", base, pathObjectChanges, c.id),
		"display_url": fmt.Sprintf("%s/core/changelog/%d/", base, c.id),
		"display":     fmt.Sprintf("%s %s %s by admin", c.objType, c.repr, strings.ToLower(changeActionLabels[c.action])),
		"time":        c.time.UTC().Format("2006-01-02T15:04:05.000000Z"),
		"user":        map[string]any{"id": 1, "url": base + "/api/users/users/1/", "display": "admin", "username": "admin"},
		"user_name":   "admin", "request_id": c.requestID,
		"action":              map[string]any{"value": c.action, "label": changeActionLabels[c.action]},
		"changed_object_type": c.objType, "changed_object_id": c.objID, "changed_object": nil,
		"object_repr": c.repr, "message": "", "prechange_data": nil, "postchange_data": nil,
	}
	if !p.changeLogV2() {
		delete(full, "object_repr")
		delete(full, "message")
	}
	if len(fields) == 0 {
		return full
	}
	out := map[string]any{}
	for _, f := range fields {
		if v, ok := full[strings.TrimSpace(f)]; ok {
			out[strings.TrimSpace(f)] = v
		}
	}
	return out
}
