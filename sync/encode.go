package sync

import (
	"encoding/json"
	"slices"
	"strconv"
)

// appendAction appends what json.Encoder.Encode(&a) writes (the JSON and a newline), without
// reflection for the common values of a body: the plan id hashes every action of a plan.
// Values it has no case for go through encoding/json, which gives the same bytes in place.
func appendAction(b []byte, a *Action) ([]byte, error) {
	b = append(b, `{"key":`...)
	b = appendJSONString(b, a.Key)
	b = append(b, `,"op":`...)
	b = appendJSONString(b, string(a.Op))
	b = append(b, `,"level":`...)
	b = strconv.AppendInt(b, int64(a.Level), 10)
	b = append(b, `,"endpoint":`...)
	b = appendJSONString(b, a.Endpoint)
	b = append(b, `,"type":`...)
	b = appendJSONString(b, a.Type)
	if a.ID != 0 {
		b = append(b, `,"id":`...)
		b = strconv.AppendInt(b, int64(a.ID), 10)
	}
	if a.Target != "" {
		b = append(b, `,"target":`...)
		b = appendJSONString(b, a.Target)
	}
	b = append(b, `,"name":`...)
	b = appendJSONString(b, a.Name)
	if a.Entity != "" {
		b = append(b, `,"entity":`...)
		b = appendJSONString(b, a.Entity)
	}
	if a.LastUpdated != "" {
		b = append(b, `,"last_updated":`...)
		b = appendJSONString(b, a.LastUpdated)
	}
	var err error
	if len(a.Body) > 0 {
		b = append(b, `,"body":`...)
		if b, err = appendJSONMap(b, a.Body); err != nil {
			return nil, err
		}
	}
	if len(a.Changes) > 0 {
		b = append(b, `,"changes":[`...)
		for i := range a.Changes {
			c := &a.Changes[i]
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"field":`...)
			b = appendJSONString(b, c.Field)
			b = append(b, `,"before":`...)
			if b, err = appendJSONValue(b, c.Before); err != nil {
				return nil, err
			}
			b = append(b, `,"after":`...)
			if b, err = appendJSONValue(b, c.After); err != nil {
				return nil, err
			}
			if c.Source != "" {
				b = append(b, `,"source":`...)
				b = appendJSONString(b, c.Source)
			}
			if c.Reason != "" {
				b = append(b, `,"reason":`...)
				b = appendJSONString(b, c.Reason)
			}
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	if a.Reason != "" {
		b = append(b, `,"reason":`...)
		b = appendJSONString(b, a.Reason)
	}
	return append(b, '}', '\n'), nil
}

// appendJSONMap appends a map with its keys sorted, as encoding/json does.
func appendJSONMap(b []byte, m map[string]any) ([]byte, error) {
	if m == nil {
		return append(b, "null"...), nil
	}
	b = append(b, '{')
	keys := make([]string, 0, 16) // on the stack for the maps bodies hold
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, k)
		b = append(b, ':')
		var err error
		if b, err = appendJSONValue(b, m[k]); err != nil {
			return nil, err
		}
	}
	return append(b, '}'), nil
}

// appendJSONValue appends the common values of bodies and records directly and the others
// through encoding/json.
func appendJSONValue(b []byte, v any) ([]byte, error) {
	switch x := v.(type) {
	case nil:
		return append(b, "null"...), nil
	case string:
		return appendJSONString(b, x), nil
	case int64:
		return strconv.AppendInt(b, x, 10), nil
	case int:
		return strconv.AppendInt(b, int64(x), 10), nil
	case bool:
		return strconv.AppendBool(b, x), nil
	case planRef:
		b = append(b, `{"$ref":`...)
		return append(appendJSONString(b, x.Ref), '}'), nil
	case ownerField:
		b = append(b, '{')
		b = appendJSONString(b, x.Name)
		b = append(b, ':')
		return appendOwnerRecord(b, x.Rec)
	case map[string]any:
		return appendJSONMap(b, x)
	case []any:
		if x == nil {
			return append(b, "null"...), nil
		}
		b = append(b, '[')
		for i, e := range x {
			if i > 0 {
				b = append(b, ',')
			}
			var err error
			if b, err = appendJSONValue(b, e); err != nil {
				return nil, err
			}
		}
		return append(b, ']'), nil
	}
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return append(b, raw...), nil
}
