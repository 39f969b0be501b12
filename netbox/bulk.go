package netbox

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sync"
)

type bulk struct {
	c        *Client
	op       opKind
	method   string
	endpoint string
	path     string
	objs     []Object
	lookup   func(Object) url.Values
	answer   *answerDecoder // nil: answers decoded whole
	together func(Object) string
	results  []Result
	done     []bool
	mu       sync.Mutex // guards results and done across parallel batches
}

// batchState carries what one chunk of objects has already been through.
type batchState struct {
	remainderRetried bool // valid objects of a rejected batch were already resent once
	depth            int  // halvings to isolate an unattributed rejection
	unanswered       int  // creates resent after a lost answer
}

func (c *Client) newBulk(op opKind, endpoint string, objs []Object) *bulk {
	method := map[opKind]string{opCreate: http.MethodPost, opUpdate: http.MethodPatch, opDelete: http.MethodDelete}[op]
	b := &bulk{c: c, op: op, method: method, endpoint: endpoint, path: c.apiPath(endpoint, 0), objs: objs,
		results: make([]Result, len(objs)), done: make([]bool, len(objs))}
	for i := range b.results {
		b.results[i].Index = i
	}
	return b
}

func (b *bulk) run(ctx context.Context) []Result {
	if err := checkEndpoint(b.endpoint); err != nil {
		for i := range b.objs {
			b.fail(i, err)
		}
		return b.results
	}
	var todo []int
	for i, o := range b.objs {
		switch {
		case o == nil:
			b.fail(i, fmt.Errorf("netbox: %s %s: object %d is nil", b.method, b.path, i))
		case b.op != opCreate && o.ID() <= 0:
			b.fail(i, fmt.Errorf("netbox: %s %s: object %d has no id", b.method, b.path, i))
		default:
			todo = append(todo, i)
		}
	}
	chunks := chunk(todo, b.c.cfg.BatchSize, func(i int) string {
		if b.together == nil {
			return ""
		}
		return b.together(b.objs[i])
	})
	_ = b.c.parallel(ctx, len(chunks), func(ctx context.Context, i int) error {
		b.write(ctx, chunks[i], batchState{})
		return nil
	})
	for i := range b.results {
		if !b.done[i] {
			err := ctx.Err()
			if err == nil {
				err = errors.New("not attempted")
			}
			b.results[i].Err = fmt.Errorf("netbox: %s %s: object %d not written: %w", b.method, b.path, i, err)
		}
	}
	return b.results
}

// chunk cuts idxs into requests of size objects; indexes with the same non-empty key go in
// one request (at the place of the group's first), which may then be larger.
func chunk(idxs []int, size int, key func(int) string) [][]int {
	var units [][]int // single objects and whole groups, in input order
	group := map[string]int{}
	for _, i := range idxs {
		k := key(i)
		if k == "" {
			units = append(units, []int{i})
			continue
		}
		if u, ok := group[k]; ok {
			units[u] = append(units[u], i)
			continue
		}
		group[k] = len(units)
		units = append(units, []int{i})
	}
	var chunks [][]int
	var cur []int
	for _, u := range units {
		if len(cur) > 0 && len(cur)+len(u) > size {
			chunks = append(chunks, cur)
			cur = nil
		}
		cur = append(cur, u...)
	}
	if len(cur) > 0 {
		chunks = append(chunks, cur)
	}
	return chunks
}

func (b *bulk) fail(i int, err error) {
	b.mu.Lock()
	b.results[i].Err, b.results[i].Object, b.done[i] = err, nil, true
	b.mu.Unlock()
}

func (b *bulk) succeed(i int, o Object) {
	b.mu.Lock()
	b.results[i].Err, b.results[i].Object, b.done[i] = nil, o, true
	b.mu.Unlock()
}

// objectError copies a batch-level error for object i, so each message names its object.
func (b *bulk) objectError(i int, ae *APIError, fields map[string][]string) *APIError {
	e := *ae
	e.Index = i
	e.Name = b.objs[i].String("name")
	if e.Name == "" {
		e.Name = b.objs[i].String("display")
	}
	if fields != nil {
		e.Fields = fields
	}
	return &e
}

