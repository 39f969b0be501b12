package netbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
)

type page struct {
	Count   *int    `json:"count"`
	Next    *string `json:"next"`
	Results []Object
}

func checkEndpoint(endpoint string) error {
	if endpoint == "" || strings.HasPrefix(endpoint, "/") || strings.HasSuffix(endpoint, "/") ||
		strings.Contains(endpoint, "..") || strings.ContainsAny(endpoint, "?#% ") || strings.HasPrefix(endpoint, "api/") {
		return fmt.Errorf("netbox: endpoint %q is not an API path like \"dcim/devices\"", endpoint)
	}
	return nil
}

// List reads every object of endpoint matching q, all pages. Pages are MaxPageSize objects
// (unless q sets limit). On NetBox 4.6+ it pages with the cursor (start=), which stays correct
// and cheap on large tables; on older versions it reads the first page, then the remaining
// offsets in parallel. q may carry any NetBox filter and fields= or brief= to read less.
func (c *Client) List(ctx context.Context, endpoint string, q url.Values) ([]Object, error) {
	return c.list(ctx, endpoint, q, nil)
}

// list is List with an optional transform applied to each object as its page arrives.
func (c *Client) list(ctx context.Context, endpoint string, q url.Values, transform func(Object) Object) ([]Object, error) {
	getPage := func(ctx context.Context, path string, q url.Values) (*page, error) {
		pg, err := c.getPage(ctx, path, q)
		if err == nil && transform != nil {
			for i, o := range pg.Results {
				pg.Results[i] = transform(o)
			}
		}
		return pg, err
	}
	if err := checkEndpoint(endpoint); err != nil {
		return nil, err
	}
	st, err := c.knownStatus(ctx)
	if err != nil {
		return nil, err
	}
	q = cloneValues(q)
	if q.Get("limit") == "" || q.Get("limit") == "0" {
		q.Set("limit", strconv.Itoa(MaxPageSize))
	}
	path := c.apiPath(endpoint, 0)
	cursor := st.AtLeast(4, 6) && !q.Has("offset") && !q.Has("ordering")
	if cursor && !q.Has("start") {
		q.Set("start", "0")
	}
	first, err := getPage(ctx, path, q)
	if err != nil {
		return nil, err
	}
	out := first.Results
	if first.Next == nil || *first.Next == "" || len(first.Results) == 0 {
		return out, nil
	}
	if !cursor && first.Count != nil && !q.Has("offset") {
		rest, err := c.readOffsets(ctx, path, q, len(first.Results), *first.Count, getPage)
		if err != nil {
			return nil, err
		}
		return dedupe(append(out, rest...)), nil
	}
	// Follow next links: the query from NetBox's link, sent to our own base URL (behind a
	// proxy NetBox's links can carry the wrong scheme or host).
	seen := map[string]bool{}
	next := *first.Next
	for next != "" {
		nu, err := url.Parse(next)
		if err != nil {
			return nil, fmt.Errorf("netbox: GET %s: unusable next link: %w", path, err)
		}
		if seen[nu.RawQuery] {
			return nil, fmt.Errorf("netbox: GET %s: pagination loops (next link repeats %q)", path, nu.RawQuery)
		}
		seen[nu.RawQuery] = true
		pg, err := getPage(ctx, path, nu.Query())
		if err != nil {
			return nil, err
		}
		out = append(out, pg.Results...)
		if pg.Next == nil || len(pg.Results) == 0 {
			break
		}
		next = *pg.Next
	}
	return dedupe(out), nil
}

// First reads the first object of endpoint matching q (one request, limit=1): with an
// ordering, the newest or oldest of something. ok is false when nothing matches.
func (c *Client) First(ctx context.Context, endpoint string, q url.Values) (o Object, ok bool, err error) {
	if err := checkEndpoint(endpoint); err != nil {
		return nil, false, err
	}
	q = cloneValues(q)
	q.Set("limit", "1")
	pg, err := c.getPage(ctx, c.apiPath(endpoint, 0), q)
	if err != nil || len(pg.Results) == 0 {
		return nil, false, err
	}
	return pg.Results[0], true, nil
}

// readOffsets reads pages [pageLen, count) in parallel.
func (c *Client) readOffsets(ctx context.Context, path string, q url.Values, pageLen, count int,
	getPage func(context.Context, string, url.Values) (*page, error)) ([]Object, error) {
	var offsets []int
	for off := pageLen; off < count; off += pageLen {
		offsets = append(offsets, off)
	}
	pages := make([][]Object, len(offsets))
	err := c.parallel(ctx, len(offsets), func(ctx context.Context, i int) error {
		pq := cloneValues(q)
		pq.Set("offset", strconv.Itoa(offsets[i]))
		pq.Set("limit", strconv.Itoa(pageLen))
		pg, err := getPage(ctx, path, pq)
		if err != nil {
			return err
		}
		pages[i] = pg.Results
		return nil
	})
	if err != nil {
		return nil, err
	}
	var out []Object
	for _, p := range pages {
		out = append(out, p...)
	}
	return out, nil
}

