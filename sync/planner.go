package sync

import (
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/netbox-agent/netbox-agent/netbox"
)

// planner builds one plan from one snapshot.
type planner struct {
	e    *Engine
	cfg  Config
	s    *snapshot
	ran  map[string]bool
	now  time.Time
	plan *Plan

	shared  map[string]any    // "endpoint|key" -> int64 id or ref
	claimed map[string]string // "endpoint:id" -> entity id that matched it
	keys    map[string]bool   // action keys in use
	addrs   map[string]string // IP address claimed this plan -> entity id
	names   map[string]string // "endpoint|scope|lower-case name" -> entity id that has it
	// machines whose children this plan reconciled (orphan children are looked for there)
	seenMachines map[string]bool
	adapters     map[string]string // source instance -> adapter, from the entities
	// present: the sources with an observation in this plan's entities; frozen: per absent
	// source, the field changes held back on objects it saw (identity_plan.go).
	present     map[string]bool
	presentRefs map[string]bool // "source|native id" of every observation in the entities
	frozen      map[string]int
	agentTags   []any           // the tags of a new object, shared by every create body
	foreignSeen map[string]bool // "endpoint:id" of other instances' objects reported this plan
}

func newPlanner(e *Engine, s *snapshot, ran map[string]bool) *planner {
	now := e.now().UTC().Truncate(time.Second)
	return &planner{e: e, cfg: e.cfg, s: s, ran: ran, now: now,
		plan:   &Plan{CreatedAt: now, NetBoxVersion: fmt.Sprintf("%d.%d", s.major, s.minor)},
		shared: map[string]any{}, claimed: map[string]string{}, keys: map[string]bool{},
		addrs: map[string]string{}, names: map[string]string{}, seenMachines: map[string]bool{}, adapters: map[string]string{},
		frozen: map[string]int{}, foreignSeen: map[string]bool{},
		agentTags: []any{map[string]any{"name": e.cfg.Tag, "slug": slugify(e.cfg.Tag)}}}
}

// planRef is a reference to an object created earlier in the same apply; it marshals as
// {"$ref": key} (a loaded plan holds that map instead).
type planRef struct {
	Ref string `json:"$ref"`
}

func ref(key string) planRef { return planRef{key} }

// AppendJSON writes what json.Marshal does, without reflection (plans hold many references).
func (r planRef) AppendJSON(b []byte) ([]byte, error) {
	b = append(b, `{"$ref":`...)
	return append(netbox.AppendJSONString(b, r.Ref), '}'), nil
}

func isRef(v any) (string, bool) {
	if r, ok := v.(planRef); ok {
		return r.Ref, true
	}
	m, ok := v.(map[string]any)
	if !ok || len(m) != 1 {
		return "", false
	}
	k, ok := m["$ref"].(string)
	return k, ok
}

// uniqueKey returns key, or key with a counter when the plan already has it.
func (p *planner) uniqueKey(key string) string {
	k := key
	for i := 2; p.keys[k]; i++ {
		k = fmt.Sprintf("%s#%d", key, i)
	}
	p.keys[k] = true
	return k
}

func (p *planner) add(a Action) { p.plan.Actions = append(p.plan.Actions, a) }

func (p *planner) note(object, field, format string, args ...any) {
	p.plan.Notes = append(p.plan.Notes, Note{Object: object, Field: field, Reason: fmt.Sprintf(format, args...)})
}

// planMeta plans the tags and the custom field the agent needs.
func (p *planner) planMeta() {
	for _, tag := range []string{p.cfg.Tag, p.cfg.StaleTag} {
		if p.s.findByName(epTags, tag, nil) == nil {
			desc := "Managed by netbox-agent"
			if tag == p.cfg.StaleTag {
				desc = "netbox-agent: no source sees this object any more"
			}
			key := p.uniqueKey("tag:" + tag)
			p.add(Action{Key: key, Op: OpCreate, Level: levelMeta, Endpoint: epTags, Type: "tag", Name: tag,
				Body:   map[string]any{"name": tag, "slug": slugify(tag), "description": desc},
				Reason: "the agent marks what it manages with this tag"})
		}
	}
	found := false
	for _, o := range p.s.objs[epCustomFields] {
		if objStr(o, "name") == p.cfg.CustomField {
			found = true
		}
	}
	if !found {
		key := p.uniqueKey("custom-field:" + p.cfg.CustomField)
		p.add(Action{Key: key, Op: OpCreate, Level: levelMeta, Endpoint: epCustomFields, Type: "custom field",
			Name: p.cfg.CustomField,
			Body: map[string]any{"name": p.cfg.CustomField, "label": "netbox-agent", "type": "json",
				"object_types": []any{"dcim.device", "dcim.interface", "dcim.macaddress", "ipam.ipaddress",
					"ipam.service", "virtualization.virtualmachine", "virtualization.vminterface",
					"virtualization.virtualdisk"},
				"description": "netbox-agent ownership: identity keys, sources, last_seen and the values it last wrote",
				"ui_editable": "hidden"},
			Reason: "the agent records ownership and what it last wrote here"})
	}
}

