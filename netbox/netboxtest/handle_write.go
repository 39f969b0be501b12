package netboxtest

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strings"
)

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
	now := s.cfg.clock().UTC().Truncate(1000)
	return &writeCtx{s: s.st, tx: &tx{s: s.st, now: now}, spec: s.spec, profile: s.cfg.profile, now: now}
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
