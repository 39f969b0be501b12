package netbox

import (
	"encoding/json"
	"slices"
	"strconv"
)

// encodeObjects is json.Marshal(objs), byte for byte, without reflection for the values
// bodies usually hold (maps, lists, strings, integers, booleans); other values (floats,
// json.Marshalers, structs) go through encoding/json. A bulk request carries 1,000 bodies.
func encodeObjects(objs []Object) ([]byte, error) {
	if objs == nil {
		return []byte("null"), nil
	}
	b := make([]byte, 0, 1024*len(objs)+2)
	b = append(b, '[')
	for i, o := range objs {
		if i > 0 {
			b = append(b, ',')
		}
		var err error
		if b, err = appendJSON(b, map[string]any(o)); err != nil {
			return nil, err
		}
	}
	return append(b, ']'), nil
}

// AppendJSON appends json.Marshal(v), byte for byte: maps with sorted keys, HTML-safe strings.
// Values that implement AppendJSON(b []byte) ([]byte, error) write themselves. The sync engine
// encodes plans and ownership records with it.
func AppendJSON(b []byte, v any) ([]byte, error) { return appendJSON(b, v) }

// AppendJSONString appends s as json.Marshal quotes it.
func AppendJSONString(b []byte, s string) []byte { return appendJSONString(b, s) }

func appendJSON(b []byte, v any) ([]byte, error) {
	var err error
	switch x := v.(type) {
	case nil:
		return append(b, "null"...), nil
	case string:
		return appendJSONString(b, x), nil
	case bool:
		return strconv.AppendBool(b, x), nil
	case int:
		return strconv.AppendInt(b, int64(x), 10), nil
	case int64:
		return strconv.AppendInt(b, x, 10), nil
	case Object:
		return appendJSON(b, map[string]any(x))
	case map[string]any:
		if x == nil {
			return append(b, "null"...), nil
		}
		b = append(b, '{')
		keys := make([]string, 0, 16) // on the stack for the maps bodies hold
		for k := range x {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, k)
			b = append(b, ':')
			if b, err = appendJSON(b, x[k]); err != nil {
				return nil, err
			}
		}
		return append(b, '}'), nil
	case []any:
		if x == nil {
			return append(b, "null"...), nil
		}
		b = append(b, '[')
		for i, e := range x {
			if i > 0 {
				b = append(b, ',')
			}
			if b, err = appendJSON(b, e); err != nil {
				return nil, err
			}
		}
		return append(b, ']'), nil
	}
	if a, ok := v.(jsonAppender); ok {
		return a.AppendJSON(b)
	}
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return append(b, raw...), nil
}

// jsonAppender is a value of a body that appends its own JSON: exactly what json.Marshal
// gives for it (valid, compact, HTML-safe). It saves encoding/json's validation and
// compaction of a MarshalJSON result, once per body for the agent's ownership record.
type jsonAppender interface {
	AppendJSON(b []byte) ([]byte, error)
}

// appendJSONString appends s quoted; anything but plain printable ASCII goes through
// encoding/json (escapes, HTML-safe <, > and &, invalid UTF-8).
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s)
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}
