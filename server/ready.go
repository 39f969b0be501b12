package server

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// readyCacheFor keeps a readiness answer for a while so frequent probes do not each cost a
// NetBox request.
const readyCacheFor = 5 * time.Second

// Readiness builds the Deps.Ready check: at least one source configured and NetBox answering
// netboxUp (for example a version read). Answers are cached for a few seconds.
func Readiness(netboxUp func(context.Context) error, sourceCount int) func(context.Context) error {
	var (
		mu      sync.Mutex
		checked time.Time
		last    error
	)
	return func(ctx context.Context) error {
		if sourceCount == 0 {
			return errors.New("no sources configured")
		}
		if netboxUp == nil {
			return errors.New("no NetBox configured")
		}
		mu.Lock()
		defer mu.Unlock()
		if !checked.IsZero() && time.Since(checked) < readyCacheFor {
			return last
		}
		last = nil
		if err := netboxUp(ctx); err != nil {
			last = fmt.Errorf("netbox not reachable: %w", err)
		}
		checked = time.Now()
		return last
	}
}
