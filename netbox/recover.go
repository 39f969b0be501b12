package netbox

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"sync"
)

// recoverCreate handles a create that got no answer: look each object up, report those that
// exist as created, resend only the missing ones.
func (b *bulk) recoverCreate(ctx context.Context, idxs []int, st batchState, na *errNoAnswer) {
	if st.unanswered >= max(b.c.cfg.Retries, 0) { // retries < 0: none at all
		for _, i := range idxs {
			b.fail(i, fmt.Errorf("netbox: object %d: %w (gave up after %d resends)", i, na, st.unanswered))
		}
		return
	}
	// Let a server that is still working on the lost request finish before looking: after a
	// timeout, give it as long again as the request had (real NetBox finishes a request whose
	// client has gone; looking at once would miss it and the resend would duplicate it).
	wait := b.c.backoff(st.unanswered)
	if na.slow {
		wait = max(wait, b.c.cfg.Timeout)
	}
	if err := sleep(ctx, wait); err != nil {
		for _, i := range idxs {
			b.fail(i, fmt.Errorf("netbox: object %d: %w: %w", i, ErrOutcomeUnknown, na))
		}
		return
	}
	def := DefaultLookupKey(b.endpoint)
	keys := make([]url.Values, len(idxs))
	for j, i := range idxs {
		var q url.Values
		if b.lookup != nil {
			q = b.lookup(b.objs[i])
		}
		if len(q) == 0 && def != nil {
			q = def(b.objs[i])
		}
		if len(q) == 0 {
			b.fail(i, fmt.Errorf("netbox: object %d: %w (no lookup key; not resent to avoid a duplicate): %w", i, ErrOutcomeUnknown, na))
			continue
		}
		keys[j] = q
	}
	missing := make([]bool, len(idxs))
	var mu sync.Mutex
	// found settles object j from the objects its key matched (already narrowed to exact
	// matches where the key's field can be read back).
	found := func(j int, matches []Object, q url.Values) {
		i := idxs[j]
		switch len(matches) {
		case 0:
			mu.Lock()
			missing[j] = true
			mu.Unlock()
		case 1:
			b.succeed(i, b.answer.keep(matches[0]))
		default:
			b.fail(i, fmt.Errorf("netbox: object %d: %w: its lookup key %s matches %d objects", i, ErrOutcomeUnknown, q.Encode(), len(matches)))
		}
	}
	lookupOne := func(ctx context.Context, j int) {
		q := cloneValues(keys[j])
		q.Set("limit", "50")
		pg, err := b.c.getPage(ctx, b.path, q)
		if err != nil {
			b.fail(idxs[j], fmt.Errorf("netbox: object %d: %w (lookup failed: %w) after: %w", idxs[j], ErrOutcomeUnknown, err, na))
			return
		}
		found(j, exactMatches(pg.Results, keys[j]), keys[j])
	}
	tasks := lookupTasks(keys)
	_ = b.c.parallel(ctx, len(tasks), func(ctx context.Context, t int) error {
		task := tasks[t]
		if task.valueKey == "" {
			lookupOne(ctx, task.members[0])
			return nil
		}
		// One request for many objects: the shared filters plus every object's value.
		q := cloneValues(task.shared)
		for _, j := range task.members {
			q.Add(task.valueKey, keys[j].Get(task.valueKey))
		}
		q.Set("limit", strconv.Itoa(MaxPageSize))
		pg, err := b.c.getPage(ctx, b.path, q)
		if err != nil || pg.Next != nil {
			for _, j := range task.members { // too many matches or a failure: one by one
				lookupOne(ctx, j)
			}
			return nil
		}
		byValue := map[string][]Object{}
		for _, o := range pg.Results {
			v, _ := readback(o, task.valueKey)
			byValue[v] = append(byValue[v], o)
		}
		for _, j := range task.members {
			found(j, byValue[keys[j].Get(task.valueKey)], keys[j])
		}
		return nil
	})
	var resend []int
	for j, i := range idxs {
		if missing[j] {
			resend = append(resend, i)
		}
	}
	b.c.logger.Info("netbox: bulk create got no answer; resending the objects not found",
		"path", b.path, "batch", len(idxs), "resend", len(resend), "cause", na.err)
	st.unanswered++
	b.write(ctx, resend, st)
}

// lookupValuesPerRequest bounds the values one grouped lookup sends (URL length).
const lookupValuesPerRequest = 50

// lookupTask is one lookup request: a single object's key (valueKey empty), or several
// objects whose keys differ only in one filter whose field can be read back from the answer.
type lookupTask struct {
	valueKey string
	shared   url.Values
	members  []int
}

func lookupTasks(keys []url.Values) []lookupTask {
	var singles []lookupTask
	var groups []*lookupTask
	open := map[string]*lookupTask{} // the group still taking members, by value key and shared filters
	for j, q := range keys {
		if q == nil {
			continue
		}
		vk := ""
		single := true
		for k, vs := range q {
			if len(vs) != 1 {
				single = false
			}
			if _, ok := readback(Object{}, k); ok {
				vk = k
			}
		}
		if !single || vk == "" {
			singles = append(singles, lookupTask{members: []int{j}})
			continue
		}
		shared := cloneValues(q)
		shared.Del(vk)
		gk := vk + "?" + shared.Encode()
		g := open[gk]
		if g == nil || len(g.members) >= lookupValuesPerRequest {
			g = &lookupTask{valueKey: vk, shared: shared}
			open[gk] = g
			groups = append(groups, g)
		}
		g.members = append(g.members, j)
	}
	tasks := singles
	for _, g := range groups {
		tasks = append(tasks, *g)
	}
	return tasks
}

// readback gives the value an object holds for a lookup filter whose field is plain (name,
// slug, a custom field), so lookups can insist on exact matches: NetBox's default "loose"
// custom-field filter matches substrings.
func readback(o Object, filter string) (string, bool) {
	switch {
	case strings.HasPrefix(filter, "cf_"):
		v := o.CustomField(strings.TrimPrefix(filter, "cf_"))
		if v == nil {
			return "", true
		}
		return Object{"v": v}.String("v"), true
	case filter == "name" || filter == "slug":
		return o.String(filter), true
	}
	return "", false
}

// exactMatches keeps the objects whose read-back values equal the key's (all of them when
// the key has no readable field).
func exactMatches(objs []Object, q url.Values) []Object {
	var out []Object
	for _, o := range objs {
		ok := true
		for k, vs := range q {
			if v, readable := readback(o, k); readable && len(vs) == 1 && v != vs[0] {
				ok = false
			}
		}
		if ok {
			out = append(out, o)
		}
	}
	return out
}
