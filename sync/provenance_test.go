package sync

import (
	"strings"
	"testing"

	"github.com/netbox-agent/netbox-agent/sources"
)

// A source that fails keeps its place in the records of what it saw: the run plans nothing
// for them (no churn while it is down, none when it is back), and what it last said stands.
func TestFailedSourceKeepsItsProvenance(t *testing.T) {
	l := newLab(t, Config{})
	l.sync(homelab(), nil)

	var withoutScan []sources.Observation
	for _, o := range homelab() {
		if o.Source != "netscan" {
			withoutScan = append(withoutScan, o)
		}
	}
	ran := map[string]bool{"pve-lab": true, "nas": true} // netscan failed
	p := l.plan(withoutScan, ran)
	if !p.Empty() {
		t.Fatalf("a failed source made the run rewrite what it saw:\n%s", planText(p))
	}
	web := l.find(epVMsAPI, "web")
	rec, ok := ownership(web, "netbox_agent")
	if !ok {
		t.Fatalf("web has no ownership record: %v", web)
	}
	var names []string
	for _, s := range rec.Sources {
		names = append(names, s.Source)
	}
	if got := strings.Join(names, ","); got != "netscan,pve-lab" {
		t.Fatalf("web's sources %q, want netscan,pve-lab", got)
	}
	// Back again: still nothing to do.
	if p := l.plan(homelab(), nil); !p.Empty() {
		t.Fatalf("the source's return made changes:\n%s", planText(p))
	}
}