func (b *bulk) write(ctx context.Context, idxs []int, st batchState) {
	if len(idxs) == 0 {
		return
	}
	payload := make([]Object, len(idxs))
	for j, i := range idxs {
		if b.op == opDelete {
			payload[j] = Object{"id": b.objs[i].ID()}
		} else {
			payload[j] = b.objs[i]
		}
	}
	body, err := encodeObjects(payload)
	if err != nil {
		// Find the objects that cannot be encoded (a NaN, a channel); send the others.
		var good []int
		for _, i := range idxs {
			if _, err := encodeObjects([]Object{b.objs[i]}); err != nil {
				b.fail(i, fmt.Errorf("netbox: %s %s: object %d: cannot encode as JSON: %w", b.method, b.path, i, err))
			} else {
				good = append(good, i)
			}
		}
		if len(good) < len(idxs) {
			b.write(ctx, good, st)
		}
		return
	}
	resp, err := b.c.do(ctx, b.method, b.path, nil, body, b.op != opCreate)
	if err != nil {
		var na *errNoAnswer
		if b.op == opCreate && errors.As(err, &na) {
			b.recoverCreate(ctx, idxs, st, na)
			return
		}
		for _, i := range idxs {
			var ae *APIError
			if errors.As(err, &ae) {
				b.fail(i, b.objectError(i, ae, nil))
			} else {
				b.fail(i, fmt.Errorf("object %d: %w", i, err))
			}
		}
		return
	}
	switch {
	case resp.status >= 200 && resp.status < 300:
		b.accept(idxs, resp)
	case resp.status == http.StatusBadRequest || resp.status == http.StatusConflict || resp.status == http.StatusUnprocessableEntity:
		b.rejected(ctx, idxs, st, resp)
	default:
		ae := b.c.apiError(b.method, b.path, resp, 1)
		for _, i := range idxs {
			b.fail(i, b.objectError(i, ae, nil))
		}
	}
}

// accept maps a successful answer onto the batch's objects.
func (b *bulk) accept(idxs []int, resp *response) {
	if b.op == opDelete {
		for _, i := range idxs {
			b.succeed(i, nil)
		}
		return
	}
	list, err := b.answer.list(resp.body)
	if err != nil {
		if one, oneErr := b.answer.one(resp.body); len(idxs) == 1 && oneErr == nil {
			list = []Object{one}
		} else {
			for _, i := range idxs {
				b.fail(i, fmt.Errorf("netbox: %s %s: object %d: answer is not a list of objects: %w (the write may have happened)", b.method, b.path, i, err))
			}
			return
		}
	}
	if b.op == opCreate {
		if len(list) != len(idxs) {
			for _, i := range idxs {
				b.fail(i, fmt.Errorf("netbox: %s %s: object %d: NetBox answered %d objects for %d sent (the write happened; re-read to see it)", b.method, b.path, i, len(list), len(idxs)))
			}
			return
		}
		for j, i := range idxs {
			b.succeed(i, list[j])
		}
		return
	}
	byID := make(map[int]Object, len(list))
	for _, o := range list {
		byID[o.ID()] = o
	}
	for _, i := range idxs {
		id := b.objs[i].ID()
		if o, ok := byID[id]; ok {
			b.succeed(i, o)
		} else {
			b.fail(i, fmt.Errorf("netbox: %s %s: object %d: id %d: %w (NetBox skipped it: deleted meanwhile?)", b.method, b.path, i, id, ErrNotFound))
		}
	}
}

// rejected handles a 400/409: attribute NetBox's messages to objects, then go on with the rest.
func (b *bulk) rejected(ctx context.Context, idxs []int, st batchState, resp *response) {
	ae := b.c.apiError(b.method, b.path, resp, 1)
	remainderOK := !b.c.cfg.DisableRemainderRetry
	_, perIndex, ok := batchErrors(resp.body, len(idxs))
	if ok {
		var rest []int
		var firstBad *APIError
		for j, i := range idxs {
			f, bad := perIndex[j]
			if !bad {
				rest = append(rest, i)
				continue
			}
			e := b.objectError(i, ae, b.scrubFields(f))
			e.Detail = "" // the batch-level summary ("Bulk operation failed ...") says nothing about this object
			b.fail(i, e)
			if firstBad == nil {
				firstBad = e
			}
		}
		if len(rest) == 0 {
			return
		}
		if remainderOK && !st.remainderRetried {
			st.remainderRetried = true
			b.write(ctx, rest, st)
			return
		}
		for _, i := range rest {
			b.fail(i, fmt.Errorf("netbox: %s %s: object %d: %w (%v)", b.method, b.path, i, ErrBatchRejected, firstBad))
		}
		return
	}
	if len(idxs) == 1 {
		b.fail(idxs[0], b.objectError(idxs[0], ae, nil))
		return
	}
	if remainderOK && st.depth < 16 {
		// NetBox did not say which object it refused (4.3 bulk PATCH names no index, a 409
		// on DELETE names none): halve until the refused objects stand alone.
		st.depth++
		mid := len(idxs) / 2
		b.write(ctx, idxs[:mid], st)
		b.write(ctx, idxs[mid:], st)
		return
	}
	for _, i := range idxs {
		e := b.objectError(i, ae, nil)
		b.fail(i, fmt.Errorf("netbox: object %d: NetBox rejected its batch of %d without saying which object: %w", i, len(idxs), e))
	}
}

func (b *bulk) scrubFields(f map[string][]string) map[string][]string {
	for _, msgs := range f {
		for j := range msgs {
			msgs[j] = b.c.scrub.Scrub(msgs[j])
		}
	}
	return f
}
