package sync

import (
	"encoding/json"
	"slices"
	"time"
)

// ownerRecord is the agent's record on an object it owns, kept in the JSON custom field.
// It is what makes the three-way merge possible: Written holds the values the agent last
// wrote, so a current value that differs from it is a person's edit.
type ownerRecord struct {
	// ID is the entity id (machines, host IPs) or the child's key within its parent.
	ID string `json:"id"`
	// Created is true when the agent created the object; adopted objects are false and are
	// never deleted.
	Created bool `json:"created"`
	// Sources are the observations that saw the object (children: only the source names).
	Sources []ownerSource `json:"sources,omitempty"`
	// Keys are the identity keys the agent matched on.
	Keys       ownerKeys      `json:"keys,omitzero"`
	LastSeen   string         `json:"last_seen,omitempty"`
	StaleSince string         `json:"stale_since,omitempty"`
	Written    map[string]any `json:"written,omitempty"`
}

type ownerSource struct {
	Source   string `json:"source"`
	NativeID string `json:"native_id,omitempty"`
}

type ownerKeys struct {
	Serial     string   `json:"serial,omitempty"`
	SystemUUID string   `json:"system_uuid,omitempty"`
	MACs       []string `json:"macs,omitempty"`
}

// ownership reads the agent's record from an object; ok is false when the object carries no
// record (then it is not the agent's, whatever its tags say).
func ownership(o Object, cf string) (ownerRecord, bool) {
	cfs, _ := o["custom_fields"].(map[string]any)
	raw, ok := cfs[cf]
	if !ok || raw == nil {
		return ownerRecord{}, false
	}
	if s, isStr := raw.(string); isStr { // some versions hand JSON fields back as text
		var rec ownerRecord
		if json.Unmarshal([]byte(s), &rec) != nil {
			return ownerRecord{}, false
		}
		return rec, true
	}
	b, err := json.Marshal(raw)
	if err != nil {
		return ownerRecord{}, false
	}
	var rec ownerRecord
	if json.Unmarshal(b, &rec) != nil {
		return ownerRecord{}, false
	}
	return rec, true
}

// sameRecord compares two records ignoring last_seen.
func sameRecord(a, b ownerRecord) bool {
	a.LastSeen, b.LastSeen = "", ""
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	if string(ja) == string(jb) {
		return true
	}
	// Written values come back from NetBox as float64; compare them normalised.
	if len(a.Written) != len(b.Written) {
		return false
	}
	for k, v := range a.Written {
		w, ok := b.Written[k]
		if !ok || norm(v) != norm(w) {
			return false
		}
	}
	a.Written, b.Written = nil, nil
	ja, _ = json.Marshal(a)
	jb, _ = json.Marshal(b)
	return string(ja) == string(jb)
}

// lastSeenFresh reports whether a record's last_seen is recent enough to leave alone.
func lastSeenFresh(rec ownerRecord, now time.Time, refresh time.Duration) bool {
	t, err := time.Parse(time.RFC3339, rec.LastSeen)
	return err == nil && now.Sub(t) < refresh
}

// tagSlugs lists the slugs of an object's tags.
func tagSlugs(o Object) []string {
	list, _ := o["tags"].([]any)
	out := make([]string, 0, len(list))
	for _, t := range list {
		if m, ok := t.(map[string]any); ok {
			if s, ok := m["slug"].(string); ok {
				out = append(out, s)
			}
		}
	}
	return out
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
