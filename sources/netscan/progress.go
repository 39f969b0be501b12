package netscan

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/netbox-agent/netbox-agent/sources"
)

// progressPoll is how often the XML file is read for new <taskprogress> elements.
const progressPoll = 250 * time.Millisecond

// watchProgress follows nmap's XML output file and reports each <taskprogress> element that
// --stats-every writes. The returned stop waits for the watcher to finish, so no report
// arrives after the scan returned.
func watchProgress(ctx context.Context, xmlPath string, total int, progress sources.Progress) (stop func()) {
	if progress == nil {
		return func() {}
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(progressPoll)
		defer t.Stop()
		var f progressFollower
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
				for _, p := range f.poll(xmlPath) {
					progress.Report(int(p.percent/100*float64(total)), total, fmt.Sprintf("nmap %s: %.1f%% done", p.task, p.percent))
				}
			}
		}
	}()
	var once sync.Once
	return func() { once.Do(func() { close(done); wg.Wait() }) }
}

type taskProgress struct {
	task    string
	percent float64
}

// progressFollower reads a growing file and extracts complete <taskprogress .../> elements.
type progressFollower struct {
	offset int64
	carry  []byte
}

func (f *progressFollower) poll(path string) []taskProgress {
	fh, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer fh.Close()
	if _, err := fh.Seek(f.offset, io.SeekStart); err != nil {
		return nil
	}
	data, err := io.ReadAll(fh)
	if err != nil || len(data) == 0 {
		return nil
	}
	f.offset += int64(len(data))
	buf := append(f.carry, data...)
	var out []taskProgress
	for {
		i := bytes.Index(buf, []byte("<taskprogress"))
		if i < 0 {
			// Keep a tail in case the tag name itself was cut.
			if len(buf) > len("<taskprogress") {
				buf = buf[len(buf)-len("<taskprogress"):]
			}
			break
		}
		j := bytes.IndexByte(buf[i:], '>')
		if j < 0 {
			buf = buf[i:]
			break
		}
		if p, ok := parseTaskProgress(string(buf[i : i+j+1])); ok {
			out = append(out, p)
		}
		buf = buf[i+j+1:]
	}
	f.carry = append([]byte(nil), buf...)
	return out
}

// parseTaskProgress reads task and percent from `<taskprogress task="..." percent="12.5" .../>`.
func parseTaskProgress(elem string) (taskProgress, bool) {
	pct, ok := xmlAttr(elem, "percent")
	if !ok {
		return taskProgress{}, false
	}
	v, err := strconv.ParseFloat(pct, 64)
	if err != nil || v < 0 || v > 100 {
		return taskProgress{}, false
	}
	task, _ := xmlAttr(elem, "task")
	return taskProgress{task: task, percent: v}, true
}

func xmlAttr(elem, name string) (string, bool) {
	key := " " + name + "=\""
	i := strings.Index(elem, key)
	if i < 0 {
		return "", false
	}
	rest := elem[i+len(key):]
	j := strings.IndexByte(rest, '"')
	if j < 0 {
		return "", false
	}
	return rest[:j], true
}
