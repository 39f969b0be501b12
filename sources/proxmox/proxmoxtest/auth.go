package proxmoxtest

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
)

// Privileges used by the simulator's permission checks (a subset of PVE's).
const (
	PrivSysAudit  = "Sys.Audit"
	PrivVMAudit   = "VM.Audit"
	PrivVMMonitor = "VM.Monitor"
)

// auditorPrivileges are what the PVEAuditor role grants.
func auditorPrivileges() []string {
	return []string{PrivSysAudit, PrivVMAudit, "Datastore.Audit", "SDN.Audit", "Pool.Audit", "Mapping.Audit"}
}

// AuditorACL returns an ACL granting the PVEAuditor role on "/" (propagated), plus VM.Monitor
// for the guest agent.
func AuditorACL() map[string][]string {
	return map[string][]string{"/": append(auditorPrivileges(), PrivVMMonitor)}
}

// authenticate checks "Authorization: PVEAPIToken=user@realm!tokenid=secret".
func (s *Server) authenticate(r *http.Request) (Token, bool) {
	h, ok := strings.CutPrefix(r.Header.Get("Authorization"), "PVEAPIToken=")
	if !ok {
		return Token{}, false
	}
	// The secret follows the last "=": token ids cannot contain "=".
	i := strings.LastIndexByte(h, '=')
	if i < 0 {
		return Token{}, false
	}
	id, sec := h[:i], h[i+1:]
	s.mu.Lock()
	t, ok := s.tokens[id]
	s.mu.Unlock()
	if !ok || t.Secret != sec {
		return Token{}, false
	}
	return t, true
}

// allowed reports whether tok holds priv on path or any parent path (ACLs propagate).
func allowed(tok Token, path, priv string) bool {
	if tok.ACL == nil {
		return true
	}
	for p := path; ; {
		if slices.Contains(tok.ACL[p], priv) {
			return true
		}
		if p == "/" {
			return false
		}
		i := strings.LastIndexByte(p, '/')
		if i <= 0 {
			p = "/"
		} else {
			p = p[:i]
		}
	}
}

func forbidden(path, priv string) *apiError {
	return &apiError{http.StatusForbidden, fmt.Sprintf("Permission check failed (%s, %s)", path, priv)}
}

func (s *Server) permissions(tok Token) map[string]map[string]int {
	out := map[string]map[string]int{}
	if tok.ACL == nil {
		all := map[string]int{}
		for _, p := range append(auditorPrivileges(), PrivVMMonitor, "Sys.Modify", "VM.Allocate", "VM.PowerMgmt", "Permissions.Modify") {
			all[p] = 1
		}
		out["/"] = all
		return out
	}
	for path, privs := range tok.ACL {
		m := map[string]int{}
		for _, p := range privs {
			m[p] = 1
		}
		out[path] = m
	}
	return out
}
