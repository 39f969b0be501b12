package netboxtest

import (
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// object is one stored NetBox object. Stored objects are never modified in place: a write
// stores a modified copy, so an undo log of old pointers makes bulk writes atomic.
type object struct {
	ep      *endpoint
	id      int
	f       map[string]any // writable fields: references as int ids, []int for lists, JSON values otherwise
	tags    []int          // sorted tag ids
	cf      map[string]any // custom field data that was set
	created time.Time
	updated time.Time
}

func (o *object) clone() *object {
	c := *o
	c.f = maps.Clone(o.f)
	c.tags = slices.Clone(o.tags)
	c.cf = maps.Clone(o.cf)
	return &c
}

func intField(o *object, name string) int {
	if v, ok := o.f[name].(int); ok {
		return v
	}
	return 0
}

func intsField(o *object, name string) []int {
	v, _ := o.f[name].([]int)
	return v
}

func strField(o *object, name string) string {
	s, _ := o.f[name].(string)
	return s
}

// ref is one outgoing reference of an object, under an index key (the field name, or
// "gfk:<content type>" for generic references).
type ref struct {
	key string
	id  int
}

type idSet map[int]struct{}

// table holds one endpoint's objects and their indexes.
type table struct {
	ep     *endpoint
	byID   map[int]*object
	ids    []int // ascending
	nextID int
	rev    map[string]map[int]idSet // reference key -> referenced id -> referring ids
	uniq   []map[string]int         // per unique rule: key -> id
}

type state struct {
	tables map[string]*table
	byType map[string]*table // "dcim.device" -> table
	// relations into each endpoint, for deletes: who refers to it and what happens then.
	relsTo map[string][]relation
	// changes is the change log (core/object-changes).
	changes changeLog
}

type relation struct {
	from *table
	key  string
	del  onDelete
}

func newState(defs map[string]*endpoint) *state {
	s := &state{tables: map[string]*table{}, byType: map[string]*table{}, relsTo: map[string][]relation{}}
	for _, def := range defs {
		t := &table{ep: def, byID: map[int]*object{}, nextID: 1, rev: map[string]map[int]idSet{}}
		t.uniq = make([]map[string]int, len(def.unique))
		for i := range t.uniq {
			t.uniq[i] = map[string]int{}
		}
		s.tables[def.path] = t
		s.byType[def.objectType] = t
	}
	for _, def := range defs {
		from := s.tables[def.path]
		for field, fk := range def.fks {
			s.relsTo[fk.target] = append(s.relsTo[fk.target], relation{from: from, key: field, del: fk.del})
		}
		for field, fk := range def.m2m {
			s.relsTo[fk.target] = append(s.relsTo[fk.target], relation{from: from, key: field, del: removeRef})
		}
		if def.hasTags {
			s.relsTo[pathTags] = append(s.relsTo[pathTags], relation{from: from, key: "tags", del: removeRef})
		}
		if g := def.gfk; g != nil {
			for ct, target := range g.targets {
				s.relsTo[target] = append(s.relsTo[target], relation{from: from, key: "gfk:" + ct, del: g.del})
			}
		}
	}
	for k := range s.relsTo {
		rels := s.relsTo[k]
		sort.Slice(rels, func(i, j int) bool {
			if rels[i].from.ep.path != rels[j].from.ep.path {
				return rels[i].from.ep.path < rels[j].from.ep.path
			}
			return rels[i].key < rels[j].key
		})
	}
	return s
}

// refsOf lists o's outgoing references.
func refsOf(o *object) []ref {
	def := o.ep
	var out []ref
	for field := range def.fks {
		if id := intField(o, field); id != 0 {
			out = append(out, ref{field, id})
		}
	}
	for field := range def.m2m {
		for _, id := range intsField(o, field) {
			out = append(out, ref{field, id})
		}
	}
	for _, id := range o.tags {
		out = append(out, ref{"tags", id})
	}
	if g := def.gfk; g != nil {
		ct := strField(o, g.typeField)
		if id := intField(o, g.idField); ct != "" && id != 0 {
			out = append(out, ref{"gfk:" + ct, id})
		}
	}
	return out
}

// referrers returns the ids of objects in t whose reference key points at id, ascending.
func (t *table) referrers(key string, id int) []int {
	set := t.rev[key][id]
	out := make([]int, 0, len(set))
	for k := range set {
		out = append(out, k)
	}
	sort.Ints(out)
	return out
}

func (t *table) countReferrers(key string, id int) int { return len(t.rev[key][id]) }

// uniqueKey returns the index key of rule for o, or "" when the rule does not apply
// (a NULL in the key: PostgreSQL treats NULLs as distinct).
func uniqueKey(rule uniqueRule, o *object) string {
	parts := make([]string, 0, len(rule.fields))
	for _, f := range rule.fields {
		v, ok := o.f[f]
		if !ok || v == nil {
			if rule.nullAsValue {
				parts = append(parts, "\x01null")
				continue
			}
			return ""
		}
		s := ""
		switch x := v.(type) {
		case int:
			s = strconv.Itoa(x)
		case string:
			if x == "" && rule.skipEmpty {
				return ""
			}
			s = x
			if rule.fold {
				s = strings.ToLower(x)
			}
		default:
			s = toString(v)
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, "\x00")
}

func (t *table) index(o *object) {
	for _, r := range refsOf(o) {
		m := t.rev[r.key]
		if m == nil {
			m = map[int]idSet{}
			t.rev[r.key] = m
		}
		set := m[r.id]
		if set == nil {
			set = idSet{}
			m[r.id] = set
		}
		set[o.id] = struct{}{}
	}
	for i, rule := range t.ep.unique {
		if k := uniqueKey(rule, o); k != "" {
			t.uniq[i][k] = o.id
		}
	}
}

func (t *table) unindex(o *object) {
	for _, r := range refsOf(o) {
		if set := t.rev[r.key][r.id]; set != nil {
			delete(set, o.id)
			if len(set) == 0 {
				delete(t.rev[r.key], r.id)
			}
		}
	}
	for i, rule := range t.ep.unique {
		if k := uniqueKey(rule, o); k != "" && t.uniq[i][k] == o.id {
			delete(t.uniq[i], k)
		}
	}
}

// store replaces (or adds) o in the table, keeping the indexes.
func (t *table) store(o *object) {
	if old := t.byID[o.id]; old != nil {
		t.unindex(old)
	} else {
		i, _ := slices.BinarySearch(t.ids, o.id)
		t.ids = slices.Insert(t.ids, i, o.id)
	}
	t.byID[o.id] = o
	t.index(o)
}

func (t *table) remove(id int) {
	old := t.byID[id]
	if old == nil {
		return
	}
	t.unindex(old)
	delete(t.byID, id)
	if i, ok := slices.BinarySearch(t.ids, id); ok {
		t.ids = slices.Delete(t.ids, i, i+1)
	}
}

// tx records what a request changed so that a failing bulk write can be undone.
type tx struct {
	s    *state
	undo []undoEntry
	// the change log: the entries this request wrote (by object) and the request's id and
	// time; quiet while a delete's SET_NULL side effects are stored (NetBox logs none).
	now       time.Time
	requestID string
	logged    map[string]int
	logStart  int
	quiet     bool
}

type undoEntry struct {
	t   *table
	id  int
	old *object // nil: the object did not exist
}

func (x *tx) put(o *object) {
	t := x.s.tables[o.ep.path]
	old := t.byID[o.id]
	x.begin()
	x.undo = append(x.undo, undoEntry{t: t, id: o.id, old: old})
	t.store(o)
	if old == nil {
		x.logChange("create", o)
	} else {
		x.logChange("update", o)
	}
}

// putQuiet stores o without a change log entry (a queryset update in NetBox).
func (x *tx) putQuiet(o *object) {
	x.quiet = true
	defer func() { x.quiet = false }()
	x.put(o)
}

func (x *tx) del(t *table, id int) {
	old := t.byID[id]
	x.begin()
	x.undo = append(x.undo, undoEntry{t: t, id: id, old: old})
	t.remove(id)
	if old != nil {
		x.logChange("delete", old)
	}
}

// begin notes where this request's change log entries start, for a rollback.
func (x *tx) begin() {
	if len(x.undo) == 0 && x.logged == nil {
		x.logStart = len(x.s.changes.entries)
	}
}

func (x *tx) rollback() {
	for i := len(x.undo) - 1; i >= 0; i-- {
		u := x.undo[i]
		if u.old == nil {
			u.t.remove(u.id)
		} else {
			u.t.store(u.old)
		}
	}
	x.undo = nil
	// The entries go; their ids stay used (a sequence does not roll back).
	if x.logged != nil {
		x.s.changes.entries = x.s.changes.entries[:x.logStart]
		x.logged = nil
	}
}

// customFieldsFor lists the custom fields that apply to objectType, by name.
func (s *state) customFieldsFor(objectType string) []*object {
	t := s.tables[pathCustomFields]
	var out []*object
	for _, id := range t.ids {
		cf := t.byID[id]
		for _, ot := range cfObjectTypes(cf) {
			if ot == objectType {
				out = append(out, cf)
				break
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return strField(out[i], "name") < strField(out[j], "name") })
	return out
}

func cfObjectTypes(cf *object) []string {
	raw, _ := cf.f["object_types"].([]any)
	out := make([]string, 0, len(raw))
	for _, v := range raw {
		if s, ok := v.(string); ok {
			out = append(out, s)
		}
	}
	return out
}
