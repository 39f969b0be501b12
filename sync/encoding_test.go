package sync

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"path/filepath"
	gosync "sync"
	"testing"
	"time"
)

// mapRecord is ownerRecord as it was, with the written values in a map: what the plan ids of
// earlier versions hashed, encoded by encoding/json.
type mapRecord struct {
	Created    bool           `json:"created"`
	ID         string         `json:"id"`
	Keys       ownerKeys      `json:"keys,omitzero"`
	LastSeen   string         `json:"last_seen,omitempty"`
	Sources    []ownerSource  `json:"sources,omitempty"`
	StaleSince string         `json:"stale_since,omitempty"`
	Written    map[string]any `json:"written,omitempty"`
}

func asMapRecord(r ownerRecord) mapRecord {
	m := mapRecord{Created: r.Created, ID: r.ID, Keys: r.Keys, LastSeen: r.LastSeen, Sources: r.Sources, StaleSince: r.StaleSince}
	if r.Written != nil {
		m.Written = map[string]any{}
		for _, fv := range r.Written {
			m.Written[fv.Field] = fv.Value
		}
	}
	return m
}

// TestOwnerFieldMarshalsLikeTheMap: the hand-written encoder gives the bytes encoding/json
// gives for {name: record}, so plan ids do not depend on which one ran.
func TestOwnerFieldMarshalsLikeTheMap(t *testing.T) {
	full := ownerRecord{Created: true, ID: "proxmox:pve/qemu/101", Keys: ownerKeys{MACs: []string{"00:11:22:33:44:55", "aa:bb:cc:dd:ee:ff"},
		Serial: "SN1", SystemUUID: "4c4c4544-0000"}, LastSeen: "2026-11-26T02:00:00Z",
		Sources:    []ownerSource{{Source: "pve", NativeID: "qemu/101"}, {Source: "netscan"}},
		StaleSince: "2026-11-20T00:00:00Z",
		Written: writtenOf(map[string]any{"name": "web01", "vcpus": int64(2), "memory": 4096, "disk": 1.5, "big": 1e21, "on": true,
			"off": false, "none": nil, "cluster": planRef{"cluster:bench"}, "site": map[string]any{"$ref": "site:home"},
			"tags": []any{map[string]any{"name": "a", "slug": "a"}}, "ids": []int{3, 1}, "ref": nestedRef{ID: 3, Display: "x"},
			"z<&>": "<b>&amp;</b>", "uni": "Zürich – ☃", "ctl": "a\tb\n\"q\"\\", "bad": "\xff\xfe", "sep": "\u2028\u2029"})}
	cases := []struct {
		name string
		rec  ownerRecord
	}{
		{"zero", ownerRecord{}},
		{"full", full},
		{"empty MAC list is not zero", ownerRecord{ID: "x", Keys: ownerKeys{MACs: []string{}}}},
		{"serial only", ownerRecord{ID: "x", Keys: ownerKeys{Serial: "S"}}},
		{"uuid only", ownerRecord{ID: "x", Keys: ownerKeys{SystemUUID: "U"}}},
		{"empty written map", ownerRecord{ID: "x", Written: written{}, Sources: []ownerSource{}}},
	}
	for _, c := range cases {
		for _, name := range []string{"netbox_agent", "we<ird>\"name\""} {
			want, err := json.Marshal(map[string]mapRecord{name: asMapRecord(c.rec)})
			if err != nil {
				t.Fatal(err)
			}
			got, err := json.Marshal(ownerField{Name: name, Rec: c.rec})
			if err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
			if string(got) != string(want) {
				t.Errorf("%s / %s:\n got %s\nwant %s", c.name, name, got, want)
			}
		}
	}
	w := written{{"b", 1}, {"d", 2}}.with("a", 0).with("c", 3).with("b", "B")
	if got, _ := json.Marshal(w); string(got) != `{"a":0,"b":"B","c":3,"d":2}` {
		t.Errorf("with: %s", got)
	}
	if got := merged(written{{"a", 1}, {"c", 3}}, written{{"b", 2}, {"c", 4}, {"d", 5}}); fmt.Sprint(got) != "[{a 1} {b 2} {c 4} {d 5}]" {
		t.Errorf("merged: %v", got)
	}
	bad := ownerField{Name: "f", Rec: ownerRecord{Written: written{{"c", make(chan int)}}}}
	if _, err := json.Marshal(bad); err == nil {
		t.Error("a value JSON cannot encode gave no error")
	}
}

