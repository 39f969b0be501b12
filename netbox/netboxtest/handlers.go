package netboxtest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
)

type response struct {
	status   int
	body     []byte
	objects  int
	etag     string
	location string   // a redirect's Location
	ignored  []string // query parameters that are no filter the simulator knows
}

// etagOf is the weak ETag NetBox 4.6+ sends for an object, derived from last_updated.
func etagOf(o *object) string {
	return fmt.Sprintf(`W/"%x-%x"`, o.id, o.updated.UnixMicro())
}

// preconditionFailed checks If-Match (4.6+): a write to an object changed since the client
// read it is refused with 412.
func (s *Server) preconditionFailed(r *http.Request, o *object) *response {
	im := r.Header.Get("If-Match")
	if !s.cfg.profile.etags() || im == "" || im == "*" {
		return nil
	}
	for _, tag := range strings.Split(im, ",") {
		if strings.TrimSpace(tag) == etagOf(o) {
			return nil
		}
	}
	resp := detail(http.StatusPreconditionFailed, "Precondition failed: the object has been modified since it was retrieved.")
	return &resp
}

const maxBody = 256 << 20

func jsonBytes(v any) []byte { return appendJSON(make([]byte, 0, 1024), v) }

// jsonRespSized pre-sizes the buffer for n objects (about 2 KB each in full).
func jsonRespSized(status int, v any, n int) response {
	return response{status: status, body: appendJSON(make([]byte, 0, 1024+n*2048), v)}
}

func jsonResp(status int, v any) response { return response{status: status, body: jsonBytes(v)} }

func detail(status int, msg string) response { return jsonResp(status, map[string]any{"detail": msg}) }

func (s *Server) process(r *http.Request) response {
	if resp, ok := s.authenticate(r); !ok {
		return resp
	}
	path := r.URL.Path
	// Django's APPEND_SLASH: a GET of a known path without its slash is a 301 to it.
	if !strings.HasSuffix(path, "/") && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
		if d, _, _ := s.route(path + "/"); d != nil || path+"/" == pathStatus || path == "/api" {
			return response{status: http.StatusMovedPermanently, location: path + "/"}
		}
		if _, ok := unmodelled[path+"/"]; ok {
			return response{status: http.StatusMovedPermanently, location: path + "/"}
		}
	}
	if path == "/api/" && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
		return apiRoot(r)
	}
	if resp, ok := s.serveUnmodelled(r); ok {
		return resp
	}
	if path == pathStatus {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			return detail(http.StatusMethodNotAllowed, fmt.Sprintf("Method \"%s\" not allowed.", r.Method))
		}
		return jsonResp(http.StatusOK, s.status())
	}
	def, id, item := s.route(path)
	if def == nil {
		return detail(http.StatusNotFound, "Not found.")
	}
	switch {
	case !item && (r.Method == http.MethodGet || r.Method == http.MethodHead):
		return s.list(r, def)
	case item && (r.Method == http.MethodGet || r.Method == http.MethodHead):
		return s.get(r, def, id)
	case !item && r.Method == http.MethodPost:
		return s.create(r, def)
	case item && (r.Method == http.MethodPatch || r.Method == http.MethodPut):
		return s.update(r, def, id)
	case !item && (r.Method == http.MethodPatch || r.Method == http.MethodPut):
		return s.bulkUpdate(r, def)
	case item && r.Method == http.MethodDelete:
		return s.delete(r, def, []int{id}, true)
	case !item && r.Method == http.MethodDelete:
		return s.bulkDelete(r, def)
	}
	return detail(http.StatusMethodNotAllowed, fmt.Sprintf("Method \"%s\" not allowed.", r.Method))
}

func (s *Server) status() map[string]any {
	v := s.cfg.profile.NetBoxVersion()
	return map[string]any{
		"django-version":      "5.2.6",
		"installed-apps":      map[string]any{"django_filters": "25.1", "django_tables2": "2.7.5", "rest_framework": "3.16.0"},
		"netbox-version":      v,
		"netbox-full-version": v,
		"plugins":             map[string]any{},
		"python-version":      "3.12.3",
		"rq-workers-running":  1,
	}
}

