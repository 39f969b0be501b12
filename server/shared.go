package server

import (
	"context"
	"sync"
	"time"

	"github.com/netbox-agent/netbox-agent/sources"
)

// flight runs one piece of work for every caller that asks for the same key while it runs
// (singleflight). The work runs detached from any one caller's context, so a caller that
// gives up does not fail the others; each caller returns as soon as its own context ends,
// and the work is cancelled when every caller has gone.
type flight[T any] struct {
	mu    sync.Mutex
	calls map[string]*flightCall[T]
}

type flightCall[T any] struct {
	done    chan struct{}
	cancel  context.CancelFunc
	waiters int
	val     T
	err     error
}

// do returns the result of fn for key, sharing a run in progress; shared reports that this
// caller joined another's run.
func (f *flight[T]) do(ctx context.Context, key string, fn func(context.Context) (T, error)) (val T, shared bool, err error) {
	f.mu.Lock()
	if f.calls == nil {
		f.calls = map[string]*flightCall[T]{}
	}
	c, ok := f.calls[key]
	if !ok {
		runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		c = &flightCall[T]{done: make(chan struct{}), cancel: cancel}
		f.calls[key] = c
		go func() {
			defer cancel()
			c.val, c.err = fn(runCtx)
			f.mu.Lock()
			if f.calls[key] == c {
				delete(f.calls, key)
			}
			f.mu.Unlock()
			close(c.done)
		}()
	}
	c.waiters++
	f.mu.Unlock()
	select {
	case <-c.done:
		return c.val, ok, c.err
	case <-ctx.Done():
		f.mu.Lock()
		c.waiters--
		if c.waiters == 0 {
			// Nobody waits any more: stop the work, and let the next caller start afresh.
			c.cancel()
			if f.calls[key] == c {
				delete(f.calls, key)
			}
		}
		f.mu.Unlock()
		var zero T
		return zero, ok, ctx.Err()
	}
}

// DiscoveryCache shares discoveries between callers: concurrent discoveries of one source
// run once, and a result is reused for TTL (previews and discover_* tools of one
// conversation then look at the same estate, and 20 concurrent previews cost one discovery).
// Failures are not cached.
type DiscoveryCache struct {
	ttl    time.Duration
	flight flight[sources.Result]
	mu     sync.Mutex
	kept   map[string]cachedResult
	now    func() time.Time
}

type cachedResult struct {
	res sources.Result
	at  time.Time
}

// NewDiscoveryCache returns a cache keeping results for ttl (0: share concurrent runs only).
func NewDiscoveryCache(ttl time.Duration) *DiscoveryCache {
	return &DiscoveryCache{ttl: ttl, kept: map[string]cachedResult{}, now: time.Now}
}

// Discover returns src's discovery, from the cache when fresh. progress is reported by the
// caller whose run it is; a caller served from the cache or joining a run gets the end only.
func (c *DiscoveryCache) Discover(ctx context.Context, src sources.Source, progress sources.Progress) (sources.Result, error) {
	return c.discover(ctx, src, progress, false)
}

// discover is Discover; fresh skips the cache and any run in progress (and feeds the cache).
func (c *DiscoveryCache) discover(ctx context.Context, src sources.Source, progress sources.Progress, fresh bool) (sources.Result, error) {
	if c == nil {
		return src.Discover(ctx, progress)
	}
	key := src.Name()
	run := func(ctx context.Context) (sources.Result, error) {
		res, err := src.Discover(ctx, progress)
		if err == nil && c.ttl > 0 {
			c.mu.Lock()
			c.kept[key] = cachedResult{res: res, at: c.now()}
			c.mu.Unlock()
		}
		return res, err
	}
	if fresh {
		return run(ctx)
	}
	c.mu.Lock()
	kept, ok := c.kept[key]
	c.mu.Unlock()
	if ok && c.now().Sub(kept.at) < c.ttl {
		return kept.res, nil
	}
	res, _, err := c.flight.do(ctx, key, run)
	return res, err
}
