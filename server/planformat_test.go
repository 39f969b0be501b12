package server_test

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/netbox-agent/netbox-agent/internal/secret"
	"github.com/netbox-agent/netbox-agent/netbox"
	"github.com/netbox-agent/netbox-agent/server"
	"github.com/netbox-agent/netbox-agent/sources"
	syncengine "github.com/netbox-agent/netbox-agent/sync"
)

// A previewed plan is saved with the format and the agent's version; a plan in the state
// directory of another format (here: an older agent's, without format_version) is neither
// shown nor applied by a new process, with the reason, and nothing is written.
func TestEngineSyncerPlanFormat(t *testing.T) {
	lab := newEngineLab(t)
	syncer := func() *server.EngineSyncer {
		nbc, err := netbox.New(netbox.Config{URL: lab.nb.URL, Token: secret.New(lab.nb.Token()), Timeout: 10 * time.Second, RequestsPerSecond: -1}, nil)
		if err != nil {
			t.Fatal(err)
		}
		s, err := server.NewEngineSyncer(server.EngineSyncerConfig{
			Engine: syncengine.NewEngine(syncengine.FromClient(nbc), syncengine.Config{}, nil), Sources: []sources.Source{lab.pve},
			Merge: syncengine.DefaultMergeConfig(), PlanDir: lab.planDir, AgentVersion: "v9.9.9-test",
		})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	prev, err := syncer().Preview(t.Context(), server.PreviewRequest{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(lab.planDir, prev.ID+".json")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var file map[string]any
	if err := json.Unmarshal(b, &file); err != nil {
		t.Fatal(err)
	}
	if file["format_version"] != float64(syncengine.PlanFormat) || file["agent_version"] != "v9.9.9-test" || file["id"] != prev.ID {
		t.Fatalf("saved plan: format %v agent %v id %v", file["format_version"], file["agent_version"], file["id"])
	}

	// The file as an agent before plan formats wrote it.
	delete(file, "format_version")
	delete(file, "agent_version")
	old, err := json.Marshal(file)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, old, 0o600); err != nil {
		t.Fatal(err)
	}
	writes := func() (n int) {
		for _, r := range lab.nb.Requests() {
			if r.Method != "GET" {
				n++
			}
		}
		return n
	}
	before := writes()
	next := syncer() // a new process: the plan only on disk
	_, loadErr := next.LoadPlan(t.Context(), prev.ID)
	rep, applyErr := next.Apply(t.Context(), prev.ID, nil)
	for name, err := range map[string]error{"load": loadErr, "apply": applyErr} {
		var fe *syncengine.PlanFormatError
		if !errors.As(err, &fe) || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "run preview again") {
			t.Errorf("%s of an older agent's plan: %v", name, err)
		}
	}
	if rep != nil || writes() != before {
		t.Errorf("apply of a refused plan: report %+v, %d writes", rep, writes()-before)
	}
}