// authenticate checks the Authorization header as NetBox does: every failure is a 403.
func (s *Server) authenticate(r *http.Request) (response, bool) {
	h := r.Header.Get("Authorization")
	scheme, tok, _ := strings.Cut(strings.TrimSpace(h), " ")
	tok = strings.TrimSpace(tok)
	noCreds := detail(http.StatusForbidden, "Authentication credentials were not provided.")
	var found *Token
	switch {
	case h == "":
		return noCreds, false
	case strings.EqualFold(scheme, "Token"):
		for i := range s.cfg.tokens {
			if t := &s.cfg.tokens[i]; isV1Token(t.Value) && t.Value == tok {
				found = t
			}
		}
		if found == nil {
			return detail(http.StatusForbidden, "Invalid token"), false
		}
	case strings.EqualFold(scheme, "Bearer") && s.cfg.profile.v2Tokens():
		for i := range s.cfg.tokens {
			if t := &s.cfg.tokens[i]; isV2Token(t.Value) && t.Value == tok {
				found = t
			}
		}
		if found == nil {
			return detail(http.StatusForbidden, "Invalid v2 token"), false
		}
	default:
		return noCreds, false
	}
	if found.Expired {
		return detail(http.StatusForbidden, "Token expired"), false
	}
	if found.ReadOnly && r.Method != http.MethodGet && r.Method != http.MethodHead && r.Method != http.MethodOptions {
		return detail(http.StatusForbidden, "You do not have permission to perform this action."), false
	}
	return response{}, true
}

// route maps a path to an endpoint and, for /<endpoint>/<id>/, the id.
func (s *Server) route(path string) (*endpoint, int, bool) {
	if def := s.spec.defs[path]; def != nil {
		return def, 0, false
	}
	trimmed := strings.TrimSuffix(path, "/")
	i := strings.LastIndexByte(trimmed, '/')
	if i < 0 || !strings.HasSuffix(path, "/") {
		return nil, 0, false
	}
	def := s.spec.defs[trimmed[:i+1]]
	if def == nil {
		return nil, 0, false
	}
	id, err := strconv.Atoi(trimmed[i+1:])
	if err != nil || id <= 0 {
		return nil, 0, false
	}
	return def, id, true
}

func (s *Server) renderCtx(r *http.Request) *renderCtx {
	base := ""
	if r != nil {
		base = "http://" + r.Host
	}
	write := r != nil && r.Method == http.MethodPost
	return &renderCtx{s: s.st, base: base, profile: s.cfg.profile, write: write}
}

// planFor applies ?brief and ?fields to the full representation.
func planFor(def *endpoint, es *epSpec, q url.Values) ([]propPlan, bool) {
	if f := q.Get("fields"); f != "" {
		return filterPlan(es.full, strings.Split(f, ",")), false
	}
	if b := strings.ToLower(q.Get("brief")); b == "true" || b == "1" || b == "yes" || b == "on" {
		return filterPlan(es.full, def.brief), false
	}
	return es.full, true
}

func (s *Server) checkResponse(r *http.Request, schema *openapi3.Schema, body []byte) {
	if !s.cfg.validateResponse {
		return
	}
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		s.recordRespErr(r, err)
		return
	}
	dropNulls(v, s.spec.nullChoices)
	if err := validateResponse(schema, v); err != nil {
		s.recordRespErr(r, err)
	}
}

// dropNulls removes unset custom fields and unset choice fields before validation: NetBox answers null
// for them, which the spec's untyped additionalProperties does not allow, and go-netbox
// decodes custom_fields into a map[string]any, where null is fine.
func dropNulls(v any, nullChoices map[string]bool) {
	switch x := v.(type) {
	case map[string]any:
		for k, sub := range x {
			if sub == nil && nullChoices[k] {
				delete(x, k)
				continue
			}
			if cf, ok := sub.(map[string]any); ok && k == "custom_fields" {
				for name, val := range cf {
					if val == nil {
						delete(cf, name)
					}
				}
				continue
			}
			dropNulls(sub, nullChoices)
		}
	case []any:
		for _, sub := range x {
			dropNulls(sub, nullChoices)
		}
	}
}

func (s *Server) recordRespErr(r *http.Request, err error) {
	msg := fmt.Sprintf("%s %s: %v", r.Method, r.URL.Path, err)
	if len(msg) > 2000 {
		msg = msg[:2000] + "..."
	}
	s.logMu.Lock()
	s.respErrs = append(s.respErrs, msg)
	s.logMu.Unlock()
}

