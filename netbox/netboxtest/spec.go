package netboxtest

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"sort"
	"strings"
	"sync"
	"unicode"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
)

// goNetboxModule is the module that ships NetBox's OpenAPI spec as api/openapi.yaml.
const (
	goNetboxModule  = "github.com/netbox-community/go-netbox/v4"
	goNetboxVersion = "v4.3.0" // the version go.mod requires; used when the binary does not link go-netbox
	specRelPath     = "api/openapi.yaml"
)

// Spec is NetBox's OpenAPI document, parsed once, plus what the simulator derives from it
// (per-endpoint schemas, query parameters and render plans). A Spec is immutable after
// LoadSpec returns and can be shared by any number of servers (WithSpec).
type Spec struct {
	Path string
	doc  *openapi3.T
	eps  map[string]*epSpec   // by endpoint path
	defs map[string]*endpoint // the simulator's model of each endpoint (static)
	// nullChoices are choice fields NetBox answers null when unset though the spec says
	// they are not nullable; the response check ignores those nulls.
	nullChoices map[string]bool
}

// epSpec holds the spec pieces of one endpoint.
type epSpec struct {
	post, put, patch *openapi3.Schema // single-object request schemas, reference properties relaxed (see withoutRefAlternatives)
	specPost         *openapi3.Schema // the spec's own request schemas
	specPut          *openapi3.Schema
	specPatch        *openapi3.Schema
	resp             *openapi3.Schema // single-object response schema
	listResp         *openapi3.Schema // paginated list response schema
	listParams       map[string]*openapi3.Parameter
	writable         map[string]*openapi3.Schema // properties of the POST schema
	full             []propPlan                  // render plan of the full representation
}

// defaultSpec caches the spec found in the module cache. It holds immutable data only (the
// parsed document and plans derived from it): loading costs 1-5 s and ~170 MB, so every
// server in a process shares one copy.
var defaultSpec = sync.OnceValues(func() (*Spec, error) {
	p, err := FindSpec()
	if err != nil {
		return nil, err
	}
	return LoadSpec(p)
})

// DefaultSpec returns the process-wide spec loaded from the go-netbox module (see FindSpec).
func DefaultSpec() (*Spec, error) { return defaultSpec() }

