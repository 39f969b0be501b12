package netboxtest

import (
	"sort"
	"strconv"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
)

// A render plan lists, for one schema of one endpoint, how to produce each property. Plans
// are derived from the spec once, so every response carries exactly the properties NetBox's
// schema declares, in NetBox's shapes (choices as {value, label}, references as nested
// brief objects), without walking the schema per request.
type propKind int

const (
	pkRaw      propKind = iota // stored value, else a default
	pkComputed                 // computed from the object and the state
	pkRef                      // a reference rendered as a nested object (or null)
	pkRefList                  // a list of references rendered as nested objects
	pkChoice                   // a stored choice value rendered as {value, label}
	pkCF                       // custom_fields: every defined field, null when unset
)

type propPlan struct {
	name    string
	kind    propKind
	compute func(rc *renderCtx, o *object) any
	ref     func(rc *renderCtx, o *object) (target string, id int)
	refs    func(rc *renderCtx, o *object) (target string, ids []int)
	nested  map[string][]propPlan // by target endpoint path
	labels  map[string]string
	def     any
	omit    bool // leave the property out when it has no value (non-nullable, no sensible zero)
}

type planKey struct {
	ep     string
	schema *openapi3.Schema
}

type planBuilder struct {
	spec       *Spec
	memo       map[planKey][]propPlan
	inProgress map[planKey]bool
}

var minimalProps = []string{"id", "url", "display"}

// plan builds the render plan for endpoint ep's schema s.
func (b *planBuilder) plan(ep string, s *openapi3.Schema, depth int) []propPlan {
	def := b.spec.defs[ep]
	if def == nil || s == nil {
		return nil
	}
	key := planKey{ep, s}
	if p, ok := b.memo[key]; ok {
		return p
	}
	if b.inProgress == nil {
		b.inProgress = map[planKey]bool{}
	}
	if b.inProgress[key] || depth > 4 {
		return b.minimal(def)
	}
	b.inProgress[key] = true
	defer delete(b.inProgress, key)

	names := make([]string, 0, len(s.Properties))
	for n := range s.Properties {
		names = append(names, n)
	}
	sort.Strings(names)
	plans := make([]propPlan, 0, len(names))
	for _, name := range names {
		ps := unwrap(s.Properties[name].Value)
		pp := propPlan{name: name}
		nullable := s.Properties[name].Value.Nullable || ps.Nullable
		switch {
		case commonComputed(def, name) != nil:
			pp.kind, pp.compute = pkComputed, commonComputed(def, name)
		case def.computed[name] != nil:
			pp.kind, pp.compute = pkComputed, def.computed[name]
		case def.computedRef[name].ref != nil:
			pp.kind, pp.ref = pkRef, def.computedRef[name].ref
			pp.nested = b.nestedPlans(def.computedRef[name].targets, ps, depth)
		case def.computedRefs[name].refs != nil:
			pp.kind, pp.refs = pkRefList, def.computedRefs[name].refs
			pp.nested = b.nestedPlans(def.computedRefs[name].targets, itemSchema(ps), depth)
		case def.fks[name].target != "":
			fk := def.fks[name]
			field := name
			pp.kind = pkRef
			pp.ref = func(_ *renderCtx, o *object) (string, int) { return fk.target, intField(o, field) }
			pp.nested = b.nestedPlans([]string{fk.target}, ps, depth)
		case def.m2m[name].target != "" || name == "tags":
			target := pathTags
			if name != "tags" {
				target = def.m2m[name].target
			}
			field := name
			pp.kind = pkRefList
			pp.refs = func(_ *renderCtx, o *object) (string, []int) {
				if field == "tags" {
					return pathTags, o.tags
				}
				return target, intsField(o, field)
			}
			pp.nested = b.nestedPlans([]string{target}, itemSchema(ps), depth)
		case name == "custom_fields":
			pp.kind = pkCF
		case choiceLabels(ps) != nil:
			pp.kind, pp.labels = pkChoice, choiceLabels(ps)
			// NetBox answers an unset choice field as null even where the spec says it is
			// not nullable (airflow, face, mode, poe_mode...): the response check drops those.
			if !nullable {
				b.spec.nullChoices[name] = true
			}
		default:
			pp.kind = pkRaw
			switch {
			case nullable:
				pp.def = nil
			case ps.Type.Is("string"):
				pp.def = ""
			case ps.Type.Is("boolean"):
				pp.def = false
			case ps.Type.Is("integer"), ps.Type.Is("number"):
				pp.def = 0
			case ps.Type.Is("array"):
				pp.def = []any{}
			default:
				pp.omit = true
			}
		}
		plans = append(plans, pp)
	}
	b.memo[key] = plans
	return plans
}

func itemSchema(s *openapi3.Schema) *openapi3.Schema {
	if s != nil && s.Items != nil {
		return unwrap(s.Items.Value)
	}
	return nil
}