func (s *Server) list(r *http.Request, def *endpoint) response {
	es := s.spec.eps[def.path]
	q := r.URL.Query()
	// NetBox's paginator reads limit and offset itself: a value that is not a number falls
	// back to the default, it is no error.
	for _, k := range []string{"limit", "offset"} {
		if _, err := strconv.Atoi(q.Get(k)); q.Has(k) && err != nil {
			q.Del(k)
		}
	}
	if fe := validateQuery(r.Context(), es, r, q); fe != nil {
		return jsonResp(http.StatusBadRequest, fe)
	}
	limit := 50
	if v := q.Get("limit"); v != "" {
		if n, err := strconv.Atoi(v); err == nil && n >= 0 {
			limit = n
			if n == 0 || n > 1000 {
				limit = 1000
			}
		}
	}
	cursor := s.cfg.profile.cursorPagination() && q.Has("start")
	start := 0
	if cursor {
		if q.Has("offset") {
			return detail(http.StatusBadRequest, "The 'start' and 'offset' query parameters are mutually exclusive.")
		}
		n, err := strconv.Atoi(q.Get("start"))
		if err != nil || n < 0 {
			return jsonResp(http.StatusBadRequest, fieldErrors{"start": []string{"A valid integer is required."}})
		}
		start = n
	}
	offset := 0
	if n, err := strconv.Atoi(q.Get("offset")); err == nil && n > 0 {
		offset = n
	}

	s.mu.RLock()
	matches, ignored, fe := s.filter(def, q)
	if fe != nil {
		s.mu.RUnlock()
		return jsonResp(http.StatusBadRequest, fe)
	}
	if !cursor {
		order(def, matches, q)
	}
	plan, full := planFor(def, es, q)
	rc := s.renderCtx(r)
	base := "http://" + r.Host + r.URL.Path
	page := map[string]any{"next": nil, "previous": nil}
	var window []*object
	if cursor {
		i := sort.Search(len(matches), func(i int) bool { return matches[i].id >= start })
		end := min(i+limit, len(matches))
		window = matches[i:end]
		page["count"] = nil
		if end < len(matches) && len(window) > 0 {
			nq := cloneQuery(q)
			nq.Set("start", strconv.Itoa(window[len(window)-1].id+1))
			nq.Set("limit", strconv.Itoa(limit))
			page["next"] = base + "?" + nq.Encode()
		}
	} else {
		page["count"] = len(matches)
		lo := min(offset, len(matches))
		hi := min(offset+limit, len(matches))
		window = matches[lo:hi]
		if offset+limit < len(matches) {
			nq := cloneQuery(q)
			nq.Set("limit", strconv.Itoa(limit))
			nq.Set("offset", strconv.Itoa(offset+limit))
			page["next"] = base + "?" + nq.Encode()
		}
		if offset > 0 {
			pq := cloneQuery(q)
			pq.Set("limit", strconv.Itoa(limit))
			if offset-limit <= 0 {
				pq.Del("offset")
			} else {
				pq.Set("offset", strconv.Itoa(offset-limit))
			}
			page["previous"] = base + "?" + pq.Encode()
		}
	}
	results, _ := rc.appendRenderedList(make([]byte, 0, 1024+len(window)*2048), window, plan)
	s.mu.RUnlock()
	page["results"] = rawJSON(results)
	resp := jsonRespSized(http.StatusOK, page, len(window))
	resp.objects = len(window)
	resp.ignored = ignored
	if full && !cursor {
		s.checkResponse(r, es.listResp, resp.body)
	}
	return resp
}

func cloneQuery(q url.Values) url.Values {
	out := url.Values{}
	for k, v := range q {
		out[k] = append([]string(nil), v...)
	}
	return out
}

func notFound(def *endpoint) response {
	return detail(http.StatusNotFound, fmt.Sprintf("No %s matches the given query.", def.objectName))
}

func (s *Server) get(r *http.Request, def *endpoint, id int) response {
	es := s.spec.eps[def.path]
	s.mu.RLock()
	o := s.st.tables[def.path].byID[id]
	if o == nil {
		s.mu.RUnlock()
		return notFound(def)
	}
	plan, full := planFor(def, es, r.URL.Query())
	out := s.renderCtx(r).render(o, plan)
	etag := etagOf(o)
	s.mu.RUnlock()
	resp := jsonResp(http.StatusOK, out)
	resp.objects = 1
	if s.cfg.profile.etags() {
		resp.etag = etag
	}
	if full {
		s.checkResponse(r, es.resp, resp.body)
	}
	return resp
}

// readBody decodes the JSON body.
func readBody(r *http.Request) (any, *response) {
	data, err := io.ReadAll(io.LimitReader(r.Body, maxBody))
	if err != nil {
		resp := detail(http.StatusBadRequest, "could not read request body: "+err.Error())
		return nil, &resp
	}
	if len(bytes.TrimSpace(data)) == 0 {
		resp := jsonResp(http.StatusBadRequest, fieldErrors{"non_field_errors": []string{"No data provided"}})
		return nil, &resp
	}
	v, err := decodeJSON(data)
	if err != nil {
		resp := detail(http.StatusBadRequest, "JSON parse error - "+err.Error())
		return nil, &resp
	}
	return v, nil
}

