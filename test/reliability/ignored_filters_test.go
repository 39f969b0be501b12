package reliability

import (
	"testing"

	"github.com/netbox-agent/netbox-agent/netbox/netboxtest"
)

// failOnIgnoredFilters fails the test if any request sent srv a query parameter the
// simulator does not implement (netboxtest.Request.Ignored). NetBox ignores unknown filters
// and answers the whole list, so a misspelt or unsupported filter would make the agent read
// (and maybe change or delete) everything; the simulator must either implement the filter
// the agent relies on or the agent must stop sending it.
func failOnIgnoredFilters(t testing.TB, srv *netboxtest.Server) {
	t.Helper()
	t.Cleanup(func() {
		seen := map[string]bool{}
		for _, r := range srv.Requests() {
			for _, p := range r.Ignored {
				key := r.Method + " " + r.Path + " ?" + p
				if !seen[key] {
					seen[key] = true
					t.Errorf("netboxtest ignored the filter %q in %s %s?%s: implement it in netboxtest or stop sending it", p, r.Method, r.Path, r.Query)
				}
			}
		}
	})
}
