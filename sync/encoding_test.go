package sync

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"path/filepath"
	"testing"
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
		if err := SavePlan(path, p); err != nil {
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
