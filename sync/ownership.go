package sync

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/netbox-agent/netbox-agent/netbox"
)

// ownerRecord is the agent's record on an object it owns, kept in the JSON custom field.
// It is what makes the three-way merge possible: Written holds the values the agent last
// wrote, so a current value that differs from it is a person's edit.
//
// Fields are declared in the alphabetical order of their JSON names, so the struct marshals
// exactly like the map a loaded plan holds (the plan id hashes the same before and after).
type ownerRecord struct {
	// Created is true when the agent created the object; adopted objects are false and are
	// never deleted.
	Created bool `json:"created"`
	// ID is the entity id (machines, host IPs) or the child's key within its parent.
	ID string `json:"id"`
	// Instance is the agent instance (sync.instance) that owns the object. Empty in records
	// written before instance names existed, and by an agent configured without one: such a
	// record stays byte-for-byte what older versions wrote, so a rollback reads it unchanged.
	Instance string `json:"instance,omitempty"`
	// Keys are the identity keys the agent matched on.
	Keys     ownerKeys `json:"keys,omitzero"`
	LastSeen string    `json:"last_seen,omitempty"`
	// Sources are the observations that saw the object (children: only the source names).
	Sources    []ownerSource `json:"sources,omitempty"`
	StaleSince string        `json:"stale_since,omitempty"`
	Written    written       `json:"written,omitempty"`
}

// written holds the values the agent last wrote, by field, sorted by field name. A sorted
// slice rather than a map: plans and snapshots hold one per object (a handful of fields),
// where a small map costs ~330 bytes and this 32 per field.
type written []fieldValue

type fieldValue struct {
	Field string
	Value any
}

// get returns the value last written to field.
func (w written) get(field string) (any, bool) {
	for i := range w {
		if w[i].Field == field {
			return w[i].Value, true
		}
	}
	return nil, false
}

// with returns w with field set to v (replaced when present), in order; w is not modified.
func (w written) with(field string, v any) written {
	i, found := slices.BinarySearchFunc(w, field, func(fv fieldValue, f string) int { return strings.Compare(fv.Field, f) })
	out := make(written, 0, len(w)+1)
	out = append(out, w[:i]...)
	out = append(out, fieldValue{field, v})
	if found {
		i++
	}
	return append(out, w[i:]...)
}

// writtenOf turns a decoded JSON object into a written.
func writtenOf(m map[string]any) written {
	if m == nil {
		return nil
	}
	w := make(written, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		w = append(w, fieldValue{k, m[k]})
	}
	return w
}

// MarshalJSON writes the object a map of the same fields would marshal to.
func (w written) MarshalJSON() ([]byte, error) {
	return appendWritten(make([]byte, 0, 32*len(w)+2), w)
}

func appendWritten(b []byte, w written) ([]byte, error) {
	b = append(b, '{')
	for i, fv := range w {
		if i > 0 {
			b = append(b, ',')
		}
		b = netbox.AppendJSONString(b, fv.Field)
		b = append(b, ':')
		var err error
		if b, err = netbox.AppendJSON(b, fv.Value); err != nil {
			return nil, err
		}
	}
	return append(b, '}'), nil
}

type ownerSource struct {
	NativeID string `json:"native_id,omitempty"`
	Source   string `json:"source"`
}

type ownerKeys struct {
	MACs       []string `json:"macs,omitempty"`
	Serial     string   `json:"serial,omitempty"`
	SystemUUID string   `json:"system_uuid,omitempty"`
}

// ownerField is the custom_fields value of a write: {"<field>": record}. A struct rather than
// a one-entry map: a plan holds one per object written.
type ownerField struct {
	Name string
	Rec  ownerRecord
}

// MarshalJSON writes exactly what json.Marshal(map[string]ownerRecord{f.Name: f.Rec}) would,
// without reflection: a plan encodes one per object written, for its id and again to send it.
func (f ownerField) MarshalJSON() ([]byte, error) { return f.AppendJSON(make([]byte, 0, 256)) }

// AppendJSON appends what MarshalJSON returns (the netbox client's encoder calls it directly).
func (f ownerField) AppendJSON(b []byte) ([]byte, error) {
	b = append(b, '{')
	b = netbox.AppendJSONString(b, f.Name)
	b = append(b, ':')
	return appendOwnerRecord(b, f.Rec)
}

