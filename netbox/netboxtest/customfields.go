package netboxtest

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"
)

var datePattern = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)

// applyCustomFields merges given custom field data into o and checks it against the
// custom fields defined for o's type.
func (w *writeCtx) applyCustomFields(def *endpoint, o *object, creating bool, given map[string]any, errs fieldErrors) {
	defs := map[string]*object{}
	for _, cf := range w.s.customFieldsFor(def.objectType) {
		defs[strField(cf, "name")] = cf
	}
	nested := map[string]any{}
	report := func(name, msg4x3, msg string) {
		if w.profile.nestedCustomFieldErrors() {
			nested[name] = []string{msg}
		} else {
			errs.add("__all__", msg4x3)
		}
	}
	names := make([]string, 0, len(given))
	for n := range given {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		v := given[name]
		cf := defs[name]
		if cf == nil {
			msg := fmt.Sprintf("Unknown field name '%s' in custom field data.", name)
			report(name, msg, msg)
			continue
		}
		if v == nil {
			o.cf[name] = nil
			continue
		}
		nv, problem := checkCFValue(strField(cf, "type"), v)
		if problem == "" {
			problem = checkCFValidation(cf, nv)
		}
		if problem != "" {
			report(name, fmt.Sprintf("Invalid value for custom field '%s': %s", name, problem), problem)
			continue
		}
		o.cf[name] = nv
	}
	if creating {
		for name, cf := range defs {
			if _, ok := o.cf[name]; !ok {
				if d, ok := cf.f["default"]; ok && d != nil {
					o.cf[name] = d
				}
			}
		}
	}
	for _, name := range sortedKeys(defs) {
		cf := defs[name]
		if b, _ := cf.f["required"].(bool); b && o.cf[name] == nil {
			msg := fmt.Sprintf("Missing required custom field '%s'.", name)
			report(name, msg, "This field is required.")
		}
	}
	if len(nested) > 0 {
		errs["custom_fields"] = nested
	}
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func checkCFValue(typ string, v any) (any, string) {
	switch typ {
	case "text", "longtext", "url", "select":
		if _, ok := v.(string); !ok {
			return nil, "Value must be a string."
		}
	case "integer":
		i, ok := toInt(v)
		if !ok {
			return nil, "Value must be an integer."
		}
		return i, ""
	case "decimal":
		if _, ok := toFloat(v); !ok {
			return nil, "Value must be a decimal."
		}
	case "boolean":
		if _, ok := v.(bool); !ok {
			return nil, "Value must be true or false."
		}
	case "date":
		s, ok := v.(string)
		if !ok || !datePattern.MatchString(s) {
			return nil, "Date values must be in ISO 8601 format (YYYY-MM-DD)."
		}
		if _, err := time.Parse("2006-01-02", s); err != nil {
			return nil, "Date values must be in ISO 8601 format (YYYY-MM-DD)."
		}
	case "datetime":
		s, ok := v.(string)
		if !ok || parseTime(s).IsZero() {
			return nil, "Date and time values must be in ISO 8601 format (YYYY-MM-DD HH:MM:SS)."
		}
	case "multiselect", "multiobject":
		if _, ok := v.([]any); !ok {
			return nil, "Value must be a list."
		}
	}
	return v, ""
}

func parseTime(s string) time.Time {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02 15:04:05", "2006-01-02T15:04:05.999999", "2006-01-02 15:04:05.999999Z07:00", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t
		}
	}
	return time.Time{}
}

var cfName = regexp.MustCompile(`^[a-z0-9_]+$`)

func cleanCustomField(w *writeCtx, o, old *object) fieldErrors {
	errs := fieldErrors{}
	name := strField(o, "name")
	switch {
	case !cfName.MatchString(name):
		errs.add("name", "Only alphanumeric characters and underscores are allowed.")
	case strings.Contains(name, "__"):
		errs.add("name", "Double underscores are not permitted in custom field names.")
	}
	for _, ot := range cfObjectTypes(o) {
		if w.s.byType[ot] == nil && !strings.Contains(ot, ".") {
			errs.add("object_types", fmt.Sprintf("Invalid object type: %s", ot))
		}
	}
	return errs
}

// renameCustomFieldData moves a renamed custom field's data to the new name, as NetBox does.
func (w *writeCtx) renameCustomFieldData(cf, old *object) {
	if old == nil || strField(old, "name") == strField(cf, "name") {
		return
	}
	from, to := strField(old, "name"), strField(cf, "name")
	for _, ot := range cfObjectTypes(old) {
		t := w.s.byType[ot]
		if t == nil {
			continue
		}
		for _, id := range t.ids {
			o := t.byID[id]
			if v, ok := o.cf[from]; ok {
				c := o.clone()
				delete(c.cf, from)
				c.cf[to] = v
				w.tx.put(c)
			}
		}
	}
}

// dropCustomFieldData removes a deleted custom field's data from objects, as NetBox does.
func (w *writeCtx) dropCustomFieldData(cf *object) {
	name := strField(cf, "name")
	for _, ot := range cfObjectTypes(cf) {
		t := w.s.byType[ot]
		if t == nil {
			continue
		}
		for _, id := range t.ids {
			o := t.byID[id]
			if _, ok := o.cf[name]; ok {
				c := o.clone()
				delete(c.cf, name)
				w.tx.put(c)
			}
		}
	}
}

// checkCFValidation applies a custom field's validation_minimum, validation_maximum and
// validation_regex (CustomField.validate()).
func checkCFValidation(cf *object, v any) string {
	switch strField(cf, "type") {
	case "integer", "decimal":
		n, ok := toFloat(v)
		if !ok {
			return ""
		}
		if lo, ok := toFloat(cf.f["validation_minimum"]); ok && cf.f["validation_minimum"] != nil && n < lo {
			return fmt.Sprintf("Value must be at least %s", toString(cf.f["validation_minimum"]))
		}
		if hi, ok := toFloat(cf.f["validation_maximum"]); ok && cf.f["validation_maximum"] != nil && n > hi {
			return fmt.Sprintf("Value must not exceed %s", toString(cf.f["validation_maximum"]))
		}
	case "text", "longtext", "url":
		re := strField(cf, "validation_regex")
		if re == "" {
			return ""
		}
		rx, err := regexp.Compile(re)
		if err != nil {
			return ""
		}
		if !rx.MatchString(toString(v)) {
			return fmt.Sprintf("Value must match regex '%s'", re)
		}
	}
	return ""
}