// TestPlanHashIsTheSequentialEncoding: the chunked, parallel hash is the hash of every action
// encoded one after another, and survives a save and load.
func TestPlanHashIsTheSequentialEncoding(t *testing.T) {
	for _, n := range []int{0, 1, 255, 256, 257, 1500} {
		p := &Plan{NetBoxVersion: "4.3", Notes: []Note{{Reason: "r"}}}
		for i := range n {
			p.Actions = append(p.Actions, Action{Key: fmt.Sprintf("vm:%05d", i), Op: OpCreate, Level: levelMachines,
				Endpoint: epVMs, Type: "virtual machine", Name: fmt.Sprintf("vm-%05d", i),
				Body: map[string]any{"name": fmt.Sprintf("vm-%05d", i), "cluster": planRef{"cluster:bench"}, "vcpus": int64(i),
					"custom_fields": ownerField{"netbox_agent", ownerRecord{Created: true, ID: fmt.Sprint(i),
						Written: written{{"vcpus", int64(i)}}}}}})
		}
		h := sha256.New()
		enc := json.NewEncoder(h)
		_ = enc.Encode(p.NetBoxVersion)
		for i := range p.Actions {
			_ = enc.Encode(&p.Actions[i])
		}
		_ = enc.Encode(p.Conflicts)
		_ = enc.Encode(p.Notes)
		want := hex.EncodeToString(h.Sum(nil))[:16]
		p.finish()
		if p.ID != want {
			t.Fatalf("%d actions: id %s, sequential encoding hashes to %s", n, p.ID, want)
		}
		path := filepath.Join(t.TempDir(), "plan.json")
		if err := SavePlan(path, p, "test"); err != nil {
			t.Fatal(err)
		}
		loaded, err := LoadPlan(path)
		if err != nil {
			t.Fatalf("%d actions: %v", n, err)
		}
		if loaded.ID != p.ID {
			t.Fatalf("%d actions: loaded plan id %s, saved %s", n, loaded.ID, p.ID)
		}
	}
}

// TestAppendActionIsEncodingJSON: the hand-written action encoder writes what json.Encoder
// writes, for every action of real plans (creates, late primary writes, updates with
// changes, stale marks) and for odd values.
func TestAppendActionIsEncodingJSON(t *testing.T) {
	check := func(a *Action) {
		t.Helper()
		var want bytes.Buffer
		wantErr := json.NewEncoder(&want).Encode(a)
		got, err := appendAction(nil, a)
		if (err != nil) != (wantErr != nil) || string(got) != want.String() {
			t.Errorf("action %s:\n got %s (%v)\nwant %s (%v)", a.Key, got, err, want.String(), wantErr)
		}
	}
	l := newLab(t, Config{})
	obs := syntheticEstate(20, 3)
	ran := map[string]bool{"bench": true}
	p1, _ := l.sync(obs, ran)
	obs[5].Name, obs[5].Facts.MemoryMB, obs[5].Facts.Description = "renamed <&>", 8192, "Zürich \"q\"\n"
	obs[1].Keys.Serial = "SN-CHANGED"
	p2 := l.plan(obs[:len(obs)-2], ran) // two VMs gone: stale marks
	n := 0
	for _, p := range []*Plan{p1, p2} {
		for i := range p.Actions {
			check(&p.Actions[i])
			n++
		}
	}
	if len(p2.Actions) == 0 || n < 100 {
		t.Fatalf("only %d actions compared (second plan %d)", n, len(p2.Actions))
	}
	odd := []Action{
		{Key: "k", Body: map[string]any{}},
		{Key: "x<y>&z", Op: OpUpdate, ID: 7, Target: "t", Entity: "e", LastUpdated: "l", Reason: "r\u2028",
			Body: map[string]any{"f": 1.5, "g": 1e21, "h": float64(3), "n": nil, "ref": nestedRef{ID: 1, Display: "d"}, "nilmap": map[string]any(nil),
				"list": []any{nil, "a", int64(-1), []any(nil), map[string]any{"$ref": "x"}, planRef{"y"}}, "ints": []int{1, 2}, "bad": "\xff"},
			Changes: []Change{{Field: "a", Before: nil, After: map[string]any{"z": 1, "a": true}}, {Field: "b", Before: 2.5, After: "x", Source: "s", Reason: "why"}}},
		{Key: "nan", Body: map[string]any{"x": math.NaN()}},
	}
	for i := range odd {
		check(&odd[i])
	}
}

