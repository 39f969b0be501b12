package netbox

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
)

// Sentinel errors, for errors.Is.
var (
	// ErrBatchRejected: the object was valid but not written, because NetBox rejected its batch
	// (bulk writes are atomic) for another object's sake.
	ErrBatchRejected = errors.New("not written: another object in its batch was rejected")
	// ErrOutcomeUnknown: a create request got no answer and the client could not find out
	// whether the object was written (no lookup key for it).
	ErrOutcomeUnknown = errors.New("outcome unknown: the request got no answer and the object could not be looked up")
	// ErrForbidden: NetBox answered 403 (token refused, expired or lacking permission).
	ErrForbidden = errors.New("forbidden")
	// ErrNotFound: NetBox answered 404, or a bulk update skipped an unknown id.
	ErrNotFound = errors.New("not found")
)

// APIError is an answer from NetBox other than success, after retries. Its message names the
// request (method and path, never the token or query values), the object's index in the
// caller's input for bulk writes, the field, and NetBox's own text.
type APIError struct {
	StatusCode int
	Method     string
	Path       string // URL path, without query
	// Detail is NetBox's "detail" text or, for non-JSON answers, the start of the body.
	Detail string
	// Fields maps a field ("__all__" for model-level errors, "custom_fields.x" for nested
	// ones) to NetBox's messages.
	Fields map[string][]string
	// Index is the object's index in the caller's input for a bulk write, else -1.
	Index int
	// Name is the object's name or display text when known, to help a person find it.
	Name string
	// RequestID is NetBox's X-Request-ID, to find the request in NetBox's logs.
	RequestID string
	// Attempts is how many times the request was sent.
	Attempts int
}

func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "netbox: %s %s: %d %s", e.Method, e.Path, e.StatusCode, http.StatusText(e.StatusCode))
	if e.Attempts > 1 {
		fmt.Fprintf(&b, " (after %d attempts)", e.Attempts)
	}
	if e.Index >= 0 {
		fmt.Fprintf(&b, ": object %d", e.Index)
		if e.Name != "" {
			fmt.Fprintf(&b, " (%q)", e.Name)
		}
	}
	switch e.StatusCode {
	case http.StatusForbidden:
		if strings.Contains(strings.ToLower(e.Detail), "permission") {
			b.WriteString(": the token lacks permission for this request")
		} else {
			b.WriteString(": NetBox refused the token; check the configured token (NETBOX_TOKEN): wrong, expired, or the wrong scheme for this NetBox version")
		}
	case http.StatusNotFound:
		if e.Detail == "" {
			b.WriteString(": no such endpoint or object (check the URL and the NetBox version)")
		}
	}
	if e.Detail != "" {
		fmt.Fprintf(&b, ": %s", e.Detail)
	}
	keys := make([]string, 0, len(e.Fields))
	for k := range e.Fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if k == "__all__" || k == "non_field_errors" {
			fmt.Fprintf(&b, ": %s", strings.Join(e.Fields[k], " "))
		} else {
			fmt.Fprintf(&b, ": %s: %s", k, strings.Join(e.Fields[k], " "))
		}
	}
	if e.RequestID != "" {
		fmt.Fprintf(&b, " [request id %s]", e.RequestID)
	}
	return b.String()
}

// Is makes errors.Is(err, ErrForbidden) and errors.Is(err, ErrNotFound) work.
func (e *APIError) Is(target error) bool {
	switch target {
	case ErrForbidden:
		return e.StatusCode == http.StatusForbidden
	case ErrNotFound:
		return e.StatusCode == http.StatusNotFound
	}
	return false
}

// Messages gives every NetBox message of the error as one string, for tests and logs.
func (e *APIError) Messages() string {
	var parts []string
	if e.Detail != "" {
		parts = append(parts, e.Detail)
	}
	for _, v := range e.Fields {
		parts = append(parts, v...)
	}
	sort.Strings(parts)
	return strings.Join(parts, " ")
}