func notADict(v any) fieldErrors {
	return fieldErrors{"non_field_errors": []string{fmt.Sprintf("Invalid data. Expected a dictionary, but got %s.", pyType(v))}}
}

func (s *Server) newWriteCtx() *writeCtx {
	return &writeCtx{s: s.st, tx: &tx{s: s.st}, spec: s.spec, profile: s.cfg.profile, now: s.cfg.clock().UTC().Truncate(1000)}
}

// bulkError answers a failed bulk write in the profile's shape.
func (s *Server) bulkError(errs []fieldErrors, firstOnly bool) response {
	if s.cfg.profile.bulkErrorsV2() {
		var list []any
		for i, e := range errs {
			if len(e) > 0 {
				list = append(list, map[string]any{"index": i, "errors": e})
			}
		}
		return jsonResp(http.StatusBadRequest, map[string]any{
			"detail": fmt.Sprintf("Bulk operation failed: %d of %d objects are invalid.", len(list), len(errs)),
			"errors": list,
		})
	}
	if firstOnly {
		for _, e := range errs {
			if len(e) > 0 {
				return jsonResp(http.StatusBadRequest, e)
			}
		}
	}
	list := make([]any, len(errs))
	for i, e := range errs {
		if e == nil {
			e = fieldErrors{}
		}
		list[i] = e
	}
	return jsonResp(http.StatusBadRequest, list)
}

