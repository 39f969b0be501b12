package sync

import (
	"testing"

	"github.com/netbox-agent/netbox-agent/internal/testnetbox"
	"github.com/netbox-agent/netbox-agent/netbox/netboxtest"
)

// NetBox commits the lock's create and answers 500: the lock is this engine's own, and the
// apply goes on instead of locking the agent out until the lock expires.
func TestApplyLockWhoseCreateAnswerWasLost(t *testing.T) {
	l := newLab(t, Config{}, testnetbox.WithFaults(netboxtest.FailNth("POST", "/api/extras/tags/", 1,
		netboxtest.Fault{Kind: netboxtest.FaultServerError, AfterApply: true})))
	p := l.plan(homelab(), nil)
	rep, err := l.eng.Apply(t.Context(), p, nil)
	if err != nil || !rep.OK() {
		t.Fatalf("apply after the lock's lost answer: %v %+v", err, rep)
	}
	if ids := lockIDs(l); len(ids) != 0 {
		t.Errorf("lock not released: %v", ids)
	}
	// Another engine (another process) still sees a lock it does not hold as held.
	other := NewEngine(l.client(), Config{}, nil)
	if other.holder == l.eng.holder {
		t.Fatal("two engines share a lock holder name")
	}
}
