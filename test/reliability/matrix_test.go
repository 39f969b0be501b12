package reliability

import (
	"flag"
	"fmt"
	"os"
	"regexp"
	"strings"
	gosync "sync"
	"testing"
	"text/tabwriter"
)

// Temporary paths and loopback ports differ from run to run; the table shows them masked.
var (
	tempPath     = regexp.MustCompile(`/tmp/[A-Za-z0-9_.%-]+(/[0-9]+)?`)
	loopbackPort = regexp.MustCompile(`127\.0\.0\.1:[0-9]+`)
)

// row is one line of the matrix: a fault or input tried, what should happen, what happened.
type row struct {
	group, tried, want, got string
	pass                    bool
}

// matrix collects the rows of every group, and the figures measured on the way.
type matrix struct {
	mu      gosync.Mutex
	rows    []row
	figures []string

	binOnce gosync.Once
	bin     string
	binDir  string
	binErr  error
}

// check records a row and fails t when it did not pass.
func (m *matrix) check(t *testing.T, group, tried, want, got string, pass bool) {
	t.Helper()
	got = tempPath.ReplaceAllString(got, "$$TMP")
	got = loopbackPort.ReplaceAllString(got, "127.0.0.1:PORT")
	m.mu.Lock()
	m.rows = append(m.rows, row{group, tried, want, got, pass})
	m.mu.Unlock()
	if !pass {
		t.Errorf("FAIL %s | %s | want: %s | got: %s", group, tried, want, got)
	}
}

func (m *matrix) figure(format string, args ...any) {
	m.mu.Lock()
	m.figures = append(m.figures, fmt.Sprintf(format, args...))
	m.mu.Unlock()
}

func (m *matrix) table() string {
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 0, 1, ' ', 0)
	fmt.Fprintln(tw, "GROUP\tTRIED\tSHOULD\tHAPPENED\tRESULT")
	for _, r := range m.rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.group, r.tried, r.want, r.got, verdict(r.pass))
	}
	_ = tw.Flush()
	if len(m.figures) > 0 {
		b.WriteString("\nFigures:\n")
		for _, f := range m.figures {
			b.WriteString("  " + f + "\n")
		}
	}
	return b.String()
}

func (m *matrix) markdown() string {
	var b strings.Builder
	b.WriteString("| Group | Tried | Should happen | Happened | Result |\n|---|---|---|---|---|\n")
	esc := func(s string) string { return strings.ReplaceAll(s, "|", `\|`) }
	for _, r := range m.rows {
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", esc(r.group), esc(r.tried), esc(r.want), esc(r.got), verdict(r.pass))
	}
	if len(m.figures) > 0 {
		b.WriteString("\n### Figures\n\n")
		for _, f := range m.figures {
			b.WriteString("- " + f + "\n")
		}
	}
	return b.String()
}

func verdict(pass bool) string {
	if pass {
		return "PASS"
	}
	return "FAIL"
}

// TestMatrix runs every group and prints the table; any failing row fails the test.
func TestMatrix(t *testing.T) {
	if f := flag.Lookup("test.run"); f == nil || !strings.Contains(f.Value.String(), "TestMatrix") {
		t.Skip("the fault matrix builds the agent and runs for a minute or two: run it with `make reliability` (go test ./test/reliability -run TestMatrix -v)")
	}
	m := &matrix{}
	t.Cleanup(func() {
		if m.binDir != "" {
			_ = os.RemoveAll(m.binDir)
		}
	})
	groups := []struct {
		name string
		run  func(t *testing.T, m *matrix)
	}{
		{"netbox-faults", netboxFaultRows},
		{"agent-killed", killRows},
		{"agent-stopped", termRows},
		{"source-faults", sourceFaultRows},
		{"bad-inputs", badInputRows},
		{"load", loadRows},
		{"secrets", secretRows},
	}
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) { g.run(t, m) })
	}
	passed := 0
	for _, r := range m.rows {
		if r.pass {
			passed++
		}
	}
	fmt.Printf("\nReliability matrix: %d rows, %d passed, %d failed\n\n%s\n", len(m.rows), passed, len(m.rows)-passed, m.table())
	if path := os.Getenv("RELIABILITY_REPORT"); path != "" {
		if err := os.WriteFile(path, []byte(m.markdown()), 0o644); err != nil {
			t.Errorf("RELIABILITY_REPORT: %v", err)
		}
	}
	if len(m.rows) == 0 {
		t.Fatal("no rows ran")
	}
}