// TestWriteSlotsLowestLevelFirst: a freed slot goes to the waiting chunk of the lowest level,
// then to the earliest; never more than the slots at once.
func TestWriteSlotsLowestLevelFirst(t *testing.T) {
	q := newWriteSlots(1)
	q.acquire(5) // taken
	order := make(chan int, 3)
	var wg gosync.WaitGroup
	for i, level := range []int{15, 12, 12} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			q.acquire(level)
			order <- level*10 + i
			q.release()
		}()
		for { // wait until it queues, so arrival order is known
			q.mu.Lock()
			n := len(q.waiting)
			q.mu.Unlock()
			if n == i+1 {
				break
			}
			time.Sleep(time.Millisecond)
		}
	}
	q.release()
	wg.Wait()
	close(order)
	var got []int
	for v := range order {
		got = append(got, v)
	}
	if fmt.Sprint(got) != "[121 122 150]" {
		t.Errorf("order %v, want [121 122 150] (level 12 by arrival, then 15)", got)
	}
	if q.free != 1 || len(q.waiting) != 0 {
		t.Errorf("free %d, waiting %d", q.free, len(q.waiting))
	}
}

// TestResolveCopiesOnlyWhatHoldsReferences: references become ids in a copy; the plan's body
// is left as it was; parts without references are shared, not copied; a missing id is named.
func TestResolveCopiesOnlyWhatHoldsReferences(t *testing.T) {
	tags := []any{map[string]any{"name": "agent", "slug": "agent"}}
	body := map[string]any{"name": "net0", "virtual_machine": planRef{"vm:1"}, "tags": tags,
		"nested":        []any{map[string]any{"$ref": "vm:1"}, "x"},
		"custom_fields": ownerField{"f", ownerRecord{ID: "1", Written: written{{"name", "net0"}, {"virtual_machine", planRef{"vm:1"}}}}}}
	before, _ := json.Marshal(body)
	out, missing := resolve(body, map[string]int{"vm:1": 42})
	if missing != "" {
		t.Fatal(missing)
	}
	got, _ := json.Marshal(out)
	want := `{"custom_fields":{"f":{"created":false,"id":"1","written":{"name":"net0","virtual_machine":42}}},"name":"net0","nested":[42,"x"],"tags":[{"name":"agent","slug":"agent"}],"virtual_machine":42}`
	if string(got) != want {
		t.Errorf("resolved:\n got %s\nwant %s", got, want)
	}
	if after, _ := json.Marshal(body); string(after) != string(before) {
		t.Errorf("the plan's body changed: %s", after)
	}
	if m := out.(map[string]any); &m["tags"].([]any)[0] != &tags[0] {
		t.Error("a list without references was copied")
	}
	if noRefs := map[string]any{"name": "x", "tags": tags}; fmt.Sprintf("%p", resolveMap(t, noRefs)) != fmt.Sprintf("%p", noRefs) {
		t.Error("a body without references was copied")
	}
	if _, missing := resolve(body, map[string]int{}); missing != "vm:1" {
		t.Errorf("missing = %q, want vm:1", missing)
	}
}

func resolveMap(t *testing.T, m map[string]any) map[string]any {
	t.Helper()
	out, missing := resolve(m, nil)
	if missing != "" {
		t.Fatal(missing)
	}
	return out.(map[string]any)
}
