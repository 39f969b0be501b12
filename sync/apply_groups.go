package sync

// actionGroup is one bulk write (one level, endpoint and op) and the groups it waits for.
type actionGroup struct {
	level int
	ep    string
	op    Op
	acts  []*Action // into the plan: a copy of each would be ~200 bytes x every action
	deps  []int
	done  chan struct{}
}

// groupActions groups the actions into bulk writes and orders them by dependency rather
// than strictly level by level, so independent work overlaps (virtual disks go while IPs
// are written): a group waits for the groups creating what its bodies refer to; primary
// IP/MAC updates wait for every IP and MAC write; everything waits for the tags and custom
// field; deletes wait for every other write, and
// machines' deletes for their children's.
func groupActions(actions []Action, results map[string]*ActionResult) []*actionGroup {
	type gk struct {
		level int
		ep    string
		op    Op
	}
	index := map[gk]int{}
	var groups []*actionGroup
	keyGroup := map[string]int{}
	for ai := range actions {
		a := &actions[ai]
		if results[a.Key].Status != "" {
			continue
		}
		k := gk{a.Level, a.Endpoint, a.Op}
		i, ok := index[k]
		if !ok {
			i = len(groups)
			index[k] = i
			groups = append(groups, &actionGroup{level: a.Level, ep: a.Endpoint, op: a.Op, done: make(chan struct{})})
		}
		groups[i].acts = append(groups[i].acts, a)
		keyGroup[a.Key] = i
	}
	for i, g := range groups {
		deps := map[int]bool{}
		for _, a := range g.acts {
			if a.Target != "" {
				if j, ok := keyGroup[a.Target]; ok {
					deps[j] = true
				}
			}
			walkRefs(a.Body, func(k string) {
				if j, ok := keyGroup[k]; ok {
					deps[j] = true
				}
			})
		}
		for j, o := range groups {
			switch {
			case o.level == levelMeta: // tags are referred to by name, not by ref
				deps[j] = true
			case g.level == levelPrimary && (o.level == levelIPs || o.level == levelMACs || o.ep == g.ep):
				deps[j] = true
			case g.level >= levelDeleteChildren && o.level < g.level:
				deps[j] = true
			}
		}
		delete(deps, i)
		for j := range deps {
			if groups[j].level >= g.level {
				continue // only earlier levels: no cycles
			}
			g.deps = append(g.deps, j)
		}
	}
	return groups
}

func walkRefs(v any, fn func(string)) {
	if r, ok := v.(planRef); ok {
		fn(r.Ref)
		return
	}
	switch x := v.(type) {
	case map[string]any:
		if k, ok := isRef(x); ok {
			fn(k)
			return
		}
		for _, e := range x {
			walkRefs(e, fn)
		}
	case []any:
		for _, e := range x {
			walkRefs(e, fn)
		}
	case written:
		for _, fv := range x {
			walkRefs(fv.Value, fn)
		}
	case ownerRecord:
		walkRefs(x.Written, fn)
	case ownerField:
		walkRefs(x.Rec.Written, fn)
	}
}