// ensureShared returns the id of a shared object (site, manufacturer, type, role, platform,
// cluster type, cluster), planning its creation when NetBox has none.
func (p *planner) ensureShared(ep string, level int, typ, name string, filter func(Object) bool, cacheKey string, body map[string]any) any {
	ck := ep + "|" + strings.ToLower(cacheKey)
	if v, ok := p.shared[ck]; ok {
		return v
	}
	if n := utf8.RuneCountInString(name); n > sharedNameLimit {
		long := name
		name = cutToFit(name, sharedNameLimit)
		for _, f := range []string{"name", "model"} { // a device type is named by its model
			if body[f] == long {
				body[f] = name
			}
		}
		p.note(typ+" "+name, "name", "%d characters, longer than NetBox's %d: cut to %d", n, sharedNameLimit, sharedNameLimit)
	}
	if o := p.s.findByName(ep, name, filter); o != nil {
		p.shared[ck] = int64(objID(o))
		return p.shared[ck]
	}
	key := p.uniqueKey(typ + ":" + cacheKey)
	if _, ok := body["slug"]; !ok {
		body["slug"] = slugify(name)
	}
	body["tags"] = p.agentTags
	p.add(Action{Key: key, Op: OpCreate, Level: level, Endpoint: ep, Type: typ, Name: name, Body: body,
		Reason: "not in NetBox yet"})
	p.shared[ck] = ref(key)
	return p.shared[ck]
}

// want is one field the agent wants on an object.
type want struct {
	field   string
	value   any // int64 id, ref, string, float64, int64, []int; nil: the agent has no value
	source  string
	display string // for people, when value is an id
	// createOnly fields are written on create and never compared afterwards (interface type).
	createOnly bool
	// force writes the value whenever it differs (moving an agent-owned IP between interfaces).
	force bool
}

// authoritative reports whether source's value overwrites even a person's edit of field.
func (p *planner) authoritative(field, source string) bool {
	if source == "" {
		return false
	}
	srcs := p.cfg.Authoritative[field]
	if slices.Contains(srcs, source) {
		return true
	}
	for _, s := range srcs {
		if p.adapters[source] == s {
			return true
		}
	}
	return false
}

func wantComparable(v any) any {
	if k, ok := isRef(v); ok {
		return "$ref:" + k
	}
	return norm(v)
}

func displayOf(v any) any {
	if k, ok := isRef(v); ok {
		return "(new) " + k
	}
	switch x := v.(type) {
	case nestedRef:
		return cmpOr(x.Display, fmt.Sprint(x.ID))
	case map[string]any:
		if k, ok := isRef(x); ok {
			return "(new) " + k
		}
		for _, f := range []string{"display", "name", "address", "value"} {
			if s, ok := x[f]; ok {
				return s
			}
		}
		return x["id"]
	}
	return v
}

// diffed is the outcome of the three-way merge of one object's fields.
type diffed struct {
	body    map[string]any
	changes []Change
	written written
}

