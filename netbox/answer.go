package netbox

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strconv"
)

// answerDecoder decodes NetBox's answers to writes keeping only some fields of each object.
// It decodes into a struct type made for those fields, so encoding/json skips the rest of
// every object without allocating for it (a bulk answer of 1,000 full objects is megabytes).
// A nil *answerDecoder decodes whole objects.
type answerDecoder struct {
	names []string     // JSON names kept, "id" first
	typ   reflect.Type // struct{ F0 json.RawMessage `json:"id"`; F1 ... }
}

func newAnswerDecoder(fields []string) *answerDecoder {
	if len(fields) == 0 {
		return nil
	}
	names := []string{"id"}
	for _, f := range fields {
		if f != "id" && f != "" {
			names = append(names, f)
		}
	}
	sfs := make([]reflect.StructField, len(names))
	for i, n := range names {
		sfs[i] = reflect.StructField{Name: "F" + strconv.Itoa(i), Type: reflect.TypeFor[json.RawMessage](),
			Tag: reflect.StructTag(`json:"` + n + `"`)}
	}
	return &answerDecoder{names: names, typ: reflect.StructOf(sfs)}
}

// list decodes a JSON list of objects.
func (d *answerDecoder) list(body []byte) ([]Object, error) {
	if d == nil {
		var list []Object
		err := json.Unmarshal(body, &list)
		return list, err
	}
	if out, ok := d.scanList(body); ok {
		return out, nil
	}
	ptr := reflect.New(reflect.SliceOf(d.typ))
	if err := json.Unmarshal(body, ptr.Interface()); err != nil {
		return nil, err
	}
	sl := ptr.Elem()
	if sl.IsNil() {
		return nil, nil // JSON null, as json.Unmarshal into []Object gives
	}
	out := make([]Object, sl.Len())
	for i := range out {
		out[i] = d.object(sl.Index(i))
	}
	return out, nil
}

// one decodes a single JSON object.
func (d *answerDecoder) one(body []byte) (Object, error) {
	if d == nil {
		var o Object
		err := json.Unmarshal(body, &o)
		return o, err
	}
	ptr := reflect.New(d.typ)
	if err := json.Unmarshal(body, ptr.Interface()); err != nil {
		return nil, err
	}
	return d.object(ptr.Elem()), nil
}

// object turns a decoded struct into an Object holding the fields the answer had.
func (d *answerDecoder) object(v reflect.Value) Object {
	o := make(Object, len(d.names))
	for i, n := range d.names {
		raw := v.Field(i).Interface().(json.RawMessage)
		if raw == nil {
			continue // absent from the answer
		}
		var x any
		if json.Unmarshal(raw, &x) == nil {
			o[n] = x
		}
	}
	return o
}

// keep drops the fields of an already decoded object that the caller did not ask for.
func (d *answerDecoder) keep(o Object) Object {
	if d == nil || o == nil {
		return o
	}
	out := make(Object, len(d.names))
	for _, n := range d.names {
		if v, ok := o[n]; ok {
			out[n] = v
		}
	}
	return out
}

// scanList is the fast path of list: one pass over the answer that finds each top-level
// object's members and decodes only the kept ones (with encoding/json); the others are
// skipped by matching brackets and quotes. Anything it does not expect (escaped member
// names, a syntax error, a truncated answer) makes it give up (ok false), and list falls back
// to encoding/json, which reports what is wrong.
func (d *answerDecoder) scanList(body []byte) (out []Object, ok bool) {
	i := skipWS(body, 0)
	if i >= len(body) || body[i] != '[' {
		return nil, false
	}
	i = skipWS(body, i+1)
	if i < len(body) && body[i] == ']' {
		return []Object{}, skipWS(body, i+1) == len(body)
	}
	for {
		if i >= len(body) || body[i] != '{' {
			return nil, false
		}
		o := make(Object, len(d.names))
		i = skipWS(body, i+1)
		if i < len(body) && body[i] == '}' {
			i++
		} else {
			for {
				if i >= len(body) || body[i] != '"' {
					return nil, false
				}
				end := skipString(body, i)
				if end < 0 {
					return nil, false
				}
				name := body[i+1 : end-1]
				if slicesIndexByte(name, '\\') {
					return nil, false
				}
				i = skipWS(body, end)
				if i >= len(body) || body[i] != ':' {
					return nil, false
				}
				i = skipWS(body, i+1)
				vend := skipValue(body, i)
				if vend < 0 {
					return nil, false
				}
				for _, n := range d.names {
					if n == string(name) {
						var x any
						if json.Unmarshal(body[i:vend], &x) != nil {
							return nil, false
						}
						o[n] = x
						break
					}
				}
				i = skipWS(body, vend)
				if i < len(body) && body[i] == ',' {
					i = skipWS(body, i+1)
					continue
				}
				if i < len(body) && body[i] == '}' {
					i++
					break
				}
				return nil, false
			}
		}
		out = append(out, o)
		i = skipWS(body, i)
		if i < len(body) && body[i] == ',' {
			i = skipWS(body, i+1)
			continue
		}
		if i < len(body) && body[i] == ']' {
			return out, skipWS(body, i+1) == len(body)
		}
		return nil, false
	}
}

func slicesIndexByte(b []byte, c byte) bool {
	for _, x := range b {
		if x == c {
			return true
		}
	}
	return false
}

func skipWS(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// skipString returns the index after the string starting at b[i] (a quote), -1 if it does
// not end or holds a control character. It jumps from quote to quote (bytes.IndexByte) and
// checks the bytes in between once.
func skipString(b []byte, i int) int {
	j := i + 1
	for {
		k := bytes.IndexByte(b[j:], '"')
		if k < 0 {
			return -1
		}
		end := j + k
		escaped := false
		for p := j; p < end; p++ {
			switch c := b[p]; {
			case c < 0x20:
				return -1
			case c == '\\':
				p++ // the escaped byte; an escaped quote is the one at end when p lands on it
				if p == end {
					escaped = true
				}
			}
		}
		if !escaped {
			return end + 1
		}
		j = end + 1
	}
}

// skipValue returns the index after the value starting at b[i], -1 if it is malformed as
// far as brackets, quotes and the characters of literals and numbers go.
func skipValue(b []byte, i int) int {
	if i >= len(b) {
		return -1
	}
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		var stack []byte
		for j := i; j < len(b); j++ {
			switch c := b[j]; c {
			case '"':
				end := skipString(b, j)
				if end < 0 {
					return -1
				}
				j = end - 1
			case '{', '[':
				stack = append(stack, c)
			case '}', ']':
				if len(stack) == 0 || (c == '}') != (stack[len(stack)-1] == '{') {
					return -1
				}
				stack = stack[:len(stack)-1]
				if len(stack) == 0 {
					return j + 1
				}
			}
		}
		return -1
	}
	j := i
	for j < len(b) && (b[j] >= 'a' && b[j] <= 'z' || b[j] >= '0' && b[j] <= '9' || b[j] == '-' || b[j] == '+' || b[j] == '.' || b[j] == 'E') {
		j++
	}
	if j == i {
		return -1
	}
	return j
}
