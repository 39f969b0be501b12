package planview

import (
	"fmt"

	"github.com/netbox-agent/netbox-agent/sync"
)

// MaxReportedNotWritten keeps a plan that leaves thousands of facts out from drowning the
// report: Summary.NotWritten still counts them all.
const MaxReportedNotWritten = 50

// Report is the plan part of the JSON run report (--output json).
type Report struct {
	ID      string       `json:"id"`
	Summary sync.Summary `json:"summary"`
	// SavedTo is the file the plan was saved to (--plan-out), set by the caller.
	SavedTo   string   `json:"saved_to,omitempty"`
	Conflicts []string `json:"conflicts,omitempty"`
	// NotWritten lists (up to MaxReportedNotWritten) the facts the plan leaves out, with why;
	// Summary.NotWritten counts them all.
	NotWritten []sync.NotWritten `json:"not_written,omitempty"`
}

// NewReport is the report of a plan just made: its id, counts, conflicts (one line each) and
// the first facts it leaves out.
func NewReport(p *sync.Plan) *Report {
	r := &Report{ID: p.ID, Summary: p.Summary}
	for _, c := range p.Conflicts {
		r.Conflicts = append(r.Conflicts, fmt.Sprintf("%s %s: %s", c.Kind, c.Key, c.Reason))
	}
	r.NotWritten = p.NotWritten[:min(len(p.NotWritten), MaxReportedNotWritten)]
	return r
}

// SummaryReport is the report of a loaded plan (--apply-plan): its id and counts only.
func SummaryReport(p *sync.Plan) *Report {
	return &Report{ID: p.ID, Summary: p.Summary}
}
