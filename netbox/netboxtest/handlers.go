package netboxtest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
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
	if resp, ok := s.objectChanges(r); ok {
		return resp
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
