package sync

import (
	"slices"
)

// resolve returns v with every {"$ref": key} replaced by the id created for key, copying only
// the maps, lists and records that hold a reference (the plan's bodies are never modified);
// missing names the first key without one.
func resolve(v any, ids map[string]int) (out any, missing string) {
	out, _, missing = resolveCOW(v, ids)
	return out, missing
}

// resolveCOW is resolve that also says whether anything was replaced (then out is a copy).
func resolveCOW(v any, ids map[string]int) (out any, changed bool, missing string) {
	ref := func(k string) (any, bool, string) {
		id, done := ids[k]
		if !done {
			return nil, false, k
		}
		return id, true, ""
	}
	type change struct {
		k string
		v any
	}
	switch x := v.(type) {
	case planRef:
		return ref(x.Ref)
	case map[string]any:
		if k, ok := isRef(x); ok {
			return ref(k)
		}
		var changes []change
		for k, e := range x {
			r, ch, miss := resolveCOW(e, ids)
			if miss != "" {
				return nil, false, miss
			}
			if ch {
				changes = append(changes, change{k, r})
			}
		}
		if len(changes) == 0 {
			return x, false, ""
		}
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = e
		}
		for _, c := range changes {
			m[c.k] = c.v
		}
		return m, true, ""
	case []any:
		return resolveList(x, ids, func(e *any) *any { return e })
	case written:
		return resolveList(x, ids, func(f *fieldValue) *any { return &f.Value })
	case ownerRecord:
		return resolveField(x, ids, func(r *ownerRecord) *written { return &r.Written })
	case ownerField:
		return resolveField(x, ids, func(f *ownerField) *ownerRecord { return &f.Rec })
	}
	return v, false, ""
}

// resolveList is resolveCOW over a list whose elements hold a value at at(&x[i]); the list is
// copied when the first of them changes.
func resolveList[S ~[]T, T any](x S, ids map[string]int, at func(*T) *any) (any, bool, string) {
	var l S
	for i := range x {
		r, ch, miss := resolveCOW(*at(&x[i]), ids)
		if miss != "" {
			return nil, false, miss
		}
		if !ch {
			continue
		}
		if l == nil {
			l = slices.Clone(x)
		}
		*at(&l[i]) = r
	}
	if l == nil {
		return x, false, ""
	}
	return l, true, ""
}

// resolveField is resolveCOW for a record with one field that may hold references, at
// at(&x); x is a copy, so setting the field copies the record.
func resolveField[R, F any](x R, ids map[string]int, at func(*R) *F) (any, bool, string) {
	r, ch, miss := resolveCOW(*at(&x), ids)
	if miss != "" || !ch {
		return x, false, miss
	}
	*at(&x) = r.(F)
	return x, true, ""
}
