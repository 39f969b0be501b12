package truenastest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// queryOptions are the middleware's query-options that the simulator honours.
type queryOptions struct {
	Limit   int            `json:"limit"`
	Offset  int            `json:"offset"`
	OrderBy []string       `json:"order_by"`
	Select  []string       `json:"select"`
	Count   bool           `json:"count"`
	Get     bool           `json:"get"`
	Extra   map[string]any `json:"extra"`
}

// filter is one [field, operator, value] condition.
type filter struct {
	Field string
	Op    string
	Value any
}

// validationError is what the middleware raises for bad query arguments.
type validationError struct{ msg string }

func (e validationError) Error() string { return e.msg }

// parseFilters reads the query-filters list: only [field, op, value] triples are supported.
func parseFilters(raw json.RawMessage) ([]filter, error) {
	if len(bytes.TrimSpace(raw)) == 0 || string(bytes.TrimSpace(raw)) == "null" {
		return nil, nil
	}
	var list []json.RawMessage
	if err := json.Unmarshal(raw, &list); err != nil {
		return nil, validationError{"query-filters: not a list"}
	}
	out := make([]filter, 0, len(list))
	for i, item := range list {
		var triple []any
		if err := json.Unmarshal(item, &triple); err != nil || len(triple) != 3 {
			return nil, validationError{fmt.Sprintf("query-filters.%d: want [field, operator, value]", i)}
		}
		field, ok1 := triple[0].(string)
		op, ok2 := triple[1].(string)
		if !ok1 || !ok2 {
			return nil, validationError{fmt.Sprintf("query-filters.%d: field and operator must be strings", i)}
		}
		switch op {
		case "=", "!=", "in", "nin", "^", "$", ">", "<", ">=", "<=":
		default:
			return nil, validationError{fmt.Sprintf("query-filters.%d: invalid operation %q", i, op)}
		}
		out = append(out, filter{Field: field, Op: op, Value: triple[2]})
	}
	return out, nil
}

func parseOptions(raw json.RawMessage) (queryOptions, error) {
	var o queryOptions
	if len(bytes.TrimSpace(raw)) == 0 || string(bytes.TrimSpace(raw)) == "null" {
		return o, nil
	}
	if err := json.Unmarshal(raw, &o); err != nil {
		return o, validationError{"query-options: " + err.Error()}
	}
	if o.Limit < 0 || o.Offset < 0 {
		return o, validationError{"query-options: limit and offset must not be negative"}
	}
	return o, nil
}

// retrieveChildren reads extra.retrieve_children (default true).
func (o queryOptions) retrieveChildren() bool {
	if v, ok := o.Extra["retrieve_children"].(bool); ok {
		return v
	}
	return true
}

// lookup follows a dotted field path ("state.name") through nested objects.
func lookup(row object, field string) (any, bool) {
	var cur any = row
	for _, part := range strings.Split(field, ".") {
		m, ok := cur.(object)
		if !ok {
			return nil, false
		}
		cur, ok = m[part]
		if !ok {
			return nil, false
		}
	}
	return cur, true
}

// canonical makes Go values and JSON-decoded values comparable (1 == 1.0, uint64 == float64).
func canonical(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func number(v any) (float64, bool) {
	var f float64
	if err := json.Unmarshal([]byte(canonical(v)), &f); err != nil {
		return 0, false
	}
	return f, true
}

func (f filter) match(row object) bool {
	got, _ := lookup(row, f.Field)
	switch f.Op {
	case "=":
		return canonical(got) == canonical(f.Value)
	case "!=":
		return canonical(got) != canonical(f.Value)
	case "in", "nin":
		list, _ := f.Value.([]any)
		in := false
		for _, v := range list {
			if canonical(v) == canonical(got) {
				in = true
			}
		}
		return in == (f.Op == "in")
	case "^", "$":
		s, ok1 := got.(string)
		p, ok2 := f.Value.(string)
		if !ok1 || !ok2 {
			return false
		}
		if f.Op == "^" {
			return strings.HasPrefix(s, p)
		}
		return strings.HasSuffix(s, p)
	default:
		a, ok1 := number(got)
		b, ok2 := number(f.Value)
		if !ok1 || !ok2 {
			return false
		}
		switch f.Op {
		case ">":
			return a > b
		case "<":
			return a < b
		case ">=":
			return a >= b
		default:
			return a <= b
		}
	}
}

// applyQuery filters, orders, pages and selects rows the way the middleware's filter_list
// does, and returns the result: a list, a count, or a single row for get.
func applyQuery(rows []object, filters []filter, o queryOptions) (any, error) {
	kept := make([]object, 0, len(rows))
	for _, r := range rows {
		ok := true
		for _, f := range filters {
			if !f.match(r) {
				ok = false
				break
			}
		}
		if ok {
			kept = append(kept, r)
		}
	}
	for i := len(o.OrderBy) - 1; i >= 0; i-- {
		key := o.OrderBy[i]
		desc := strings.HasPrefix(key, "-")
		key = strings.TrimPrefix(key, "-")
		sort.SliceStable(kept, func(a, b int) bool {
			va, _ := lookup(kept[a], key)
			vb, _ := lookup(kept[b], key)
			less := canonical(va) < canonical(vb)
			if na, ok := number(va); ok {
				if nb, ok := number(vb); ok {
					less = na < nb
				}
			}
			if desc {
				return !less && canonical(va) != canonical(vb)
			}
			return less
		})
	}
	if o.Count {
		return len(kept), nil
	}
	if o.Offset > 0 {
		if o.Offset >= len(kept) {
			kept = kept[:0]
		} else {
			kept = kept[o.Offset:]
		}
	}
	if o.Limit > 0 && o.Limit < len(kept) {
		kept = kept[:o.Limit]
	}
	if len(o.Select) > 0 {
		for i, r := range kept {
			sel := object{}
			for _, f := range o.Select {
				if v, ok := lookup(r, f); ok {
					sel[f] = v
				}
			}
			kept[i] = sel
		}
	}
	if o.Get {
		if len(kept) == 0 {
			return nil, notFoundError{"Object not found"}
		}
		return kept[0], nil
	}
	return kept, nil
}

// notFoundError is the middleware's MatchNotFound / InstanceNotFound.
type notFoundError struct{ msg string }

func (e notFoundError) Error() string { return e.msg }