// FindSpec locates api/openapi.yaml of the go-netbox module in the Go module cache. The
// version is the one linked into the running binary when it links go-netbox, else the
// version this module requires. The cache is GOMODCACHE, else GOPATH/pkg/mod, else
// ~/go/pkg/mod, else what `go env GOMODCACHE` says.
func FindSpec() (string, error) {
	version := goNetboxVersion
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			if d.Path == goNetboxModule {
				version = d.Version
				if d.Replace != nil && d.Replace.Path != "" && filepath.IsAbs(d.Replace.Path) {
					p := filepath.Join(d.Replace.Path, specRelPath)
					if _, err := os.Stat(p); err == nil {
						return p, nil
					}
				}
			}
		}
	}
	rel := filepath.Join(escapeModulePath(goNetboxModule)+"@"+version, specRelPath)
	var caches []string
	if c := os.Getenv("GOMODCACHE"); c != "" {
		caches = append(caches, c)
	}
	if gp := os.Getenv("GOPATH"); gp != "" {
		caches = append(caches, filepath.Join(filepath.SplitList(gp)[0], "pkg", "mod"))
	}
	if home, err := os.UserHomeDir(); err == nil {
		caches = append(caches, filepath.Join(home, "go", "pkg", "mod"))
	}
	for _, c := range caches {
		p := filepath.Join(c, rel)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	out, err := exec.Command("go", "env", "GOMODCACHE").Output()
	if err == nil {
		p := filepath.Join(strings.TrimSpace(string(out)), rel)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("netboxtest: NetBox OpenAPI spec %s not found in module caches %v (run `go mod download %s@%s`)",
		rel, caches, goNetboxModule, version)
}

// escapeModulePath applies the module cache's case encoding (upper-case letters become "!"+lower).
func escapeModulePath(p string) string {
	var b strings.Builder
	for _, r := range p {
		if unicode.IsUpper(r) {
			b.WriteByte('!')
			b.WriteRune(unicode.ToLower(r))
		} else {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// LoadSpec parses the spec at path and prepares the simulator's per-endpoint data.
func LoadSpec(path string) (*Spec, error) {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromFile(path)
	if err != nil {
		return nil, fmt.Errorf("netboxtest: load OpenAPI spec %s: %w", path, err)
	}
	doc.Servers = openapi3.Servers{{URL: "/"}}
	s := &Spec{Path: path, doc: doc, eps: map[string]*epSpec{}, defs: endpointMap(), nullChoices: map[string]bool{}}
	b := &planBuilder{spec: s, memo: map[planKey][]propPlan{}}
	for _, ep := range endpoints() {
		es, err := s.endpointSpec(ep.path)
		if err != nil {
			return nil, err
		}
		s.eps[ep.path] = es
	}
	for _, ep := range endpoints() {
		s.eps[ep.path].full = b.plan(ep.path, s.eps[ep.path].resp, 0)
	}
	return s, nil
}

func (s *Spec) endpointSpec(path string) (*epSpec, error) {
	coll := s.doc.Paths.Value(path)
	item := s.doc.Paths.Value(path + "{id}/")
	if coll == nil || item == nil || coll.Get == nil || coll.Post == nil || item.Get == nil || item.Put == nil || item.Patch == nil {
		return nil, fmt.Errorf("netboxtest: spec %s lacks the operations of %s", s.Path, path)
	}
	es := &epSpec{
		post:       bodySchema(coll.Post),
		put:        bodySchema(item.Put),
		patch:      bodySchema(item.Patch),
		resp:       respSchema(item.Get),
		listResp:   respSchema(coll.Get),
		listParams: map[string]*openapi3.Parameter{},
		writable:   map[string]*openapi3.Schema{},
	}
	if es.post == nil || es.put == nil || es.patch == nil || es.resp == nil || es.listResp == nil {
		return nil, fmt.Errorf("netboxtest: spec %s: %s has no JSON request or response schema", s.Path, path)
	}
	for _, p := range coll.Get.Parameters {
		if p.Value != nil && p.Value.In == openapi3.ParameterInQuery {
			es.listParams[p.Value.Name] = p.Value
		}
	}
	for name, p := range es.post.Properties {
		if p != nil && p.Value != nil {
			es.writable[name] = p.Value
		}
	}
	es.specPost, es.specPut, es.specPatch = es.post, es.put, es.patch
	es.post, es.put, es.patch = withoutRefAlternatives(es.post), withoutRefAlternatives(es.put), withoutRefAlternatives(es.patch)
	return es, nil
}

// withoutRefAlternatives returns a copy of a request schema whose reference properties
// (oneOf: [integer, Brief...Request]) accept any value. writeOne checks those itself before
// validating (a pk or a dict of attributes, resolved to a pk), which is exactly what the
// oneOf allows, and kin-openapi's oneOf costs ~25 µs per object in failed alternatives.
// Required and nullable checks of the property stay.
func withoutRefAlternatives(s *openapi3.Schema) *openapi3.Schema {
	cp := *s
	cp.Properties = make(openapi3.Schemas, len(s.Properties))
	for name, p := range s.Properties {
		if p != nil && p.Value != nil && isRefSchema(p.Value) {
			cp.Properties[name] = &openapi3.SchemaRef{Value: &openapi3.Schema{Nullable: p.Value.Nullable}}
			continue
		}
		cp.Properties[name] = p
	}
	return &cp
}

func bodySchema(op *openapi3.Operation) *openapi3.Schema {
	if op == nil || op.RequestBody == nil || op.RequestBody.Value == nil {
		return nil
	}
	mt := op.RequestBody.Value.Content.Get("application/json")
	if mt == nil || mt.Schema == nil {
		return nil
	}
	return mt.Schema.Value
}

func respSchema(op *openapi3.Operation) *openapi3.Schema {
	for _, code := range []string{"200", "201"} {
		if r := op.Responses.Value(code); r != nil && r.Value != nil {
			if mt := r.Value.Content.Get("application/json"); mt != nil && mt.Schema != nil {
				return mt.Schema.Value
			}
		}
	}
	return nil
}

// unwrap returns the schema a property really has: NetBox wraps nullable references as
// allOf: [$ref] with nullable.
func unwrap(s *openapi3.Schema) *openapi3.Schema {
	for s != nil && len(s.AllOf) == 1 && len(s.Properties) == 0 && s.AllOf[0].Value != nil {
		s = s.AllOf[0].Value
	}
	return s
}

// fieldErrors is a NetBox error body: field name (or "__all__") to messages, or to a nested
// map for 4.6+ custom field errors.
type fieldErrors map[string]any

func (fe fieldErrors) add(field, msg string) {
	if _, ok := fe[field]; ok {
		return // DRF reports one message per field; keep the first
	}
	fe[field] = []string{msg}
}

func (fe fieldErrors) merge(other fieldErrors) {
	for k, v := range other {
		if _, ok := fe[k]; !ok {
			fe[k] = v
		}
	}
}

// validateBody checks one object against schema and converts kin-openapi's errors into
// NetBox's field errors ({"device_type": ["This field is required."]}).
func validateBody(schema *openapi3.Schema, body map[string]any) fieldErrors {
	err := schema.VisitJSON(body, openapi3.MultiErrors(), openapi3.VisitAsRequest(), openapi3.DisableSchemaErrorDetails())
	if err == nil {
		return nil
	}
	fe := fieldErrors{}
	collectSchemaErrors(err, fe)
	if len(fe) == 0 {
		fe.add("non_field_errors", err.Error())
	}
	return fe
}

func collectSchemaErrors(err error, fe fieldErrors) {
	// Type switches, not errors.As: a oneOf error wraps its alternatives' errors, and the
	// message belongs to the oneOf itself.
	var se *openapi3.SchemaError
	switch e := err.(type) {
	case openapi3.MultiError:
		for _, x := range e {
			collectSchemaErrors(x, fe)
		}
		return
	case *openapi3.SchemaError:
		se = e
	default:
		fe.add("non_field_errors", err.Error())
		return
	}
	path := se.JSONPointer()
	field := "non_field_errors"
	if len(path) > 0 {
		field = path[0]
	}
	msg := schemaErrorMessage(se)
	if len(path) > 1 {
		msg = strings.Join(path[1:], ".") + ": " + msg
	}
	fe.add(field, msg)
}

// schemaErrorMessage words a schema violation as Django REST framework does.
func schemaErrorMessage(se *openapi3.SchemaError) string {
	s := se.Schema
	switch se.SchemaField {
	case "required":
		return "This field is required."
	case "enum":
		return fmt.Sprintf("%q is not a valid choice.", fmt.Sprint(se.Value))
	case "nullable":
		return "This field may not be null."
	case "oneOf", "anyOf":
		if isRefSchema(s) {
			return fmt.Sprintf("Related objects must be referenced by numeric ID or by dictionary of attributes. "+
				"Received an unrecognized value: %v", se.Value)
		}
	case "type":
		switch s.Type.Slice()[0] {
		case "integer":
			return "A valid integer is required."
		case "number":
			return "A valid number is required."
		case "boolean":
			return "Must be a valid boolean."
		case "string":
			return "Not a valid string."
		case "array":
			return fmt.Sprintf("Expected a list of items but got type %q.", pyType(se.Value))
		case "object":
			return fmt.Sprintf("Expected a dictionary of items but got type %q.", pyType(se.Value))
		}
	case "maxLength":
		if s.MaxLength != nil {
			return fmt.Sprintf("Ensure this field has no more than %d characters.", *s.MaxLength)
		}
	case "minLength":
		return "This field may not be blank."
	case "pattern":
		if strings.Contains(s.Pattern, "a-zA-Z0-9_") || strings.Contains(s.Pattern, `\w`) {
			return `Enter a valid "slug" consisting of letters, numbers, underscores or hyphens.`
		}
		return "This value does not match the required pattern."
	case "minimum":
		if s.Min != nil {
			return fmt.Sprintf("Ensure this value is greater than or equal to %v.", *s.Min)
		}
	case "maximum":
		if s.Max != nil {
			return fmt.Sprintf("Ensure this value is less than or equal to %v.", *s.Max)
		}
	}
	return se.Reason
}

// isRefSchema reports whether s is a "pk or nested object" reference (oneOf integer/object).
func isRefSchema(s *openapi3.Schema) bool {
	if s == nil || len(s.OneOf) == 0 {
		return false
	}
	for _, o := range s.OneOf {
		if o.Value != nil && o.Value.Type.Is("integer") {
			return true
		}
	}
	return false
}

func pyType(v any) string {
	switch v.(type) {
	case string:
		return "str"
	case bool:
		return "bool"
	case float64:
		return "float"
	case []any:
		return "list"
	case map[string]any:
		return "dict"
	case nil:
		return "NoneType"
	}
	return fmt.Sprintf("%T", v)
}

// validateQuery checks the query parameters the spec declares for the list operation.
// Parameters the spec does not know (brief, fields, start, id__in) pass, as in NetBox.
func validateQuery(ctx context.Context, es *epSpec, r *http.Request, q url.Values) fieldErrors {
	var fe fieldErrors
	input := &openapi3filter.RequestValidationInput{
		Request:     r,
		QueryParams: q,
		Options:     &openapi3filter.Options{SkipSettingDefaults: true, MultiError: false},
	}
	names := make([]string, 0, len(q))
	for name := range q {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		p := es.listParams[name]
		if p == nil {
			continue
		}
		if err := openapi3filter.ValidateParameter(ctx, input, p); err != nil {
			if fe == nil {
				fe = fieldErrors{}
			}
			msg := "Enter a valid value."
			var se *openapi3.SchemaError
			if errors.As(err, &se) {
				if m := schemaErrorMessage(se); m != "" {
					msg = m
				}
			}
			if p.Schema != nil && p.Schema.Value != nil {
				t := p.Schema.Value
				if t.Type.Is("array") && t.Items != nil && t.Items.Value != nil {
					t = t.Items.Value
				}
				if t.Type.Is("integer") {
					msg = "A valid integer is required."
					if name != "limit" && name != "offset" {
						msg = "Enter a number."
					}
				}
			}
			fe.add(name, msg)
		}
	}
	return fe
}

// validateResponse checks a decoded response body against the response schema.
func validateResponse(schema *openapi3.Schema, body any) error {
	// Patterns are not checked: NetBox itself answers "" for pattern-constrained fields such
	// as dns_name, and go-netbox does not check patterns when decoding.
	return schema.VisitJSON(body, openapi3.VisitAsResponse(), openapi3.MultiErrors(), openapi3.DisablePatternValidation())
}

// choiceLabels reads a choice field's labels from the description NetBox generates
// ("* `active` - Active").
var choiceLine = regexp.MustCompile("\\* `([^`]*)` - (.*)")

func choiceLabels(s *openapi3.Schema) map[string]string {
	if s == nil || !s.Type.Is("object") {
		return nil
	}
	v := s.Properties["value"]
	l := s.Properties["label"]
	if v == nil || l == nil || v.Value == nil {
		return nil
	}
	labels := map[string]string{}
	for _, m := range choiceLine.FindAllStringSubmatch(v.Value.Description, -1) {
		labels[m[1]] = strings.TrimSpace(m[2])
	}
	// Fall back to the parallel value/label enums.
	if l.Value != nil && len(labels) == 0 {
		for i, ev := range v.Value.Enum {
			if i < len(l.Value.Enum) {
				labels[fmt.Sprint(ev)] = fmt.Sprint(l.Value.Enum[i])
			}
		}
	}
	return labels
}