// nestedPlans builds the plans for references to targets. A typed property (BriefSite)
// gives the properties; an untyped one (assigned_object, parent) gets the target's brief
// representation.
func (b *planBuilder) nestedPlans(targets []string, s *openapi3.Schema, depth int) map[string][]propPlan {
	out := map[string][]propPlan{}
	for _, t := range targets {
		def := b.spec.defs[t]
		if def == nil {
			continue // an endpoint the simulator does not have: always null
		}
		if s != nil && len(s.Properties) > 0 {
			out[t] = b.plan(t, s, depth+1)
			continue
		}
		full := b.plan(t, b.spec.eps[t].resp, depth+1)
		out[t] = filterPlan(full, def.brief)
	}
	return out
}

func (b *planBuilder) minimal(def *endpoint) []propPlan {
	var out []propPlan
	for _, n := range minimalProps {
		out = append(out, propPlan{name: n, kind: pkComputed, compute: commonComputed(def, n)})
	}
	return out
}

func filterPlan(full []propPlan, names []string) []propPlan {
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	var out []propPlan
	for _, p := range full {
		if want[p.name] {
			out = append(out, p)
		}
	}
	return out
}

// timeFormat is how NetBox (DRF) writes timestamps: RFC 3339 with microseconds, Z for UTC.
const timeFormat = "2006-01-02T15:04:05.000000Z07:00"

func commonComputed(def *endpoint, name string) func(rc *renderCtx, o *object) any {
	switch name {
	case "id":
		return func(_ *renderCtx, o *object) any { return o.id }
	case "url":
		return func(rc *renderCtx, o *object) any { return rc.base + def.path + strconv.Itoa(o.id) + "/" }
	case "display_url":
		return func(rc *renderCtx, o *object) any { return rc.base + def.uiPath + strconv.Itoa(o.id) + "/" }
	case "display":
		return func(rc *renderCtx, o *object) any {
			if def.display != nil {
				return def.display(rc, o)
			}
			return strField(o, "name")
		}
	case "created":
		return func(_ *renderCtx, o *object) any { return fmtTime(o.created) }
	case "last_updated":
		return func(_ *renderCtx, o *object) any { return fmtTime(o.updated) }
	}
	return nil
}

func fmtTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC().Format(timeFormat)
}

// render produces the representation of o following plan.
func (rc *renderCtx) render(o *object, plan []propPlan) map[string]any {
	out := make(map[string]any, len(plan))
	for i := range plan {
		p := &plan[i]
		if rc.skipAnnotation(o, p.name) {
			continue
		}
		switch p.kind {
		case pkComputed:
			out[p.name] = p.compute(rc, o)
		case pkRef:
			target, id := p.ref(rc, o)
			if id == 0 {
				out[p.name] = nil
				continue
			}
			rc.depth++
			out[p.name] = rc.renderRef(target, id, p.nested)
			rc.depth--
		case pkRefList:
			target, ids := p.refs(rc, o)
			list := make([]any, 0, len(ids))
			rc.depth++
			for _, id := range ids {
				if v := rc.renderRef(target, id, p.nested); v != nil {
					list = append(list, v)
				}
			}
			rc.depth--
			out[p.name] = list
		case pkChoice:
			v, ok := o.f[p.name]
			if !ok || v == nil || v == "" {
				if p.omit {
					continue
				}
				out[p.name] = nil
				continue
			}
			s := toString(v)
			out[p.name] = map[string]any{"value": v, "label": labelOr(p.labels, s)}
		case pkCF:
			out[p.name] = rc.customFields(o)
		default:
			v, ok := o.f[p.name]
			if !ok {
				if p.omit {
					continue
				}
				v = p.def
				if a, isArr := v.([]any); isArr && len(a) == 0 {
					v = []any{}
				}
			}
			out[p.name] = v
		}
	}
	return out
}

func labelOr(labels map[string]string, v string) string {
	if l, ok := labels[v]; ok {
		return l
	}
	return v
}

func (rc *renderCtx) renderRef(target string, id int, nested map[string][]propPlan) any {
	plan, ok := nested[target]
	if !ok {
		return nil
	}
	t := rc.s.tables[target]
	if t == nil {
		return nil
	}
	ref := t.byID[id]
	if ref == nil {
		return nil
	}
	return rc.render(ref, plan)
}

// customFields returns every custom field defined for o's type, null when unset.
func (rc *renderCtx) customFields(o *object) map[string]any {
	defs := rc.cfDefs(o.ep.objectType)
	out := make(map[string]any, len(defs))
	for _, cf := range defs {
		name := strField(cf, "name")
		v, ok := o.cf[name]
		if !ok {
			v = nil
		}
		out[name] = v
	}
	return out
}

func (rc *renderCtx) cfDefs(objectType string) []*object {
	if defs, ok := rc.cfCache[objectType]; ok {
		return defs
	}
	defs := rc.s.customFieldsFor(objectType)
	if rc.cfCache == nil {
		rc.cfCache = map[string][]*object{}
	}
	rc.cfCache[objectType] = defs
	return defs
}

func toString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case int:
		return strconv.Itoa(x)
	case bool:
		return strconv.FormatBool(x)
	case nil:
		return ""
	}
	return ""
}

