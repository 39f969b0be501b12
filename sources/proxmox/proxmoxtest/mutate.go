package proxmoxtest

import (
	"time"
)

// AddNode adds or replaces a node.
func (s *Server) AddNode(n Node) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.addNodeLocked(n)
}

func (s *Server) addNodeLocked(n Node) {
	for i, old := range s.nodes {
		if old.Name == n.Name {
			s.nodes[i] = &n
			return
		}
	}
	s.nodes = append(s.nodes, &n)
}

// SetNodeOnline switches a node on or off line.
func (s *Server) SetNodeOnline(name string, online bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if n := s.nodeLocked(name); n != nil {
		n.Online = online
	}
}

// AddGuest adds or replaces a guest (by VMID).
func (s *Server) AddGuest(g Guest) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.guests[g.VMID] = cloneGuest(g)
}

// RemoveGuest deletes a guest.
func (s *Server) RemoveGuest(vmid int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.guests, vmid)
}

// MigrateGuest moves a guest to another node.
func (s *Server) MigrateGuest(vmid int, node string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if g := s.guests[vmid]; g != nil {
		g.Node = node
	}
}

// SetGuestStatus sets "running" or "stopped".
func (s *Server) SetGuestStatus(vmid int, status string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if g := s.guests[vmid]; g != nil {
		g.Status = status
	}
}

// SetLatency changes the per-request latency.
func (s *Server) SetLatency(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.latency = d
}

// AddFault installs a fault; ClearFaults removes them all.
func (s *Server) AddFault(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, f)
}

// ClearFaults removes every fault.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
}

// AddToken adds an accepted token.
func (s *Server) AddToken(t Token) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokens[t.ID] = t
}

func (s *Server) nodeLocked(name string) *Node {
	for _, n := range s.nodes {
		if n.Name == name {
			return n
		}
	}
	return nil
}
