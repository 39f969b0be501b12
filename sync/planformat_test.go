package sync

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// smallPlan is a sealed plan of one create and one note.
func smallPlan() *Plan {
	p := &Plan{NetBoxVersion: "4.3", Notes: []Note{{Object: "web01", Reason: "kept"}},
		Actions: []Action{{Key: "vm:web01", Op: OpCreate, Level: levelMachines, Endpoint: epVMs, Type: "virtual machine",
			Name: "web01", Body: map[string]any{"name": "web01", "cluster": planRef{"cluster:lab"}}}}}
	p.finish()
	return p
}

// TestSavedPlanCarriesFormatAndAgentVersion: the file says its format and the agent that wrote
// it, the id is the one the plan had (the two fields are outside the hash), and saving does
// not modify the plan (the server saves plans other goroutines read).
func TestSavedPlanCarriesFormatAndAgentVersion(t *testing.T) {
	p := smallPlan()
	id := p.ID
	path := filepath.Join(t.TempDir(), "plan.json")
	if err := SavePlan(path, p, "v1.2.3"); err != nil {
		t.Fatal(err)
	}
	if p.AgentVersion != "" || p.FormatVersion != PlanFormat {
		t.Errorf("SavePlan changed the plan: agent %q format %d", p.AgentVersion, p.FormatVersion)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(b), "{\n  \"format_version\": 1,\n  \"agent_version\": \"v1.2.3\",\n  \"id\": \""+id+"\",") {
		t.Errorf("plan file starts:\n%.200s", b)
	}
	loaded, err := LoadPlan(path)
	if err != nil {
		t.Fatal(err)
	}
	if loaded.ID != id || loaded.FormatVersion != PlanFormat || loaded.AgentVersion != "v1.2.3" {
		t.Errorf("loaded id %s format %d agent %q; want %s %d v1.2.3", loaded.ID, loaded.FormatVersion, loaded.AgentVersion, id, PlanFormat)
	}
	// Another agent version writes the same id.
	again := smallPlan()
	again.AgentVersion = "v9"
	if again.hash() != id {
		t.Error("the agent version changes the plan id")
	}
	again.FormatVersion = 7
	if again.hash() != id {
		t.Error("the format version changes the plan id")
	}
}

// TestLoadPlanRefusesOtherFormats: a plan file of another format, or of none (an older
// agent's), is refused before its content is read, naming the file, the format found and the
// one expected, and saying to preview again. The id check stays as it was.
func TestLoadPlanRefusesOtherFormats(t *testing.T) {
	saved := smallPlan()
	path := filepath.Join(t.TempDir(), "good.json")
	if err := SavePlan(path, saved, "dev"); err != nil {
		t.Fatal(err)
	}
	good, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(good, &fields); err != nil {
		t.Fatal(err)
	}
	variant := func(edit func(map[string]json.RawMessage)) []byte {
		m := map[string]json.RawMessage{}
		for k, v := range fields {
			m[k] = v
		}
		edit(m)
		b, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	cases := []struct {
		name    string
		content []byte
		found   string // in the message; "" when the plan loads
		present bool
	}{
		{"this format", good, "", false},
		{"an older agent's plan: no format_version", variant(func(m map[string]json.RawMessage) {
			delete(m, "format_version")
			delete(m, "agent_version")
		}), "has no format_version (written by an agent older than plan format 1)", false},
		{"a newer format", variant(func(m map[string]json.RawMessage) {
			m["format_version"], m["agent_version"] = json.RawMessage(`2`), json.RawMessage(`"v3.0.0"`)
			m["actions"] = json.RawMessage(`{"as":"a map, which this agent cannot decode"}`)
		}), "has format_version 2, written by netbox-agent v3.0.0", true},
		{"format 0", variant(func(m map[string]json.RawMessage) {
			m["format_version"] = json.RawMessage(`0`)
			delete(m, "agent_version")
		}), "has format_version 0;", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "plan.json")
			if err := os.WriteFile(path, c.content, 0o600); err != nil {
				t.Fatal(err)
			}
			p, err := LoadPlan(path)
			if c.found == "" {
				if err != nil || p.ID != saved.ID {
					t.Fatalf("load: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("loaded")
			}
			var fe *PlanFormatError
			if !errors.As(err, &fe) || fe.Present != c.present || fe.Path != path {
				t.Fatalf("not a PlanFormatError for %s: %#v", path, err)
			}
			for _, want := range []string{path, c.found, "this agent reads plan format 1 only", "run preview again"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("message lacks %q:\n%s", want, err)
				}
			}
		})
	}
}