func (s *Server) create(r *http.Request, def *endpoint) response {
	es := s.spec.eps[def.path]
	body, bad := readBody(r)
	if bad != nil {
		return *bad
	}
	items, isList := body.([]any)
	if !isList {
		items = []any{body}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	w := s.newWriteCtx()
	errs := make([]fieldErrors, len(items))
	created := make([]*object, 0, len(items))
	failed := false
	for i, it := range items {
		m, ok := it.(map[string]any)
		if !ok {
			errs[i], failed = notADict(it), true
			continue
		}
		o, fe := w.writeOne(def, nil, m, es.post)
		if fe != nil {
			errs[i], failed = fe, true
			continue
		}
		created = append(created, o)
	}
	if failed {
		w.tx.rollback()
		if !isList {
			return jsonResp(http.StatusBadRequest, errs[0])
		}
		resp := s.bulkError(errs, false)
		resp.objects = len(items)
		return resp
	}
	rc := s.renderCtx(r)
	t := s.st.tables[def.path]
	var resp response
	if isList {
		objs := make([]*object, len(created))
		for i, o := range created {
			objs[i] = t.byID[o.id]
		}
		body, spans := rc.appendRenderedList(make([]byte, 0, 1024+len(objs)*2048), objs, es.full)
		resp = response{status: http.StatusCreated, body: body}
		for _, sp := range spans {
			s.checkResponse(r, es.resp, body[sp[0]:sp[1]])
			if !s.cfg.validateResponse {
				break
			}
		}
	} else {
		resp = jsonResp(http.StatusCreated, rc.render(t.byID[created[0].id], es.full))
		s.checkResponse(r, es.resp, resp.body)
	}
	resp.objects = len(items)
	return resp
}

func (s *Server) update(r *http.Request, def *endpoint, id int) response {
	es := s.spec.eps[def.path]
	body, bad := readBody(r)
	if bad != nil {
		return *bad
	}
	m, ok := body.(map[string]any)
	if !ok {
		return jsonResp(http.StatusBadRequest, notADict(body))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.st.tables[def.path]
	old := t.byID[id]
	if old == nil {
		return notFound(def)
	}
	if pf := s.preconditionFailed(r, old); pf != nil {
		return *pf
	}
	schema := es.patch
	if r.Method == http.MethodPut {
		schema = es.put
	}
	w := s.newWriteCtx()
	if _, fe := w.writeOne(def, old, m, schema); fe != nil {
		w.tx.rollback()
		return jsonResp(http.StatusBadRequest, fe)
	}
	resp := jsonResp(http.StatusOK, s.renderCtx(r).render(t.byID[id], es.full))
	resp.objects = 1
	if s.cfg.profile.etags() {
		resp.etag = etagOf(t.byID[id])
	}
	s.checkResponse(r, es.resp, resp.body)
	return resp
}

// bulkItems reads a list of objects that each carry an integer id.
func bulkItems(r *http.Request) ([]map[string]any, []int, *response) {
	body, bad := readBody(r)
	if bad != nil {
		return nil, nil, bad
	}
	list, ok := body.([]any)
	if !ok {
		resp := jsonResp(http.StatusBadRequest, fieldErrors{"non_field_errors": []string{fmt.Sprintf("Expected a list of items but got type %q.", pyType(body))}})
		return nil, nil, &resp
	}
	items := make([]map[string]any, len(list))
	ids := make([]int, len(list))
	errs := make([]any, len(list))
	failed := false
	for i, it := range list {
		errs[i] = map[string]any{}
		m, ok := it.(map[string]any)
		if !ok {
			errs[i], failed = notADict(it), true
			continue
		}
		id, ok := toInt(m["id"])
		switch {
		case m["id"] == nil:
			errs[i], failed = fieldErrors{"id": []string{"This field is required."}}, true
		case !ok:
			errs[i], failed = fieldErrors{"id": []string{"A valid integer is required."}}, true
		}
		items[i], ids[i] = m, id
	}
	if failed {
		resp := jsonResp(http.StatusBadRequest, errs)
		return nil, nil, &resp
	}
	return items, ids, nil
}

func (s *Server) bulkUpdate(r *http.Request, def *endpoint) response {
	es := s.spec.eps[def.path]
	items, ids, bad := bulkItems(r)
	if bad != nil {
		return *bad
	}
	schema := es.patch // partial: required fields relaxed
	if r.Method == http.MethodPut {
		schema = es.put
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.st.tables[def.path]
	w := s.newWriteCtx()
	errs := make([]fieldErrors, len(items))
	var updated []int
	failed := false
	for i, m := range items {
		old := t.byID[ids[i]]
		if old == nil {
			continue // unknown ids are skipped, as NetBox filters the queryset by the given ids
		}
		data := make(map[string]any, len(m))
		for k, v := range m {
			if k != "id" {
				data[k] = v
			}
		}
		if _, fe := w.writeOne(def, old, data, schema); fe != nil {
			errs[i], failed = fe, true
			continue
		}
		updated = append(updated, ids[i])
	}
	if failed {
		w.tx.rollback()
		resp := s.bulkError(errs, true)
		resp.objects = len(items)
		return resp
	}
	rc := s.renderCtx(r)
	objs := make([]*object, 0, len(updated))
	for _, id := range updated {
		objs = append(objs, t.byID[id])
	}
	// NetBox's BulkUpdateModelMixin walks the queryset, so the answer is in the model's
	// ordering, not the request's.
	order(def, objs, nil)
	body, spans := rc.appendRenderedList(make([]byte, 0, 1024+len(objs)*2048), objs, es.full)
	resp := response{status: http.StatusOK, body: body}
	if len(spans) > 0 {
		s.checkResponse(r, es.resp, body[spans[0][0]:spans[0][1]])
	}
	resp.objects = len(items)
	return resp
}

func (s *Server) bulkDelete(r *http.Request, def *endpoint) response {
	_, ids, bad := bulkItems(r)
	if bad != nil {
		return *bad
	}
	return s.delete(r, def, ids, false)
}

func (s *Server) delete(r *http.Request, def *endpoint, ids []int, single bool) response {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.st.tables[def.path]
	if single && t.byID[ids[0]] == nil {
		return notFound(def)
	}
	if single {
		if pf := s.preconditionFailed(r, t.byID[ids[0]]); pf != nil {
			return *pf
		}
	}
	w := s.newWriteCtx()
	var protected []*object
	deleted := map[*object]bool{}
	for _, id := range ids {
		w.deleteObj(t, id, &protected, deleted)
	}
	// An object that protects another but is deleted by the same cascade does not block it.
	var blocking []*object
	seen := map[*object]bool{}
	for _, p := range protected {
		if !deleted[p] && !seen[p] {
			seen[p] = true
			blocking = append(blocking, p)
		}
	}
	if len(blocking) > 0 {
		w.tx.rollback()
		rc := s.renderCtx(r)
		names := make([]string, len(blocking))
		for i, p := range blocking {
			names[i] = fmt.Sprintf("%v (%d)", commonComputed(p.ep, "display")(rc, p), p.id)
		}
		return detail(http.StatusConflict, fmt.Sprintf("Unable to delete object. %d dependent objects were found: %s",
			len(blocking), strings.Join(names, ", ")))
	}
	return response{status: http.StatusNoContent, objects: len(ids)}
}
