package proxmoxtest

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

func (s *Server) route(tok Token, path string, r *http.Request) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	seg := strings.Split(strings.Trim(path, "/"), "/")
	switch {
	case path == "/version":
		return map[string]any{"version": DefaultVersion, "release": majorMinor(DefaultVersion), "repoid": "faa83925c9641325"}, nil
	case path == "/access/permissions":
		return s.permissions(tok), nil
	case path == "/cluster/status":
		if !allowed(tok, "/", PrivSysAudit) {
			return nil, forbidden("/", PrivSysAudit)
		}
		return s.clusterStatus(), nil
	case path == "/cluster/resources":
		return s.clusterResources(tok, r.URL.Query().Get("type")), nil
	case path == "/nodes":
		return s.nodeList(tok), nil
	case len(seg) >= 3 && seg[0] == "nodes":
		return s.routeNode(tok, seg[1], seg[2:])
	}
	return nil, &apiError{http.StatusNotImplemented, fmt.Sprintf("Method 'GET %s' not implemented", path)}
}

func (s *Server) routeNode(tok Token, nodeName string, rest []string) (any, *apiError) {
	n := s.nodeLocked(nodeName)
	if n == nil {
		return nil, &apiError{http.StatusInternalServerError, fmt.Sprintf("hostname lookup '%s' failed - failed to get address info for: %s: Name or service not known", nodeName, nodeName)}
	}
	if !n.Online {
		// pveproxy cannot reach the node: 595 (no route) as real clusters answer.
		return nil, &apiError{595, "No route to host"}
	}
	nodePath := "/nodes/" + nodeName
	switch {
	case len(rest) == 1 && rest[0] == "status":
		if !allowed(tok, nodePath, PrivSysAudit) {
			return nil, forbidden(nodePath, PrivSysAudit)
		}
		return nodeStatus(n), nil
	case len(rest) == 1 && rest[0] == "network":
		if !allowed(tok, nodePath, PrivSysAudit) {
			return nil, forbidden(nodePath, PrivSysAudit)
		}
		return nodeNetwork(n), nil
	case len(rest) == 1 && (rest[0] == TypeQEMU || rest[0] == TypeLXC):
		return s.guestList(tok, nodeName, rest[0]), nil
	case len(rest) >= 3 && (rest[0] == TypeQEMU || rest[0] == TypeLXC):
		vmid, err := strconv.Atoi(rest[1])
		if err != nil {
			return nil, &apiError{http.StatusBadRequest, fmt.Sprintf("Parameter verification failed. vmid: invalid format - %q", rest[1])}
		}
		return s.routeGuest(tok, n, rest[0], vmid, strings.Join(rest[2:], "/"))
	}
	return nil, &apiError{http.StatusNotImplemented, fmt.Sprintf("Method 'GET %s/%s' not implemented", nodePath, strings.Join(rest, "/"))}
}

func (s *Server) routeGuest(tok Token, n *Node, typ string, vmid int, what string) (any, *apiError) {
	vmPath := fmt.Sprintf("/vms/%d", vmid)
	g := s.guests[vmid]
	if g == nil || g.Node != n.Name || g.Type != typ {
		if !allowed(tok, vmPath, PrivVMAudit) {
			return nil, forbidden(vmPath, PrivVMAudit)
		}
		dir := "qemu-server"
		if typ == TypeLXC {
			dir = "lxc"
		}
		return nil, &apiError{http.StatusInternalServerError, fmt.Sprintf("Configuration file 'nodes/%s/%s/%d.conf' does not exist", n.Name, dir, vmid)}
	}
	switch what {
	case "config":
		if !allowed(tok, vmPath, PrivVMAudit) {
			return nil, forbidden(vmPath, PrivVMAudit)
		}
		return guestConfig(g), nil
	case "status/current":
		if !allowed(tok, vmPath, PrivVMAudit) {
			return nil, forbidden(vmPath, PrivVMAudit)
		}
		st := guestResource(g)
		st["qmpstatus"] = g.Status
		st["ha"] = map[string]any{"managed": 0} // always present (pve-docs apidata: not optional)
		if typ == TypeQEMU {
			st["agent"] = boolInt(g.Agent != AgentNotConfigured)
		}
		return st, nil
	case "agent/network-get-interfaces":
		if typ != TypeQEMU {
			break
		}
		if !allowed(tok, vmPath, PrivVMMonitor) {
			return nil, forbidden(vmPath, PrivVMMonitor)
		}
		switch {
		case g.Status != "running":
			return nil, &apiError{http.StatusInternalServerError, fmt.Sprintf("VM %d is not running", vmid)}
		case g.Agent == AgentNotConfigured:
			return nil, &apiError{http.StatusInternalServerError, "No QEMU guest agent configured"}
		case g.Agent == AgentNotRunning:
			return nil, &apiError{http.StatusInternalServerError, "QEMU guest agent is not running"}
		}
		return map[string]any{"result": agentInterfaces(g)}, nil
	case "interfaces":
		if typ != TypeLXC {
			break
		}
		if !allowed(tok, vmPath, PrivVMAudit) {
			return nil, forbidden(vmPath, PrivVMAudit)
		}
		if g.Status != "running" {
			return nil, &apiError{http.StatusInternalServerError, fmt.Sprintf("CT %d not running", vmid)}
		}
		return lxcInterfaces(g), nil
	}
	return nil, &apiError{http.StatusNotImplemented, fmt.Sprintf("Method 'GET /nodes/%s/%s/%d/%s' not implemented", n.Name, typ, vmid, what)}
}
