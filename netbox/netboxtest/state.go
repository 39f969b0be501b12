package netboxtest

import (
	"encoding/json"
	"fmt"
	"sort"
)

// Endpoints lists the collection paths the simulator serves (besides /api/status/).
func (s *Server) Endpoints() []string {
	out := make([]string, 0, len(s.spec.defs))
	for p := range s.spec.defs {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

// Seed creates objects at endpoint (e.g. "/api/dcim/sites/") through the same validation
// as a POST, atomically, and returns their ids.
func (s *Server) Seed(endpoint string, objs ...map[string]any) ([]int, error) {
	def := s.spec.defs[endpoint]
	if def == nil {
		return nil, fmt.Errorf("netboxtest: seed: unknown endpoint %q", endpoint)
	}
	es := s.spec.eps[endpoint]
	s.mu.Lock()
	defer s.mu.Unlock()
	w := s.newWriteCtx()
	ids := make([]int, 0, len(objs))
	for i, m := range objs {
		// Round-trip through JSON so numbers and lists have the types a request body has.
		var body map[string]any
		raw, err := json.Marshal(m)
		if err == nil {
			err = json.Unmarshal(raw, &body)
		}
		if err != nil {
			w.tx.rollback()
			return nil, fmt.Errorf("netboxtest: seed %s[%d]: %w", endpoint, i, err)
		}
		o, fe := w.writeOne(def, nil, body, es.post)
		if fe != nil {
			w.tx.rollback()
			return nil, fmt.Errorf("netboxtest: seed %s[%d]: %s", endpoint, i, jsonBytes(fe))
		}
		ids = append(ids, o.id)
	}
	return ids, nil
}

// MustSeed is Seed that panics on error, for test setup.
func (s *Server) MustSeed(endpoint string, objs ...map[string]any) []int {
	ids, err := s.Seed(endpoint, objs...)
	if err != nil {
		panic(err)
	}
	return ids
}

// Objects returns the full representation of every object at endpoint, by id, as the API
// would return them.
func (s *Server) Objects(endpoint string) []map[string]any {
	return s.objects(endpoint, s.URL, true)
}

// Object returns one object's representation, or nil.
func (s *Server) Object(endpoint string, id int) map[string]any {
	s.mu.RLock()
	defer s.mu.RUnlock()
	t := s.st.tables[endpoint]
	if t == nil || t.byID[id] == nil {
		return nil
	}
	rc := &renderCtx{s: s.st, base: s.URL, profile: s.cfg.profile}
	return rc.render(t.byID[id], s.spec.eps[endpoint].full)
}

// Count returns the number of objects at endpoint.
func (s *Server) Count(endpoint string) int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if t := s.st.tables[endpoint]; t != nil {
		return len(t.ids)
	}
	return 0
}

func (s *Server) objects(endpoint, base string, withTimes bool) []map[string]any {
	s.mu.RLock()
	defer s.mu.RUnlock()
	t := s.st.tables[endpoint]
	if t == nil {
		return nil
	}
	rc := &renderCtx{s: s.st, base: base, profile: s.cfg.profile}
	out := make([]map[string]any, 0, len(t.ids))
	for _, id := range t.ids {
		m := rc.render(t.byID[id], s.spec.eps[endpoint].full)
		if !withTimes {
			StripTimes(m)
		}
		out = append(out, m)
	}
	return out
}

// Snapshot dumps every endpoint's objects without timestamps and with host-relative URLs,
// so two snapshots (also of two servers) compare with reflect.DeepEqual.
func (s *Server) Snapshot() map[string][]map[string]any {
	out := map[string][]map[string]any{}
	for _, p := range s.Endpoints() {
		if objs := s.objects(p, "", false); len(objs) > 0 {
			out[p] = objs
		}
	}
	return out
}

// stripTimes removes created/last_updated at every level (services embed full IP objects).
func StripTimes(v any) {
	switch x := v.(type) {
	case map[string]any:
		delete(x, "created")
		delete(x, "last_updated")
		for _, sub := range x {
			StripTimes(sub)
		}
	case []any:
		for _, sub := range x {
			StripTimes(sub)
		}
	}
}
