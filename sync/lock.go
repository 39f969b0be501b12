package sync

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// ErrLocked is returned by Apply when another apply holds the lock.
var ErrLocked = errors.New("another apply is running")

const lockTTL = 30 * time.Minute

// lockName is the slug of the tag that is the apply lock in NetBox: tag slugs are unique, so
// creating it succeeds for one agent only. Its description names the holder and the expiry,
// so a person can see who holds it (Tags in NetBox's UI) and remove a stale one.
func (e *Engine) lockName() string { return slugify(e.cfg.Tag) + "-lock" }

// acquireLock takes the NetBox-wide apply lock; an expired lock is broken.
func (e *Engine) acquireLock(ctx context.Context) (release func(), err error) {
	name := e.lockName()
	until := e.now().Add(lockTTL).UTC()
	body := Object{"name": name, "slug": name, "color": "f44336",
		"description": fmt.Sprintf("netbox-agent apply lock: held by %s until %s", e.holder, until.Format(time.RFC3339))}
	releaser := func(id int) func() {
		return func() {
			// released even when the apply's context was cancelled
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
			defer cancel()
			if r := e.nb.Delete(rctx, epTags, []int{id}); len(r) == 1 && r[0].Err != nil {
				e.log.Warn("releasing the apply lock failed; it expires by itself", "tag", name, "error", r[0].Err)
			}
		}
	}
	for attempt := 0; attempt < 2; attempt++ {
		res := e.nb.Create(ctx, epTags, []Object{body})
		if len(res) == 1 && res[0].Err == nil {
			return releaser(objID(res[0].Object)), nil
		}
		got, rerr := e.nb.Snapshot(ctx, []ReadSpec{{Key: "lock", Endpoint: epTags, Query: url.Values{"slug": {name}}}})
		if rerr != nil {
			return nil, fmt.Errorf("apply lock: %w", rerr)
		}
		if len(got["lock"]) == 0 {
			if len(res) == 1 && res[0].Err != nil {
				return nil, fmt.Errorf("apply lock: creating tag %s: %w", name, res[0].Err)
			}
			continue
		}
		held := got["lock"][0]
		desc := objStr(held, "description")
		if lockHolder(desc) == e.holder {
			// Our own create committed but its answer was lost (a 500 or a dropped connection
			// after the write): the lock is ours. Only one apply per engine runs (applyMu), and
			// the holder names this engine alone (host, pid and a random nonce).
			e.log.Info("the apply lock was taken by this engine's earlier attempt; using it", "tag", name)
			return releaser(objID(held)), nil
		}
		exp, ok := lockExpiry(desc)
		if ok && e.now().After(exp) || e.holderDead(desc) {
			e.log.Warn("breaking an apply lock whose holder is gone or expired", "lock", desc)
			e.nb.Delete(ctx, epTags, []int{objID(held)})
			continue
		}
		return nil, fmt.Errorf("%w: NetBox tag %q says %q", ErrLocked, name, desc)
	}
	return nil, fmt.Errorf("%w: could not take NetBox tag %q", ErrLocked, name)
}

// holderDead reports a lock held by a process of this host that no longer runs (an agent
// killed in the middle of an apply), so the next run need not wait for the expiry.
func (e *Engine) holderDead(desc string) bool {
	holder := lockHolder(desc)
	// host:pid:nonce (host:pid from older versions)
	parts := strings.SplitN(holder, ":", 3)
	myHost, _, _ := strings.Cut(e.holder, ":")
	if len(parts) < 2 || parts[0] != myHost || holder == e.holder {
		return false
	}
	pid, err := strconv.Atoi(parts[1])
	if err != nil || pid <= 0 {
		return false
	}
	proc, err := os.FindProcess(pid)
	if err != nil {
		return true
	}
	return proc.Signal(syscall.Signal(0)) != nil && !errors.Is(proc.Signal(syscall.Signal(0)), syscall.EPERM)
}

// lockHolder is the holder named in a lock's description, "" when there is none.
func lockHolder(desc string) string {
	i := strings.Index(desc, "held by ")
	j := strings.LastIndex(desc, " until ")
	if i < 0 || j < i {
		return ""
	}
	return desc[i+len("held by ") : j]
}

func lockExpiry(desc string) (time.Time, bool) {
	i := strings.LastIndex(desc, " until ")
	if i < 0 {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339, strings.TrimSpace(desc[i+len(" until "):]))
	return t, err == nil
}
