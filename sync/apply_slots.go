package sync

import (
	"slices"
	gosync "sync"
)

// writeChunk is the most objects handed to the client at once (NetBox's MAX_PAGE_SIZE is
// also the most a bulk request should carry); writeSlots is how many chunks are in flight,
// matching the client's default of 4 requests at once.
const (
	writeChunk = 1000
	writeSlots = 4
)

// writeSlotQueue hands the bulk requests in flight to the chunks waiting for one, lowest level
// first (then in arrival order): the machines, interfaces, IPs and primary IPs each wait for
// the previous, while virtual disks and services wait only for their machines, so the chain
// goes first and the leaves fill the slots it leaves idle.
type writeSlotQueue struct {
	mu      gosync.Mutex
	free    int
	seq     int
	waiting []slotWaiter
}

type slotWaiter struct {
	level, seq int
	ready      chan struct{}
}

func newWriteSlots(n int) *writeSlotQueue { return &writeSlotQueue{free: n} }

func (q *writeSlotQueue) acquire(level int) {
	q.mu.Lock()
	if q.free > 0 && len(q.waiting) == 0 {
		q.free--
		q.mu.Unlock()
		return
	}
	w := slotWaiter{level: level, seq: q.seq, ready: make(chan struct{})}
	q.seq++
	q.waiting = append(q.waiting, w)
	q.mu.Unlock()
	<-w.ready
}

func (q *writeSlotQueue) release() {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.waiting) == 0 {
		q.free++
		return
	}
	best := 0
	for i, w := range q.waiting {
		if b := q.waiting[best]; w.level < b.level || w.level == b.level && w.seq < b.seq {
			best = i
		}
	}
	w := q.waiting[best]
	q.waiting = slices.Delete(q.waiting, best, best+1)
	close(w.ready) // the slot passes to w
}
