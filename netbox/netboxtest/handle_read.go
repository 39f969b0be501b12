package netboxtest

import (
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
)

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
		offsetLinks(page, base, q, offset, limit, len(matches))
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

// offsetLinks sets a page's next and previous links as NetBox's limit/offset paginator does.
func offsetLinks(page map[string]any, base string, q url.Values, offset, limit, count int) {
	if offset+limit < count {
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