// diff is the three-way merge: cur is NetBox's object (nil for a create), rec the agent's
// record on it. A field changes when the source's value differs from NetBox's and either
// NetBox still holds what the agent last wrote, or the field is empty, or the source is
// authoritative for it, or the object is adopted with the overwrite policy. Otherwise the
// person's value stays and a note says so.
func (p *planner) diff(objName string, cur Object, rec ownerRecord, fields []want) diffed {
	d := diffed{body: map[string]any{}}
	frozenBy := p.frozenBy(cur) // outage stability: identity_plan.go
	var acc [24]fieldValue      // the written values, in the order of fields; sorted at the end
	wr := acc[:0]
	for _, w := range fields {
		w.value = p.fitLength(objName, w.field, w.value)
		if w.value == nil {
			if b, ok := rec.Written.get(w.field); ok {
				wr = putField(wr, w.field, b)
			}
			continue
		}
		if cur == nil {
			d.body[w.field] = w.value
			if !w.createOnly {
				wr = putField(wr, w.field, w.value)
			}
			continue
		}
		if w.createOnly {
			continue
		}
		curV := cur[w.field]
		curN, wantN := norm(curV), wantComparable(w.value)
		if curN == wantN {
			wr = putField(wr, w.field, w.value)
			continue
		}
		base, hasBase := rec.Written.get(w.field)
		if frozenBy != "" && hasBase && !p.authoritative(w.field, w.source) {
			wr = putField(wr, w.field, base) // the absent source's last word stands
			p.frozen[frozenBy]++
			continue
		}
		reason := ""
		switch {
		case w.force:
			reason = "moved by the agent"
		case p.authoritative(w.field, w.source):
			reason = "source " + w.source + " is authoritative for " + w.field
		case !rec.Created && p.cfg.Adopt == "overwrite":
			reason = "adopted object, adopt policy is overwrite"
		case hasBase && norm(base) == curN:
			reason = "changed in source"
		case curN == nil:
			reason = "empty in NetBox"
		case hasBase:
			p.note(objName, w.field, "kept a change made in NetBox: %v (the agent last wrote %v; %s says %v)",
				displayOf(curV), displayOf(base), cmpOr(w.source, "the agent"), cmpOr(w.display, fmt.Sprint(displayOf(w.value))))
			wr = putField(wr, w.field, base)
			continue
		default:
			if !rec.Created {
				p.note(objName, w.field, "kept the value set in NetBox: %v (adopted object, only empty fields are filled; %s says %v)",
					displayOf(curV), cmpOr(w.source, "the agent"), cmpOr(w.display, fmt.Sprint(displayOf(w.value))))
			} else {
				p.note(objName, w.field, "kept the value set in NetBox: %v (%s says %v)",
					displayOf(curV), cmpOr(w.source, "the agent"), cmpOr(w.display, fmt.Sprint(displayOf(w.value))))
			}
			continue
		}
		d.body[w.field] = w.value
		wr = putField(wr, w.field, w.value)
		after := any(w.display)
		if w.display == "" {
			after = displayOf(w.value)
		}
		d.changes = append(d.changes, Change{Field: w.field, Before: displayOf(curV), After: after, Source: w.source, Reason: reason})
	}
	if len(wr) > 0 { // exactly sized, sorted
		slices.SortFunc(wr, func(a, b fieldValue) int { return strings.Compare(a.Field, b.Field) })
		d.written = append(make(written, 0, len(wr)), wr...)
	}
	return d
}

// NetBox's length limits on what sources name and describe (Django counts characters). A
// longer value would make NetBox refuse the whole object, and with it everything that hangs
// on it (interfaces, addresses, disks).
const (
	// machineNameLimit and interfaceNameLimit bound device, VM and interface names: a longer
	// name is not written (a cut one could be another machine's or interface's).
	machineNameLimit   = 64
	interfaceNameLimit = 64
	// sharedNameLimit bounds the names of shared objects (sites, manufacturers, device types'
	// models, roles, platforms, clusters, locations, tags): a longer name from a source (a
	// Home Assistant model string) is cut rather than losing every machine of it.
	sharedNameLimit = 100
)

// fieldLimit is NetBox's limit on one field the planner writes; cut says a longer value is
// cut to fit (a description is prose, its start says what it is) rather than left out (a
// cut serial would be a wrong serial).
type fieldLimit struct {
	max int
	cut bool
}

var fieldLimits = map[string]fieldLimit{"description": {200, true}, "serial": {50, false}, "asset_tag": {50, false}}

// cutToFit cuts s to limit characters, the last an ellipsis, so a reader sees it was cut.
func cutToFit(s string, limit int) string {
	return string([]rune(s)[:limit-1]) + "…"
}

// fitLength returns v fitted to NetBox's limit on field, noting what it did, or v unchanged.
// It runs for every field of every object planned: fields without a limit cost one lookup.
func (p *planner) fitLength(objName, field string, v any) any {
	lim, ok := fieldLimits[field]
	if !ok {
		return v
	}
	s, ok := v.(string)
	if !ok {
		return v
	}
	n := utf8.RuneCountInString(s)
	switch {
	case n <= lim.max:
		return v
	case lim.cut:
		p.note(objName, field, "%d characters, longer than NetBox's %d: cut to %d", n, lim.max, lim.max)
		return cutToFit(s, lim.max)
	default:
		p.note(objName, field, "%q is %d characters, longer than NetBox's %d: not written", s, n, lim.max)
		return nil
	}
}