// appendRendered appends the JSON of render(o, plan) without building the map: the bytes
// appendJSON would write for it (keys in order, the same values). Bulk answers and list pages
// render thousands of objects per request. A plan not in strict name order (the minimal
// plan of a cycle) goes through render.
func (rc *renderCtx) appendRendered(dst []byte, o *object, plan []propPlan) []byte {
	for i := 1; i < len(plan); i++ {
		if plan[i-1].name >= plan[i].name {
			return appendJSON(dst, rc.render(o, plan))
		}
	}
	dst = append(dst, '{')
	n := 0
	key := func(name string) {
		if n > 0 {
			dst = append(dst, ',')
		}
		n++
		dst = appendString(dst, name)
		dst = append(dst, ':')
	}
	for i := range plan {
		p := &plan[i]
		if rc.skipAnnotation(o, p.name) {
			continue
		}
		switch p.kind {
		case pkComputed:
			key(p.name)
			dst = appendJSON(dst, p.compute(rc, o))
		case pkRef:
			target, id := p.ref(rc, o)
			key(p.name)
			ref, nested := rc.refTarget(target, id, p.nested)
			if id == 0 || ref == nil {
				dst = append(dst, "null"...)
				continue
			}
			rc.depth++
			dst = rc.appendRendered(dst, ref, nested)
			rc.depth--
		case pkRefList:
			target, ids := p.refs(rc, o)
			key(p.name)
			dst = append(dst, '[')
			m := 0
			rc.depth++
			for _, id := range ids {
				if ref, nested := rc.refTarget(target, id, p.nested); ref != nil {
					if m > 0 {
						dst = append(dst, ',')
					}
					m++
					dst = rc.appendRendered(dst, ref, nested)
				}
			}
			rc.depth--
			dst = append(dst, ']')
		case pkChoice:
			v, ok := o.f[p.name]
			if !ok || v == nil || v == "" {
				if p.omit {
					continue
				}
				key(p.name)
				dst = append(dst, "null"...)
				continue
			}
			key(p.name)
			dst = append(dst, `{"label":`...)
			dst = appendString(dst, labelOr(p.labels, toString(v)))
			dst = append(dst, `,"value":`...)
			dst = appendJSON(dst, v)
			dst = append(dst, '}')
		case pkCF:
			key(p.name)
			dst = appendJSON(dst, rc.customFields(o))
		default:
			v, ok := o.f[p.name]
			if !ok {
				if p.omit {
					continue
				}
				v = p.def
				if a, isArr := v.([]any); isArr && len(a) == 0 {
					v = []any{}
				}
			}
			key(p.name)
			dst = appendJSON(dst, v)
		}
	}
	return append(dst, '}')
}

// refTarget is the object and plan renderRef would render (nil when it renders null).
func (rc *renderCtx) refTarget(target string, id int, nested map[string][]propPlan) (*object, []propPlan) {
	plan, ok := nested[target]
	if !ok {
		return nil, nil
	}
	t := rc.s.tables[target]
	if t == nil {
		return nil, nil
	}
	return t.byID[id], plan
}

// appendRenderedList appends the JSON list of the objects rendered with plan and returns
// where each one's bytes start and end (for response validation).
func (rc *renderCtx) appendRenderedList(dst []byte, objs []*object, plan []propPlan) ([]byte, [][2]int) {
	spans := make([][2]int, len(objs))
	dst = append(dst, '[')
	for i, o := range objs {
		if i > 0 {
			dst = append(dst, ',')
		}
		spans[i][0] = len(dst)
		dst = rc.appendRendered(dst, o, plan)
		spans[i][1] = len(dst)
	}
	return append(dst, ']'), spans
}

// annotations are the counts NetBox's list and detail views add to the queryset
// (annotate()); the object a POST answers is not re-read through that queryset, so they are
// absent there (a PATCH answers the object read through it, with them) (checked by test/contract fields-* and bulk-create-*).
var annotations = map[string]map[string]bool{
	pathTags:          {"tagged_items": true},
	pathSites:         {"circuit_count": true, "device_count": true, "prefix_count": true, "rack_count": true, "virtualmachine_count": true, "vlan_count": true},
	pathLocations:     {"prefix_count": true},
	pathDeviceTypes:   {"device_count": true},
	pathManufacturers: {"devicetype_count": true, "inventoryitem_count": true, "platform_count": true},
	pathPlatforms:     {"device_count": true, "virtualmachine_count": true},
	pathClusterTypes:  {"cluster_count": true},
	pathClusters:      {"allocated_disk": true, "allocated_memory": true, "allocated_vcpus": true, "device_count": true, "virtualmachine_count": true},
}

// skipAnnotation reports a count to leave out: an annotation in a create's answer, or a
// device type's device_count nested in another object (BriefDeviceTypeSerializer is
// rendered from the related object, which carries no annotation).
func (rc *renderCtx) skipAnnotation(o *object, name string) bool {
	if rc.profile >= Profile47 {
		return false // NetBox 4.6 answers a create with the annotations, and nests device_count
	}
	if rc.depth == 0 {
		return rc.write && annotations[o.ep.path][name]
	}
	return o.ep.path == pathDeviceTypes && name == "device_count"
}
