package inventory

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/fsnotify/fsnotify"
)

// Watch calls onChange when a configured file (or a new file matching a glob) is written,
// created, renamed or removed, once changes have been quiet for the debounce time. It watches
// the directories, not the files, so editors and tools that replace a file by renaming a new
// one over it are seen. It returns nil when ctx ends and an error when watching cannot start.
func (s *Source) Watch(ctx context.Context, onChange func()) error {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return fmt.Errorf("inventory %q: watch: %w", s.cfg.Name, err)
	}
	defer w.Close()
	dirs := map[string]bool{}
	for _, spec := range s.cfg.Files {
		pattern := filepath.Dir(filepath.Clean(spec.Path))
		// A glob in the directory part ("/srv/*/hosts.csv") watches the directories it
		// matches now; directories created later are not seen.
		matches := []string{pattern}
		if strings.ContainsAny(pattern, "*?[\\") {
			matches, _ = filepath.Glob(pattern)
			if len(matches) == 0 {
				return fmt.Errorf("inventory %q: watch %s: no directory matches", s.cfg.Name, pattern)
			}
		}
		for _, dir := range matches {
			if dirs[dir] {
				continue
			}
			if err := w.Add(dir); err != nil {
				return fmt.Errorf("inventory %q: watch %s: %w", s.cfg.Name, dir, err)
			}
			dirs[dir] = true
		}
	}
	s.log.InfoContext(ctx, "watching inventory files", "dirs", len(dirs))

	var timer *time.Timer
	var fire <-chan time.Time
	for {
		select {
		case <-ctx.Done():
			if timer != nil {
				timer.Stop()
			}
			return nil
		case ev, ok := <-w.Events:
			if !ok {
				return nil
			}
			if ev.Op == fsnotify.Chmod || !s.watched(ev.Name) {
				continue
			}
			if timer == nil {
				timer = time.NewTimer(s.cfg.Debounce)
			} else {
				timer.Reset(s.cfg.Debounce)
			}
			fire = timer.C
		case err, ok := <-w.Errors:
			if !ok {
				return nil
			}
			s.log.WarnContext(ctx, "inventory watch error", "err", err)
		case <-fire:
			fire = nil
			s.log.InfoContext(ctx, "inventory files changed")
			onChange()
		}
	}
}

// watched reports whether path is one of the configured files or matches their globs.
func (s *Source) watched(path string) bool {
	clean := filepath.Clean(path)
	for _, spec := range s.cfg.Files {
		if ok, _ := filepath.Match(filepath.Clean(spec.Path), clean); ok {
			return true
		}
	}
	return false
}