// putField sets field in an unsorted list of written values.
func putField(wr []fieldValue, field string, v any) []fieldValue {
	for i := range wr {
		if wr[i].Field == field {
			wr[i].Value = v
			return wr
		}
	}
	return append(wr, fieldValue{field, v})
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// upsert describes one object the agent wants: its fields, and late fields written at
// lateLevel (primary IP / MAC), after the objects they point to exist. key must come from
// uniqueKey: children refer to it before the upsert is planned.
type upsert struct {
	key, ep, typ, name, entity string
	level, lateLevel           int
	cur                        Object // nil: create
	rec                        ownerRecord
	fields, late               []want
}

// plan plans the create or update of one object and returns a reference to it (its id, or a
// ref to its create).
func (p *planner) upsert(u upsert) any {
	if u.cur == nil {
		key := u.key
		d := p.diff(u.name, nil, u.rec, u.fields)
		rec := u.rec
		rec.Created, rec.LastSeen, rec.StaleSince, rec.Written = true, p.now.Format(time.RFC3339), "", d.written
		rec.Instance = p.cfg.Instance
		d.body["tags"] = p.agentTags
		d.body["custom_fields"] = ownerField{p.cfg.CustomField, rec}
		p.add(Action{Key: key, Op: OpCreate, Level: u.level, Endpoint: u.ep, Type: u.typ, Name: u.name,
			Entity: u.entity, Body: d.body, Reason: "new"})
		late := p.diff(u.name, nil, u.rec, u.late)
		if len(late.body) > 0 {
			full := rec
			full.Written = merged(d.written, late.written)
			late.body["id"] = ref(key)
			late.body["custom_fields"] = ownerField{p.cfg.CustomField, full}
			var changes []Change
			for _, w := range u.late {
				if w.value != nil {
					changes = append(changes, Change{Field: w.field, After: cmpOr(w.display, fmt.Sprint(displayOf(w.value))), Source: w.source, Reason: "new"})
				}
			}
			p.add(Action{Key: p.uniqueKey(key + "/primary"), Op: OpUpdate, Level: u.lateLevel, Endpoint: u.ep,
				Type: u.typ, Target: key, Name: u.name, Entity: u.entity, Body: late.body, Changes: changes})
		}
		return ref(key)
	}
	id := objID(u.cur)
	if p.foreignObject(u.entity, u.ep, u.cur) {
		return nil // another instance's: left as it is, and nothing may point to it (primary IP)
	}
	p.claimed[objKey(u.ep, id)] = u.entity
	main := p.diff(u.name, u.cur, u.rec, u.fields)
	late := p.diff(u.name, u.cur, u.rec, u.late)
	tags, tagsChanged := tagBody(u.cur, slugify(p.cfg.Tag), slugify(p.cfg.StaleTag), false)
	old, hadRec := ownership(u.cur, p.cfg.CustomField)
	rec := u.rec
	rec.StaleSince = ""
	rec.Instance = p.cfg.Instance
	rec.Written = merged(main.written, late.written)
	rec.LastSeen = old.LastSeen
	changed := len(main.body) > 0 || len(late.body) > 0 || tagsChanged || !hadRec || !sameRecord(rec, old) ||
		!lastSeenFresh(old, p.now, p.cfg.LastSeenRefresh)
	if !changed {
		p.plan.Summary.Unchanged++
		return int64(id)
	}
	rec.LastSeen = p.now.Format(time.RFC3339)
	lu := objStr(u.cur, "last_updated")
	if len(main.body) > 0 || tagsChanged || len(late.body) == 0 {
		mainRec := rec
		if len(late.body) > 0 { // the late write records the late fields
			mainRec.Written = merged(main.written, baseOf(u.rec, u.late))
		}
		main.body["id"] = id
		main.body["custom_fields"] = ownerField{p.cfg.CustomField, mainRec}
		if tagsChanged {
			main.body["tags"] = tags
		}
		reason := "changed in source"
		if len(main.changes) == 0 {
			reason = "ownership record refreshed (sources, keys or last_seen)"
			if !hadRec {
				reason = "adopted: matched by a strong key, the agent records its ownership"
			}
		}
		p.add(Action{Key: u.key, Op: OpUpdate, Level: u.level, Endpoint: u.ep, Type: u.typ, ID: id,
			Name: u.name, Entity: u.entity, LastUpdated: lu, Body: main.body, Changes: main.changes, Reason: reason})
	}
	if len(late.body) > 0 {
		late.body["id"] = id
		late.body["custom_fields"] = ownerField{p.cfg.CustomField, rec}
		p.add(Action{Key: p.uniqueKey(u.key + "/primary"), Op: OpUpdate, Level: u.lateLevel, Endpoint: u.ep, Type: u.typ,
			ID: id, Name: u.name, Entity: u.entity, LastUpdated: lu, Body: late.body, Changes: late.changes, Reason: "changed in source"})
	}
	return int64(id)
}

// merged is a with b's fields added (b wins).
func merged(a, b written) written {
	if len(b) == 0 {
		return a
	}
	out := make(written, 0, len(a)+len(b))
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		switch {
		case j == len(b) || i < len(a) && a[i].Field < b[j].Field:
			out = append(out, a[i])
			i++
		case i == len(a) || b[j].Field < a[i].Field:
			out = append(out, b[j])
			j++
		default:
			out = append(out, b[j])
			i++
			j++
		}
	}
	return out
}

func baseOf(rec ownerRecord, fields []want) written {
	var out written
	for _, w := range fields {
		if b, ok := rec.Written.get(w.field); ok {
			out = out.with(w.field, b)
		}
	}
	return out
}
