package netbox

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
)

// Result is the outcome of one object of a bulk write, at the object's index in the input.
// Object is NetBox's answer for creates and updates (nil for deletes and failures).
type Result struct {
	Index  int
	Object Object
	Err    error
}

// CreateOptions tunes Create.
type CreateOptions struct {
	// LookupKey gives NetBox filters that find exactly this object once it exists, e.g.
	// url.Values{"cf_netbox_agent_id": {"proxmox:pve1/vm/101"}}.
	// When a bulk create gets no answer (dropped connection, 502/503/504 after sending), the
	// client looks each object up before resending, so a retry never creates duplicates.
	// When it is nil or returns no filters, DefaultLookupKey(endpoint) is used; objects with
	// neither are reported with ErrOutcomeUnknown instead of being resent.
	LookupKey func(Object) url.Values
	// AnswerFields, when set, keeps only these fields (and always "id") of each object NetBox
	// answers with in Result.Object. A caller that needs only the new ids saves decoding
	// whole objects: NetBox answers a bulk write with every object in full.
	AnswerFields []string
}

// UpdateOptions tunes UpdateWith.
type UpdateOptions struct {
	// AnswerFields is as in CreateOptions.
	AnswerFields []string
}

// DefaultLookupKey gives the natural key NetBox enforces as unique for an endpoint (slug, or
// name within its parent), or nil when there is none the client can build from the object.
func DefaultLookupKey(endpoint string) func(Object) url.Values {
	str := func(o Object, k string) (string, bool) { s := o.String(k); return s, s != "" }
	byField := func(field string) func(Object) url.Values {
		return func(o Object) url.Values {
			if v, ok := str(o, field); ok {
				return url.Values{field: {v}}
			}
			return nil
		}
	}
	withParent := func(field, parent, filter string) func(Object) url.Values {
		return func(o Object) url.Values {
			v, ok := str(o, field)
			p := o.RefID(parent)
			if !ok || p == 0 {
				return nil
			}
			return url.Values{field: {v}, filter: {strconv.Itoa(p)}}
		}
	}
	switch endpoint {
	case Tags, Sites, Manufacturers, ClusterTypes, DeviceRoles, Platforms:
		return byField("slug")
	case CustomFields:
		return byField("name")
	case Locations:
		return withParent("slug", "site", "site_id")
	case DeviceTypes:
		return withParent("slug", "manufacturer", "manufacturer_id")
	case Devices:
		return withParent("name", "site", "site_id")
	case Interfaces:
		return withParent("name", "device", "device_id")
	case VMInterfaces, VirtualDisks:
		return withParent("name", "virtual_machine", "virtual_machine_id")
	case VirtualMachines:
		return withParent("name", "cluster", "cluster_id")
	case Clusters:
		return byField("name")
	case IPAddresses:
		return assigned("address", "assigned_object_type", "assigned_object_id")
	case MACAddresses:
		return assigned("mac_address", "assigned_object_type", "assigned_object_id")
	case Services:
		return assigned("name", "parent_object_type", "parent_object_id")
	}
	return nil
}

// assigned builds a key from a value and the object it is assigned to (an interface, or a
// device or VM for services): unique in practice, though NetBox does not enforce it; a lookup
// that finds several objects is reported, never guessed.
func assigned(field, typeField, idField string) func(Object) url.Values {
	filters := map[string]string{
		"dcim.interface": "interface_id", "virtualization.vminterface": "vminterface_id",
		"dcim.device": "device_id", "virtualization.virtualmachine": "virtual_machine_id",
	}
	return func(o Object) url.Values {
		v := o.String(field)
		if v == "" {
			return nil
		}
		q := url.Values{field: {v}}
		if id := o.RefID(idField); id > 0 {
			f, ok := filters[o.String(typeField)]
			if !ok {
				return nil
			}
			q.Set(f, strconv.Itoa(id))
		}
		return q
	}
}

// Create writes new objects with bulk POSTs of BatchSize objects, MaxInFlight at once. It is
// CreateWith without options.
func (c *Client) Create(ctx context.Context, endpoint string, objs []Object) []Result {
	return c.CreateWith(ctx, endpoint, objs, CreateOptions{})
}

// CreateWith writes new objects in bulk. NetBox writes a batch all or nothing: when it
// rejects a batch, the objects it names get an *APIError with NetBox's message, and the
// others are sent again once as a new batch (unless Config.DisableRemainderRetry; then they
// get ErrBatchRejected). When NetBox does not say which object was at fault, the batch is
// split in halves until it does. Results come in input order.
func (c *Client) CreateWith(ctx context.Context, endpoint string, objs []Object, opts CreateOptions) []Result {
	b := c.newBulk(opCreate, endpoint, objs)
	b.lookup = opts.LookupKey
	b.answer = newAnswerDecoder(opts.AnswerFields)
	return b.run(ctx)
}

// Update changes objects with bulk PATCHes; each object holds "id" and only the fields to
// change. Failures are reported per object as in CreateWith; an id NetBox does not know
// (it skips those silently) gets ErrNotFound.
func (c *Client) Update(ctx context.Context, endpoint string, objs []Object) []Result {
	return c.newBulk(opUpdate, endpoint, objs).run(ctx)
}

// UpdateWith is Update with options.
func (c *Client) UpdateWith(ctx context.Context, endpoint string, objs []Object, opts UpdateOptions) []Result {
	b := c.newBulk(opUpdate, endpoint, objs)
	b.answer = newAnswerDecoder(opts.AnswerFields)
	return b.run(ctx)
}

// Delete removes objects by id with bulk DELETEs. A batch refused because some object has
// dependents (409) is split until the refused objects are isolated.
func (c *Client) Delete(ctx context.Context, endpoint string, ids []int) []Result {
	objs := make([]Object, len(ids))
	for i, id := range ids {
		objs[i] = Object{"id": id}
	}
	return c.newBulk(opDelete, endpoint, objs).run(ctx)
}

type opKind int

const (
	opCreate opKind = iota
	opUpdate
	opDelete
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
	size := b.c.cfg.BatchSize
	var chunks [][]int
	for len(todo) > 0 {
		n := min(size, len(todo))
		chunks = append(chunks, todo[:n])
		todo = todo[n:]
	}
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
