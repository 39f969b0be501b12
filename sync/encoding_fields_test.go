package sync

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"testing"
)

// The hand-written encoders (appendAction, ownerField/appendOwnerRecord, written,
// planRef.AppendJSON) must write what encoding/json writes for the same value: plan ids hash
// their bytes, and a plan loaded from its file (encoded by encoding/json) must hash the same.
// The tests below walk every exported field of the encoded structs by reflection and set each
// one alone to each of a few non-zero values: a field added to a struct and forgotten by its
// encoder, or encoded with another omitempty rule, fails here.

// variant is one value of a type with (usually) one field set.
type variant struct {
	name string
	v    reflect.Value
}

// anySamples are the values a body or a change holds, and a few odd ones.
func anySamples() []any {
	// NaN (no JSON) in the middle: the first and last samples make the all-fields variants,
	// which must encode.
	return []any{"s", "<&>\u2028é\"\\\xff", true, false, 0, int64(-3), 1.5, 1e21, float64(3), math.NaN(),
		map[string]any{}, map[string]any{"b": 1, "a": nil, "c": []any{"x"}}, []any{}, []any{nil, "a", int64(1)},
		[]int{1, 2}, planRef{"cluster:lab"}, map[string]any{"$ref": "site:home"}, nestedRef{ID: 3, Display: "x"},
		ownerField{"netbox_agent", ownerRecord{ID: "e", Written: written{{"vcpus", 2}}}}}
}

// variants returns values of typ: each exported field set alone to each of its samples
// (recursively for structs and slices of structs), and one with every field set.
func variants(t *testing.T, typ reflect.Type, path string) []variant {
	t.Helper()
	switch typ.Kind() {
	case reflect.String:
		return []variant{{`"v"`, reflect.ValueOf("v").Convert(typ)}, {"escapes", reflect.ValueOf("<a&b>\t\"é\u2028\xff").Convert(typ)}}
	case reflect.Bool:
		return []variant{{"true", reflect.ValueOf(true).Convert(typ)}}
	case reflect.Int, reflect.Int64, reflect.Int32:
		return []variant{{"7", reflect.ValueOf(7).Convert(typ)}, {"-3", reflect.ValueOf(-3).Convert(typ)}}
	case reflect.Interface:
		var out []variant
		for _, s := range anySamples() {
			out = append(out, variant{fmt.Sprintf("%T %v", s, s), reflect.ValueOf(&s).Elem()})
		}
		return out
	case reflect.Map:
		if typ.Key().Kind() != reflect.String || typ.Elem().Kind() != reflect.Interface {
			break
		}
		out := []variant{{"empty map", reflect.MakeMap(typ)}}
		for _, e := range variants(t, typ.Elem(), path+"[k]") {
			m := reflect.MakeMap(typ)
			m.SetMapIndex(reflect.ValueOf("k"), e.v)
			out = append(out, variant{"{k: " + e.name + "}", m})
		}
		return out
	case reflect.Slice:
		out := []variant{{"empty slice", reflect.MakeSlice(typ, 0, 0)}}
		elems := variants(t, typ.Elem(), path+"[0]")
		for _, e := range elems {
			s := reflect.MakeSlice(typ, 1, 1)
			s.Index(0).Set(e.v)
			out = append(out, variant{"[" + e.name + "]", s})
		}
		two := reflect.MakeSlice(typ, 2, 2) // separators
		two.Index(0).Set(elems[0].v)
		two.Index(1).Set(elems[len(elems)-1].v)
		return append(out, variant{"two", two})
	case reflect.Struct:
		var out []variant
		all := reflect.New(typ).Elem()
		for i := range typ.NumField() {
			f := typ.Field(i)
			if !f.IsExported() || f.Tag.Get("json") == "-" {
				continue
			}
			fvs := variants(t, f.Type, path+"."+f.Name)
			for _, fv := range fvs {
				v := reflect.New(typ).Elem()
				v.Field(i).Set(fv.v)
				out = append(out, variant{path + "." + f.Name + "=" + fv.name, v})
			}
			all.Field(i).Set(fvs[len(fvs)-1].v)
		}
		return append(out, variant{path + " all fields", all})
	}
	t.Fatalf("%s: no sample values for type %s: add them to variants", path, typ)
	return nil
}

// sameJSON fails when the two encodings differ, or when one fails and the other does not.
func sameJSON(t *testing.T, name string, got []byte, gotErr error, want []byte, wantErr error) {
	t.Helper()
	if (gotErr != nil) != (wantErr != nil) {
		t.Errorf("%s: error %v, encoding/json's %v", name, gotErr, wantErr)
		return
	}
	if gotErr == nil && !bytes.Equal(got, want) {
		t.Errorf("%s:\n got %s\nwant %s", name, got, want)
	}
}

func TestAppendActionEveryField(t *testing.T) {
	vs := variants(t, reflect.TypeFor[Action](), "Action")
	vs = append(vs, variant{"zero", reflect.ValueOf(Action{})})
	for _, v := range vs {
		a := v.v.Interface().(Action)
		var want bytes.Buffer
		wantErr := json.NewEncoder(&want).Encode(&a)
		got, err := appendAction(nil, &a)
		sameJSON(t, v.name, got, err, want.Bytes(), wantErr)
	}
	if len(vs) < 80 { // a sanity floor: the walk reached the fields
		t.Fatalf("only %d variants of Action", len(vs))
	}
}

func TestOwnerRecordEveryField(t *testing.T) {
	vs := variants(t, reflect.TypeFor[ownerRecord](), "ownerRecord")
	vs = append(vs, variant{"zero", reflect.ValueOf(ownerRecord{})})
	for _, v := range vs {
		rec := v.v.Interface().(ownerRecord)
		for _, name := range []string{"netbox_agent", "a<b>\"c\""} {
			// encoding/json encodes the struct by reflection; only Written is hand-encoded on
			// both sides (checked against a map below).
			want, wantErr := json.Marshal(map[string]ownerRecord{name: rec})
			got, err := json.Marshal(ownerField{Name: name, Rec: rec})
			sameJSON(t, v.name+" / "+name, got, err, want, wantErr)
		}
	}
}

func TestWrittenEveryValue(t *testing.T) {
	for _, s := range anySamples() {
		for _, w := range []written{{{"a", s}}, {{"a", 1}, {"b<", s}, {"c", nil}}} {
			m := map[string]any{}
			for _, fv := range w {
				m[fv.Field] = fv.Value
			}
			want, wantErr := json.Marshal(m)
			got, err := json.Marshal(w)
			sameJSON(t, fmt.Sprintf("%T %v", s, s), got, err, want, wantErr)
		}
	}
	got, err := json.Marshal(written{})
	sameJSON(t, "empty", got, err, []byte("{}"), nil)
}

func TestPlanRefEveryField(t *testing.T) {
	for _, v := range variants(t, reflect.TypeFor[planRef](), "planRef") {
		r := v.v.Interface().(planRef)
		type plain planRef // without the AppendJSON method: what encoding/json makes of the struct
		want, wantErr := json.Marshal(plain(r))
		got, err := r.AppendJSON(nil)
		sameJSON(t, v.name, got, err, want, wantErr)
	}
}
