package reliability

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/netbox-agent/netbox-agent/test/lab"
)

// sourceBinaryRows: the built agent's --run-once with one source refusing its credentials
// (as after a revoked token): it finishes with exit code 2 (partial), its report names the
// failed source, the others' work lands and nothing is marked stale.
func sourceBinaryRows(t *testing.T, m *matrix) {
	const group = "Source faults"
	bin := m.agentBinary(t)
	for _, src := range []string{lab.ProxmoxSource, lab.TrueNASSource, lab.HomeAssistantSource} {
		t.Run(src, func(t *testing.T) {
			l := startLab(t, 0)
			if run := runAgent(t, bin, time.Minute, nil, "--run-once", "--config", l.ConfigPath(), "--output", "json"); run.code != 0 {
				t.Fatalf("first run exited %d: %s", run.code, lastLines(run.stderr, 3))
			}
			must(t, l.FailSource(src, true))
			run := runAgent(t, bin, time.Minute, nil, "--run-once", "--config", l.ConfigPath(), "--output", "json")
			var rep struct {
				Sources []struct{ Name, Status, Error string } `json:"sources"`
				Plan    *struct {
					Summary struct{ Create, Update, Stale, Delete int } `json:"summary"`
				} `json:"plan"`
				ExitCode int `json:"exit_code"`
			}
			jerr := json.Unmarshal([]byte(run.stdout), &rep)
			var failed, ok []string
			errText := ""
			for _, s := range rep.Sources {
				if s.Status == "ok" {
					ok = append(ok, s.Name)
				} else {
					failed = append(failed, s.Name)
					errText = s.Error
				}
			}
			stale := -1
			if rep.Plan != nil {
				stale = rep.Plan.Summary.Stale + rep.Plan.Summary.Delete
			}
			happened := fmt.Sprintf("exit %d; failed %v (%s); ran %v; %d stale/delete actions", run.code, failed, shorten(errText, 100), ok, stale)
			if jerr != nil {
				happened = "run report: " + jerr.Error()
			}
			m.check(t, group, "netbox-agent --run-once with "+src+" refusing its token (revoked)",
				"exit 2 (partial), the report names the source, the others run, nothing stale or deleted", happened,
				jerr == nil && run.code == 2 && len(failed) == 1 && failed[0] == src && len(ok) >= 3 && stale == 0 && !strings.Contains(run.stdout+run.stderr, "panic"))
		})
	}
}
