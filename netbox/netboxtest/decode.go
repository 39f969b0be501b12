package netboxtest

import (
	"encoding/json"
	"strconv"
	"unicode/utf8"
)

// decodeJSON is json.Unmarshal(data, &v) into an any: the same maps, lists, float64s,
// strings, booleans and nils. A fast single pass handles plain JSON (strings without
// escapes); anything else, malformed JSON included, goes to encoding/json, so error messages
// and edge cases are encoding/json's. Bulk bodies of 1,000 objects are decoded per request.
func decodeJSON(data []byte) (any, error) {
	d := fastDecoder{data: data}
	if v, ok := d.value(0); ok {
		if d.skipWS(); d.i == len(d.data) {
			return v, nil
		}
	}
	var v any
	err := json.Unmarshal(data, &v)
	return v, err
}

type fastDecoder struct {
	data []byte
	i    int
}

func (d *fastDecoder) skipWS() {
	for d.i < len(d.data) {
		switch d.data[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

// value decodes the value at d.i; ok is false when the fast path cannot (or the JSON is bad).
func (d *fastDecoder) value(depth int) (any, bool) {
	if depth > 500 {
		return nil, false
	}
	d.skipWS()
	if d.i >= len(d.data) {
		return nil, false
	}
	switch c := d.data[d.i]; {
	case c == '{':
		d.i++
		m := map[string]any{}
		d.skipWS()
		if d.i < len(d.data) && d.data[d.i] == '}' {
			d.i++
			return m, true
		}
		for {
			d.skipWS()
			k, ok := d.str()
			if !ok {
				return nil, false
			}
			d.skipWS()
			if d.i >= len(d.data) || d.data[d.i] != ':' {
				return nil, false
			}
			d.i++
			v, ok := d.value(depth + 1)
			if !ok {
				return nil, false
			}
			m[k] = v
			d.skipWS()
			if d.i >= len(d.data) {
				return nil, false
			}
			switch d.data[d.i] {
			case ',':
				d.i++
			case '}':
				d.i++
				return m, true
			default:
				return nil, false
			}
		}
	case c == '[':
		d.i++
		l := []any{}
		d.skipWS()
		if d.i < len(d.data) && d.data[d.i] == ']' {
			d.i++
			return l, true
		}
		for {
			v, ok := d.value(depth + 1)
			if !ok {
				return nil, false
			}
			l = append(l, v)
			d.skipWS()
			if d.i >= len(d.data) {
				return nil, false
			}
			switch d.data[d.i] {
			case ',':
				d.i++
			case ']':
				d.i++
				return l, true
			default:
				return nil, false
			}
		}
	case c == '"':
		return d.str()
	case c == 't':
		return true, d.lit("true")
	case c == 'f':
		return false, d.lit("false")
	case c == 'n':
		return nil, d.lit("null")
	case c == '-' || c >= '0' && c <= '9':
		return d.num()
	}
	return nil, false
}

func (d *fastDecoder) lit(s string) bool {
	if len(d.data)-d.i < len(s) || string(d.data[d.i:d.i+len(s)]) != s {
		return false
	}
	d.i += len(s)
	return true
}

// str decodes a string without escapes or control characters, in valid UTF-8.
func (d *fastDecoder) str() (string, bool) {
	if d.i >= len(d.data) || d.data[d.i] != '"' {
		return "", false
	}
	start := d.i + 1
	ascii := true
	for j := start; j < len(d.data); j++ {
		switch c := d.data[j]; {
		case c == '"':
			s := d.data[start:j]
			if !ascii && !utf8.Valid(s) {
				return "", false
			}
			d.i = j + 1
			return string(s), true
		case c == '\\' || c < 0x20:
			return "", false
		case c >= 0x80:
			ascii = false
		}
	}
	return "", false
}

// num decodes a number of JSON's grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func (d *fastDecoder) num() (any, bool) {
	b, start, j := d.data, d.i, d.i
	digits := func() bool {
		k := j
		for j < len(b) && b[j] >= '0' && b[j] <= '9' {
			j++
		}
		return j > k
	}
	if j < len(b) && b[j] == '-' {
		j++
	}
	switch {
	case j < len(b) && b[j] == '0':
		j++
	case !digits():
		return nil, false
	}
	if j < len(b) && b[j] == '.' {
		j++
		if !digits() {
			return nil, false
		}
	}
	if j < len(b) && (b[j] == 'e' || b[j] == 'E') {
		j++
		if j < len(b) && (b[j] == '+' || b[j] == '-') {
			j++
		}
		if !digits() {
			return nil, false
		}
	}
	f, err := strconv.ParseFloat(string(b[start:j]), 64)
	if err != nil {
		return nil, false
	}
	d.i = j
	return f, true
}
