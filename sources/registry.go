package sources

import (
	"fmt"
	"sort"
)

// Set holds the configured source instances by name. It is built by cmd/netbox-agent from the
// config: there is no package-level registry.
type Set struct {
	byName map[string]Source
}

// NewSet returns a set of the given sources; names must be unique.
func NewSet(srcs ...Source) (*Set, error) {
	s := &Set{byName: make(map[string]Source, len(srcs))}
	for _, src := range srcs {
		if err := s.Add(src); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// Add registers a source; a duplicate name is an error.
func (s *Set) Add(src Source) error {
	if s.byName == nil {
		s.byName = map[string]Source{}
	}
	if _, dup := s.byName[src.Name()]; dup {
		return fmt.Errorf("source %q is configured twice", src.Name())
	}
	s.byName[src.Name()] = src
	return nil
}

// Get returns the named source.
func (s *Set) Get(name string) (Source, bool) {
	src, ok := s.byName[name]
	return src, ok
}

// All returns every source sorted by name.
func (s *Set) All() []Source {
	out := make([]Source, 0, len(s.byName))
	for _, src := range s.byName {
		out = append(out, src)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name() < out[j].Name() })
	return out
}

// ByAdapter returns the sources of one adapter type, sorted by name.
func (s *Set) ByAdapter(adapter string) []Source {
	var out []Source
	for _, src := range s.All() {
		if src.Adapter() == adapter {
			out = append(out, src)
		}
	}
	return out
}