// appendOwnerRecord appends the record as encoding/json encodes the struct (same fields,
// order, omitempty/omitzero rules and escaping), then the closing brace of ownerField.
func appendOwnerRecord(b []byte, r ownerRecord) ([]byte, error) {
	b = append(b, `{"created":`...)
	b = strconv.AppendBool(b, r.Created)
	b = append(b, `,"id":`...)
	b = netbox.AppendJSONString(b, r.ID)
	b = appendIfSet(b, `,"instance":`, r.Instance)
	if r.Keys.MACs != nil || r.Keys.Serial != "" || r.Keys.SystemUUID != "" { // omitzero
		b = append(b, `,"keys":{`...)
		sep := ""
		if len(r.Keys.MACs) > 0 {
			b = append(b, `"macs":[`...)
			for i, m := range r.Keys.MACs {
				if i > 0 {
					b = append(b, ',')
				}
				b = netbox.AppendJSONString(b, m)
			}
			b = append(b, ']')
			sep = ","
		}
		if r.Keys.Serial != "" {
			b = append(b, sep+`"serial":`...)
			b = netbox.AppendJSONString(b, r.Keys.Serial)
			sep = ","
		}
		if r.Keys.SystemUUID != "" {
			b = append(b, sep+`"system_uuid":`...)
			b = netbox.AppendJSONString(b, r.Keys.SystemUUID)
		}
		b = append(b, '}')
	}
	b = appendIfSet(b, `,"last_seen":`, r.LastSeen)
	if len(r.Sources) > 0 {
		b = append(b, `,"sources":[`...)
		for i, src := range r.Sources {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, '{')
			if src.NativeID != "" {
				b = append(b, `"native_id":`...)
				b = netbox.AppendJSONString(b, src.NativeID)
				b = append(b, ',')
			}
			b = append(b, `"source":`...)
			b = netbox.AppendJSONString(b, src.Source)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	b = appendIfSet(b, `,"stale_since":`, r.StaleSince)
	if len(r.Written) > 0 {
		b = append(b, `,"written":`...)
		var err error
		if b, err = appendWritten(b, r.Written); err != nil {
			return nil, err
		}
	}
	return append(b, '}', '}'), nil
}

// ownership reads the agent's record from an object; ok is false when the object carries no
// record (then it is not the agent's, whatever its tags say). It reads the decoded JSON
// directly: the planner calls it for every object of the snapshot.
func ownership(o Object, cf string) (ownerRecord, bool) {
	if f, ok := o["custom_fields"].(ownerField); ok { // a compacted snapshot object
		return f.Rec, f.Name == cf
	}
	cfs, _ := o["custom_fields"].(map[string]any)
	raw, ok := cfs[cf]
	if !ok || raw == nil {
		return ownerRecord{}, false
	}
	if rec, isRec := raw.(ownerRecord); isRec { // a compacted snapshot object
		return rec, true
	}
	if s, isStr := raw.(string); isStr { // some versions hand JSON fields back as text
		var m map[string]any
		if json.Unmarshal([]byte(s), &m) != nil {
			return ownerRecord{}, false
		}
		raw = m
	}
	m, isMap := raw.(map[string]any)
	if !isMap {
		return ownerRecord{}, false
	}
	str := func(m map[string]any, k string) string { s, _ := m[k].(string); return s }
	rec := ownerRecord{ID: str(m, "id"), Instance: str(m, "instance"), LastSeen: str(m, "last_seen"), StaleSince: str(m, "stale_since")}
	rec.Created, _ = m["created"].(bool)
	if list, ok := m["sources"].([]any); ok {
		for _, e := range list {
			if sm, ok := e.(map[string]any); ok {
				rec.Sources = append(rec.Sources, ownerSource{Source: str(sm, "source"), NativeID: str(sm, "native_id")})
			}
		}
	}
	if km, ok := m["keys"].(map[string]any); ok {
		rec.Keys.Serial, rec.Keys.SystemUUID = str(km, "serial"), str(km, "system_uuid")
		if macs, ok := km["macs"].([]any); ok {
			for _, x := range macs {
				if s, ok := x.(string); ok {
					rec.Keys.MACs = append(rec.Keys.MACs, s)
				}
			}
		}
	}
	wm, _ := m["written"].(map[string]any)
	rec.Written = writtenOf(wm)
	return rec, true
}

// sameRecord compares two records ignoring last_seen; written values compare normalised
// (NetBox hands numbers back as float64).
func sameRecord(a, b ownerRecord) bool {
	if a.ID != b.ID || a.Instance != b.Instance || a.Created != b.Created || a.StaleSince != b.StaleSince ||
		a.Keys.Serial != b.Keys.Serial || a.Keys.SystemUUID != b.Keys.SystemUUID ||
		!slices.Equal(a.Keys.MACs, b.Keys.MACs) || !slices.Equal(a.Sources, b.Sources) ||
		len(a.Written) != len(b.Written) {
		return false
	}
	for _, fv := range a.Written {
		w, ok := b.Written.get(fv.Field)
		if !ok || wantComparable(fv.Value) != wantComparable(w) {
			return false
		}
	}
	return true
}

// foreign reports whether rec belongs to another agent instance, and whose it is, for people.
// Several agents share one NetBox (one per site or source scope): each writes, marks stale
// and deletes only what its own instance owns. A record naming another instance is that
// instance's. A record without a name was written before instance names existed, or by an
// agent without one: an agent without a name takes it as its own (the single-agent behaviour
// of every earlier version); an agent with a name takes it only when every source the record
// lists ran in this agent (it is then the upgraded agent that wrote it; its next write stamps
// its name). Anything else is left to whoever wrote it.
func (p *planner) foreign(rec ownerRecord) (owner string, isForeign bool) {
	switch {
	case rec.Instance == p.cfg.Instance:
		return "", false
	case rec.Instance != "":
		return "instance " + strconv.Quote(rec.Instance), true
	}
	var notHere []string
	for _, s := range rec.Sources {
		if !p.ran[s.Source] {
			notHere = append(notHere, s.Source)
		}
	}
	if len(notHere) == 0 {
		return "", false
	}
	slices.Sort(notHere)
	return fmt.Sprintf("an agent without an instance name (its record names sources %s, which did not run in instance %q)",
		strings.Join(slices.Compact(notHere), ", "), p.cfg.Instance), true
}

// foreignOwner is foreign for an object's ownership record: an object without one is nobody's.
func (p *planner) foreignOwner(o Object) (owner string, isForeign bool) {
	rec, ok := ownership(o, p.cfg.CustomField)
	if !ok {
		return "", false
	}
	return p.foreign(rec)
}

// foreignConflict reports an object this agent sees but another
// instance owns: the agent leaves it alone (no write, no stale mark, no delete, no child
// objects added) and the plan says whose it is. The conflict is the same on every run until
// one of the two stops seeing the object, so it neither flaps nor grows.
func (p *planner) foreignConflict(entity, ep string, o Object, owner string) *Conflict {
	rec, _ := ownership(o, p.cfg.CustomField)
	stale := ""
	if rec.StaleSince != "" {
		stale = " (it marked it stale on " + rec.StaleSince + ")"
	}
	return &Conflict{Kind: "owner", Key: entity, Reason: fmt.Sprintf(
		"%s is owned by %s%s; this agent (instance %q) sees it too and leaves it alone: give each object to one instance (sources, site_per_source) or remove the overlap",
		describe(o, ep), owner, stale, p.cfg.Instance),
		Evidence: []ConflictSide{{Name: objStr(o, "name"), Values: map[string]string{"netbox": fmt.Sprintf("%s/%d", ep, objID(o)), "owner": owner}}}}
}

// foreignMatch is match's check on the object an entity matched: when another instance owns
// it, the entity is not planned at all (its children would otherwise be written onto the
// other instance's object). The object counts as matched, so nothing else claims it.
func (p *planner) foreignMatch(e *Entity, ep string, id int) *Conflict {
	o := p.s.byID[ep][id]
	owner, isForeign := p.foreignOwner(o)
	if !isForeign {
		return nil
	}
	p.claimed[objKey(ep, id)] = e.ID
	return p.foreignConflict(e.ID, ep, o, owner)
}

// foreignObject is upsert's check on an object it would write (an IP, MAC, service or disk
// reached other than through its machine, such as a host's address found by two instances'
// scans): true when another instance owns it, reported once per object and plan.
func (p *planner) foreignObject(entity, ep string, o Object) bool {
	owner, isForeign := p.foreignOwner(o)
	if !isForeign {
		return false
	}
	k := objKey(ep, objID(o))
	p.claimed[k] = entity
	if !p.foreignSeen[k] {
		p.foreignSeen[k] = true
		p.conflict(p.foreignConflict(entity, ep, o, owner))
	}
	return true
}

// ownRecord is ownership limited to this instance: what the orphan rules and the drop guard
// may act on.
func (p *planner) ownRecord(o Object) (ownerRecord, bool) {
	rec, ok := ownership(o, p.cfg.CustomField)
	if !ok {
		return rec, false
	}
	if _, isForeign := p.foreign(rec); isForeign {
		return rec, false
	}
	return rec, true
}

// lastSeenFresh reports whether a record's last_seen is recent enough to leave alone.
func lastSeenFresh(rec ownerRecord, now time.Time, refresh time.Duration) bool {
	t, err := time.Parse(time.RFC3339, rec.LastSeen)
	return err == nil && now.Sub(t) < refresh
}

// tagBody builds the tags list of a write: the object's current tags with the agent's tag
// added and, unless stale, the stale tag removed. changed is false when nothing differs.
func tagBody(o Object, tag, staleTag string, stale bool) (body []any, changed bool) {
	list, _ := o["tags"].([]any)
	var cur []string
	for _, t := range list {
		m, ok := t.(map[string]any)
		if !ok {
			continue
		}
		slug, _ := m["slug"].(string)
		name, _ := m["name"].(string)
		if slug == staleTag && !stale {
			changed = true
			continue
		}
		cur = append(cur, slug)
		body = append(body, map[string]any{"name": name, "slug": slug})
	}
	for _, want := range []string{tag, staleTag} {
		if want == staleTag && !stale {
			continue
		}
		if !slices.Contains(cur, want) {
			body = append(body, map[string]any{"name": want, "slug": want})
			changed = true
		}
	}
	return body, changed
}
