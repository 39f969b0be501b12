package homeassistant

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
)

// decodeEntry decodes one registry entry or state. A key whose value has the wrong JSON type
// (a number where Home Assistant defines a string, say) costs that key only: it is left out and
// described in bad, as "<key> = <value> ignored: want <type>", and the rest of the entry is
// kept. An entry that is not an object is an error naming what it is.
func decodeEntry[T any](raw json.RawMessage) (T, []string, error) {
	var v T
	err := json.Unmarshal(raw, &v)
	var typeErr *json.UnmarshalTypeError
	if err == nil || !errors.As(err, &typeErr) {
		return v, nil, err
	}
	var obj map[string]json.RawMessage
	if typeErr.Field == "" || json.Unmarshal(raw, &obj) != nil {
		return v, nil, fmt.Errorf("want an object, got %s", quoteJSON(raw))
	}
	// encoding/json names only the first mismatch: drop that key and decode again, once per key
	// at most, so every bad key is named.
	var bad []string
	for range len(obj) {
		key, _, _ := strings.Cut(typeErr.Field, ".")
		value, ok := obj[key]
		if !ok {
			return v, nil, err // a mismatch json did not name by key: give up on the entry
		}
		bad = append(bad, fmt.Sprintf("%s = %s ignored: want %s", typeErr.Field, quoteJSON(value), wantType(typeErr.Type)))
		delete(obj, key)
		rest, mErr := json.Marshal(obj)
		if mErr != nil {
			return v, nil, mErr
		}
		v = *new(T)
		if err = json.Unmarshal(rest, &v); err == nil {
			return v, bad, nil
		}
		if !errors.As(err, &typeErr) || typeErr.Field == "" {
			return v, nil, err
		}
	}
	return v, nil, err
}

// wantType says in JSON words what a Go field takes.
func wantType(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "a string or null"
	case reflect.Slice:
		return "a list"
	case reflect.Map, reflect.Struct:
		return "an object"
	case reflect.Int, reflect.Int64, reflect.Float64:
		return "a number"
	case reflect.Bool:
		return "true or false"
	}
	return t.String()
}

// quoteJSON shows a JSON value in a warning, cut to a readable length.
func quoteJSON(raw []byte) string {
	const max = 80
	s := strings.TrimSpace(string(raw))
	if len(s) > max {
		s = s[:max] + "..."
	}
	return s
}