func (c *Client) getPage(ctx context.Context, path string, q url.Values) (*page, error) {
	resp, err := c.do(ctx, http.MethodGet, path, q, nil, true)
	if err != nil {
		return nil, err
	}
	if resp.status != http.StatusOK {
		return nil, c.apiError(http.MethodGet, path, resp, 1)
	}
	var pg page
	if err := json.Unmarshal(resp.body, &pg); err != nil {
		return nil, fmt.Errorf("netbox: GET %s: answer is not a NetBox list: %w", path, err)
	}
	return &pg, nil
}

// dedupe drops repeated ids (offset pages can overlap when objects are added meanwhile).
func dedupe(objs []Object) []Object {
	seen := make(map[int]bool, len(objs))
	out := objs[:0]
	for _, o := range objs {
		id := o.ID()
		if id != 0 {
			if seen[id] {
				continue
			}
			seen[id] = true
		}
		out = append(out, o)
	}
	return out
}

// idsPerRequest keeps ?id=…&id=… URLs short enough for every proxy (about 2 KB).
const idsPerRequest = 200

// GetByIDs reads the objects with the given ids (?id= repeated, in chunks, in parallel), in the
// order of ids; ids that do not exist are left out. fields, when given, selects the fields
// returned (id is always included).
func (c *Client) GetByIDs(ctx context.Context, endpoint string, ids []int, fields ...string) ([]Object, error) {
	if err := checkEndpoint(endpoint); err != nil {
		return nil, err
	}
	uniq := slices.Clone(ids)
	slices.Sort(uniq)
	uniq = slices.Compact(uniq)
	var chunks [][]int
	for len(uniq) > 0 {
		n := min(idsPerRequest, len(uniq))
		chunks = append(chunks, uniq[:n])
		uniq = uniq[n:]
	}
	if len(fields) > 0 && !slices.Contains(fields, "id") {
		fields = append([]string{"id"}, fields...)
	}
	results := make([][]Object, len(chunks))
	err := c.parallel(ctx, len(chunks), func(ctx context.Context, i int) error {
		strs := make([]string, len(chunks[i]))
		for j, id := range chunks[i] {
			strs[j] = strconv.Itoa(id)
		}
		// Repeated id=, not id__in: NetBox's id filter has no "in" lookup, so it ignores
		// id__in and answers the whole table (checked against 4.3.7 and 4.6.8 by the
		// contract suite, test/contract filter-id-in).
		q := url.Values{"id": strs}
		if len(fields) > 0 {
			q.Set("fields", strings.Join(fields, ","))
		}
		objs, err := c.List(ctx, endpoint, q)
		results[i] = objs
		return err
	})
	if err != nil {
		return nil, err
	}
	byID := map[int]Object{}
	for _, r := range results {
		for _, o := range r {
			byID[o.ID()] = o
		}
	}
	out := make([]Object, 0, len(byID))
	done := map[int]bool{}
	for _, id := range ids {
		if o, ok := byID[id]; ok && !done[id] {
			out = append(out, o)
			done[id] = true
		}
	}
	return out, nil
}

// ReadSpec names one read of a snapshot.
type ReadSpec struct {
	Key      string // key in Snapshot's result
	Endpoint string
	Query    url.Values
	// Transform, when set, is applied to each object as its page arrives (it may be called
	// from several goroutines at once and must keep "id"): a large read then holds the
	// transformed objects, not every page decoded whole.
	Transform func(Object) Object
}

// Snapshot runs independent reads in parallel (at most MaxInFlight requests at once). The
// map holds every read that succeeded; the error joins every read that failed, each naming
// its key, so a caller can tell a partial snapshot from a complete one.
func (c *Client) Snapshot(ctx context.Context, specs []ReadSpec) (map[string][]Object, error) {
	keys := map[string]bool{}
	for _, s := range specs {
		if keys[s.Key] {
			return nil, fmt.Errorf("netbox: snapshot: key %q appears twice", s.Key)
		}
		keys[s.Key] = true
	}
	if _, err := c.knownStatus(ctx); err != nil {
		return nil, err
	}
	out := make(map[string][]Object, len(specs))
	var mu sync.Mutex
	var errs []error
	_ = c.parallel(ctx, len(specs), func(ctx context.Context, i int) error {
		objs, err := c.list(ctx, specs[i].Endpoint, specs[i].Query, specs[i].Transform)
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			errs = append(errs, fmt.Errorf("snapshot %q: %w", specs[i].Key, err))
			return nil
		}
		out[specs[i].Key] = objs
		return nil
	})
	return out, errors.Join(errs...)
}

// parallel runs fn for 0..n-1 with at most MaxInFlight running; the first error cancels the
// rest and is returned.
func (c *Client) parallel(ctx context.Context, n int, fn func(ctx context.Context, i int) error) error {
	if n == 0 {
		return nil
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	work := make(chan int)
	var wg sync.WaitGroup
	var once sync.Once
	var first error
	for range min(n, c.cfg.MaxInFlight) {
		wg.Go(func() {
			for i := range work {
				if ctx.Err() != nil {
					continue
				}
				if err := fn(ctx, i); err != nil {
					once.Do(func() { first = err; cancel(err) })
				}
			}
		})
	}
	for i := range n {
		work <- i
	}
	close(work)
	wg.Wait()
	return first
}

func cloneValues(q url.Values) url.Values {
	out := url.Values{}
	for k, v := range q {
		out[k] = slices.Clone(v)
	}
	return out
}