// parseErrorBody reads NetBox's error shapes: {"detail": ...}, {"field": ["msg"]}, nested
// {"custom_fields": {"x": ["msg"]}}, and 500 pages {"error", "exception"}.
func parseErrorBody(body []byte) (detail string, fields map[string][]string) {
	var top any
	if err := json.Unmarshal(body, &top); err != nil {
		s := strings.TrimSpace(string(body))
		if len(s) > 300 {
			s = s[:300] + "..."
		}
		return s, nil
	}
	switch v := top.(type) {
	case map[string]any:
		return splitDetail(v)
	case []any:
		// A list of per-object errors outside a bulk context, or of strings.
		fields = map[string][]string{}
		for i, item := range v {
			if m, ok := item.(map[string]any); ok {
				d, f := splitDetail(m)
				if d != "" {
					fields[fmt.Sprintf("[%d]", i)] = append(fields[fmt.Sprintf("[%d]", i)], d)
				}
				for k, msgs := range f {
					fields[fmt.Sprintf("[%d].%s", i, k)] = msgs
				}
			} else {
				fields["__all__"] = append(fields["__all__"], fmt.Sprint(item))
			}
		}
		return "", fields
	case string:
		return v, nil
	}
	return strings.TrimSpace(string(body)), nil
}

func splitDetail(m map[string]any) (detail string, fields map[string][]string) {
	fields = map[string][]string{}
	for k, v := range m {
		switch k {
		case "detail":
			detail = fmt.Sprint(v)
			continue
		case "error", "exception", "netbox_version", "python_version":
			// NetBox's 500 body.
			if k == "error" || k == "exception" {
				if detail != "" {
					detail += ": "
				}
				detail += fmt.Sprint(v)
			}
			continue
		}
		flattenField(k, v, fields)
	}
	if len(fields) == 0 {
		fields = nil
	}
	return detail, fields
}

func flattenField(prefix string, v any, out map[string][]string) {
	switch x := v.(type) {
	case string:
		out[prefix] = append(out[prefix], x)
	case []any:
		for i, item := range x {
			switch it := item.(type) {
			case string:
				out[prefix] = append(out[prefix], it)
			default:
				flattenField(fmt.Sprintf("%s[%d]", prefix, i), it, out)
			}
		}
	case map[string]any:
		for k, item := range x {
			flattenField(prefix+"."+k, item, out)
		}
	case nil:
	default:
		out[prefix] = append(out[prefix], fmt.Sprint(x))
	}
}

// batchErrors maps the index within a batch to that object's field errors, from NetBox's
// two bulk shapes: 4.3's list with one dict per object ({} for valid ones) and 4.7's
// {"detail": ..., "errors": [{"index": N, "errors": {...}}]}. ok is false when the body does
// not say which objects were at fault.
func batchErrors(body []byte, n int) (detail string, perIndex map[int]map[string][]string, ok bool) {
	var top any
	if json.Unmarshal(body, &top) != nil {
		return "", nil, false
	}
	perIndex = map[int]map[string][]string{}
	switch v := top.(type) {
	case []any:
		if len(v) != n {
			return "", nil, false
		}
		for i, item := range v {
			m, isMap := item.(map[string]any)
			if !isMap {
				return "", nil, false
			}
			if len(m) == 0 {
				continue
			}
			d, f := splitDetail(m)
			if d != "" {
				if f == nil {
					f = map[string][]string{}
				}
				f["__all__"] = append(f["__all__"], d)
			}
			perIndex[i] = f
		}
	case map[string]any:
		list, isList := v["errors"].([]any)
		if !isList {
			return "", nil, false
		}
		if d, isStr := v["detail"].(string); isStr {
			detail = d
		}
		for _, item := range list {
			m, isMap := item.(map[string]any)
			if !isMap {
				return "", nil, false
			}
			idx, isNum := m["index"].(float64)
			if !isNum || int(idx) < 0 || int(idx) >= n {
				return "", nil, false
			}
			f := map[string][]string{}
			switch e := m["errors"].(type) {
			case map[string]any:
				d, ff := splitDetail(e)
				for k, msgs := range ff {
					f[k] = msgs
				}
				if d != "" {
					f["__all__"] = append(f["__all__"], d)
				}
			default:
				flattenField("__all__", e, f)
			}
			perIndex[int(idx)] = f
		}
	default:
		return "", nil, false
	}
	if len(perIndex) == 0 {
		return "", nil, false
	}
	return detail, perIndex, true
}
