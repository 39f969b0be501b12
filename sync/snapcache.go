package sync

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	gosync "sync"
	"time"
)

// ChangeLog is what the engine reads of NetBox's change log (core/object-changes, NetBox
// 4.1+) to keep its snapshot up to date between runs: a run after the first reads the
// entries since the last one and re-reads only the objects they name, instead of every
// object. A NetBox that does not offer it gets a full read every run.
type ChangeLog interface {
	// LastChangeID is the newest entry's id (0: the log is empty).
	LastChangeID(ctx context.Context) (int, error)
	// ChangesAfter lists the entries with an id above after, ascending.
	ChangesAfter(ctx context.Context, after int) ([]LogEntry, error)
	// ChangesByID lists those of ids that exist now.
	ChangesByID(ctx context.Context, ids []int) ([]LogEntry, error)
	// ReadByIDs reads objects of endpoint by id, with the given fields.
	ReadByIDs(ctx context.Context, endpoint string, ids []int, fields string) ([]Object, error)
}

// LogEntry is one change log entry: NetBox created, updated or deleted one object.
type LogEntry struct {
	ID       int
	Type     string // "dcim.device"
	ObjectID int
	Action   string // create, update, delete
}

// endpointOfType maps change log object types to the snapshot's endpoints.
var endpointOfType = map[string]string{
	"extras.tag": epTags, "extras.customfield": epCustomFields, "dcim.site": epSites,
	"dcim.location": epLocations, "dcim.manufacturer": epManufacturers, "dcim.devicetype": epDeviceTypes,
	"dcim.devicerole": epDeviceRoles, "dcim.platform": epPlatforms,
	"virtualization.clustertype": epClusterTypes, "virtualization.cluster": epClusters,
	"dcim.device": epDevices, "virtualization.virtualmachine": epVMs, "dcim.interface": epInterfaces,
	"virtualization.vminterface": epVMInterfaces, "dcim.macaddress": epMACs, "ipam.ipaddress": epIPs,
	"ipam.service": epServices, "virtualization.virtualdisk": epVirtualDisks,
}

// shownElsewhere are kinds the snapshot does not hold but whose name its objects show: a
// cluster's scope can be a region or site group, a cluster belongs to a group. A change to
// one makes a full read, as a change to a site does.
var shownElsewhere = map[string]bool{"dcim.region": true, "dcim.sitegroup": true, "virtualization.clustergroup": true}

// embeddedBy says which snapshot fields hold a reference to an object of an endpoint, with
// the referenced object's display text: when the object changes or goes, the objects that
// embed it are read again (a delete's SET_NULL on them is not in the change log).
var embeddedBy = map[string][]struct{ ep, field string }{
	epIPs:     {{epDevices, "primary_ip4"}, {epDevices, "primary_ip6"}, {epVMs, "primary_ip4"}, {epVMs, "primary_ip6"}},
	epMACs:    {{epInterfaces, "primary_mac_address"}, {epVMInterfaces, "primary_mac_address"}},
	epDevices: {{epInterfaces, "device"}},
	epVMs:     {{epVMInterfaces, "virtual_machine"}, {epVirtualDisks, "virtual_machine"}},
}

// leafEndpoints hold the machines and what hangs off them: their changes are followed object
// by object. A change to anything else other objects refer to by display (a site renamed, a
// custom field redefined) makes the next plan read everything.
var leafEndpoints = map[string]bool{epDevices: true, epVMs: true, epInterfaces: true, epVMInterfaces: true,
	epMACs: true, epIPs: true, epServices: true, epVirtualDisks: true}

const (
	cacheFormat = 1
	// gapTTL is how long a change id missing from the log is looked for again: a NetBox
	// transaction still open when the log was read commits later with a lower id than entries
	// already seen; one rolled back never does.
	gapTTL = time.Hour
	// maxIncremental: beyond this many objects to re-read, a full read is cheaper.
	maxIncremental = 5000
)

// snapCache is the engine's copy of NetBox between runs, kept up to date from the change log
// and, when the engine has a file for it, across processes.
type snapCache struct {
	mu     gosync.Mutex
	loaded bool
	st     *cacheState
	tags   map[string]any // shared tag maps of compacted objects
}

// cacheState is what the cache file holds.
type cacheState struct {
	Format    int                 `json:"format"`
	Key       string              `json:"key"` // the NetBox, custom field and snapshot fields it was read with
	Major     int                 `json:"major"`
	Minor     int                 `json:"minor"`
	FullAt    time.Time           `json:"full_read_at"`
	Watermark int                 `json:"watermark"` // every change up to this id is in Objs
	Gaps      map[int]time.Time   `json:"gaps,omitempty"`
	Objs      map[string][]Object `json:"objects"`
}

// cacheKey ties a cache to what it was read with.
func (e *Engine) cacheKey() string {
	fields := make([]string, 0, len(snapshotEndpoints))
	for _, ep := range snapshotEndpoints {
		fields = append(fields, ep+"="+snapshotFields[ep])
	}
	return e.cfg.CacheKey + "|" + e.cfg.CustomField + "|" + strings.Join(fields, ";")
}

// snapshot returns what the planner knows of NetBox: from the cache brought up to date
// through the change log when it can, else from a full read.
func (e *Engine) snapshot(ctx context.Context) (*snapshot, error) {
	cl, ok := e.nb.(ChangeLog)
	if !ok || e.cfg.FullReadAlways {
		return readSnapshot(ctx, e.nb, e.cfg.CustomField)
	}
	c := &e.cache
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := e.refreshLocked(ctx, cl); err != nil {
		return nil, err
	}
	objs := make(map[string][]Object, len(c.st.Objs))
	for ep, list := range c.st.Objs {
		objs[ep] = slices.Clone(list)
	}
	return buildSnapshot(c.st.Major, c.st.Minor, objs, e.cfg.CustomField), nil
}

// refreshCache brings the cache up to date after an apply, so that the next run reads only
// what others changed since. A failure leaves the cache as it was: the next run catches up.
func (e *Engine) refreshCache(ctx context.Context) {
	cl, ok := e.nb.(ChangeLog)
	if !ok || e.cfg.FullReadAlways {
		return
	}
	e.cache.mu.Lock()
	defer e.cache.mu.Unlock()
	if !e.cache.loaded || e.cache.st == nil {
		return // nothing cached yet: the next plan reads in full anyway
	}
	if err := e.refreshLocked(ctx, cl); err != nil {
		e.log.Warn("snapshot cache: catching up after the apply failed; the next run catches up", "error", err)
	}
}

func (e *Engine) refreshLocked(ctx context.Context, cl ChangeLog) error {
	c := &e.cache
	if !c.loaded {
		c.loaded = true
		c.st = e.loadCache()
	}
	if c.tags == nil {
		c.tags = map[string]any{}
	}
	// The newest entry is read once: it is the watermark of a full read as well (taken before
	// reading, so changes made meanwhile are read again at the next catch-up, never lost).
	last, err := cl.LastChangeID(ctx)
	if err != nil {
		return e.fullRead(ctx, -1, "the change log cannot be read: "+err.Error())
	}
	if why := e.needFullRead(); why != "" {
		return e.fullRead(ctx, last, why)
	}
	if last < c.st.Watermark {
		return e.fullRead(ctx, last, fmt.Sprintf("the change log went back (newest entry %d, cache at %d): NetBox was restored", last, c.st.Watermark))
	}
	if last == c.st.Watermark && len(c.st.Gaps) == 0 {
		return nil // nothing happened since
	}
	if last-c.st.Watermark > 2*maxIncremental {
		// A first sync's apply, or a long pause: reading the log would cost more than it saves.
		return e.fullRead(ctx, last, fmt.Sprintf("%d change log entries since the last run", last-c.st.Watermark))
	}
	changes, err := cl.ChangesAfter(ctx, c.st.Watermark)
	if err != nil {
		return e.fullRead(ctx, last, "the change log cannot be read: "+err.Error())
	}
	if len(c.st.Gaps) > 0 {
		late, err := cl.ChangesByID(ctx, slices.Sorted(maps.Keys(c.st.Gaps)))
		if err != nil {
			return e.fullRead(ctx, last, "the change log cannot be read: "+err.Error())
		}
		changes = append(late, changes...)
	}
	reread, removed, why := e.classify(changes)
	if why != "" {
		return e.fullRead(ctx, last, why)
	}
	n := 0
	for _, ids := range reread {
		n += len(ids)
	}
	if n > maxIncremental {
		return e.fullRead(ctx, last, fmt.Sprintf("%d objects changed", n))
	}
	t0 := time.Now()
	fresh := map[string][]Object{}
	for _, ep := range snapshotEndpoints {
		ids := reread[ep]
		if len(ids) == 0 {
			continue
		}
		got, err := cl.ReadByIDs(ctx, ep, slices.Sorted(maps.Keys(ids)), snapshotFields[ep])
		if err != nil {
			return fmt.Errorf("netbox snapshot: %w", err)
		}
		fresh[ep] = got
	}
	// Nothing is changed until every read succeeded.
	for ep, ids := range removed {
		c.st.Objs[ep] = slices.DeleteFunc(c.st.Objs[ep], func(o Object) bool { return ids[objID(o)] })
	}
	for ep, ids := range reread {
		byID := map[int]Object{}
		for _, o := range fresh[ep] {
			byID[objID(o)] = compact(o, e.cfg.CustomField, c.tags)
		}
		list := slices.DeleteFunc(c.st.Objs[ep], func(o Object) bool { return ids[objID(o)] })
		for _, o := range byID {
			list = append(list, o) // ids asked for and not found are gone
		}
		slices.SortFunc(list, func(a, b Object) int { return objID(a) - objID(b) })
		c.st.Objs[ep] = list
	}
	e.advance(changes)
	e.log.Debug("snapshot cache caught up", "changes", len(changes), "reread", n, "watermark", c.st.Watermark, "took", time.Since(t0))
	e.saveCache()
	return nil
}

// classify turns change log entries into the objects to read again and the ones gone, or
// says why only a full read will do.
func (e *Engine) classify(changes []LogEntry) (reread, removed map[string]map[int]bool, why string) {
	c := &e.cache
	reread, removed = map[string]map[int]bool{}, map[string]map[int]bool{}
	add := func(m map[string]map[int]bool, ep string, id int) {
		if m[ep] == nil {
			m[ep] = map[int]bool{}
		}
		m[ep][id] = true
	}
	touched := map[string]map[int]bool{}
	for _, ch := range changes {
		ep, known := endpointOfType[ch.Type]
		if shownElsewhere[ch.Type] && ch.Action != "create" {
			return nil, nil, fmt.Sprintf("a %s was %sd (objects show it by name)", ch.Type, ch.Action)
		}
		if !known {
			continue // a kind the snapshot does not hold
		}
		if !leafEndpoints[ep] && ch.Action != "create" {
			if ep != epTags || e.tagInUse(ch.ObjectID) {
				return nil, nil, fmt.Sprintf("a %s was %sd (objects show it by name)", ch.Type, ch.Action)
			}
		}
		if ch.Action == "delete" {
			add(removed, ep, ch.ObjectID)
			delete(reread[ep], ch.ObjectID)
		} else {
			add(reread, ep, ch.ObjectID)
			delete(removed[ep], ch.ObjectID)
		}
		add(touched, ep, ch.ObjectID)
	}
	for ep, ids := range touched {
		for _, dep := range embeddedBy[ep] {
			for _, o := range c.st.Objs[dep.ep] {
				if ids[refID(o, dep.field)] && !removed[dep.ep][objID(o)] {
					add(reread, dep.ep, objID(o))
				}
			}
		}
	}
	return reread, removed, ""
}

// tagInUse says whether a cached object carries the tag (by the tag's slug in the cache).
func (e *Engine) tagInUse(id int) bool {
	var slug string
	for _, t := range e.cache.st.Objs[epTags] {
		if objID(t) == id {
			slug = objStr(t, "slug")
		}
	}
	if slug == "" {
		return false // not a tag the cache knows: no cached object carries it
	}
	for ep, list := range e.cache.st.Objs {
		if ep == epTags {
			continue
		}
		for _, o := range list {
			tags, _ := o["tags"].([]any)
			for _, t := range tags {
				if m, ok := t.(map[string]any); ok && m["slug"] == slug {
					return true
				}
			}
		}
	}
	return false
}

// advance moves the watermark over what was read and remembers the ids the log skipped.
func (e *Engine) advance(changes []LogEntry) {
	st := e.cache.st
	seen := map[int]bool{}
	top := st.Watermark
	for _, ch := range changes {
		seen[ch.ID] = true
		top = max(top, ch.ID)
		delete(st.Gaps, ch.ID)
	}
	now := e.now()
	if st.Gaps == nil {
		st.Gaps = map[int]time.Time{}
	}
	for id := st.Watermark + 1; id <= top; id++ {
		if !seen[id] {
			st.Gaps[id] = now
		}
	}
	for id, since := range st.Gaps {
		if now.Sub(since) > gapTTL {
			delete(st.Gaps, id)
		}
	}
	st.Watermark = top
}

// needFullRead says why the cache cannot be used as it is ("" when it can).
func (e *Engine) needFullRead() string {
	st := e.cache.st
	switch {
	case st == nil:
		return "no snapshot cached yet"
	case st.Format != cacheFormat || st.Key != e.cacheKey():
		return "the cache was made for another NetBox, custom field or agent version"
	case e.now().Sub(st.FullAt) >= e.cfg.FullReadEvery:
		return fmt.Sprintf("the last full read is older than %s", e.cfg.FullReadEvery)
	}
	return ""
}

// fullRead reads every object, as a first run does; watermark is the change log's newest
// entry, read before (-1: NetBox has no change log, so every plan reads everything).
func (e *Engine) fullRead(ctx context.Context, watermark int, why string) error {
	e.log.Debug("snapshot: full read", "why", why)
	c := &e.cache
	c.st, c.tags = nil, map[string]any{} // the old copy goes before the new one is read: one in memory at a time
	major, minor, objs, err := readObjects(ctx, e.nb, e.cfg.CustomField)
	if err != nil {
		return err
	}
	if watermark < 0 {
		c.st = &cacheState{Format: cacheFormat, Key: "no change log", Major: major, Minor: minor, Objs: objs}
		return nil
	}
	c.st = &cacheState{Format: cacheFormat, Key: e.cacheKey(), Major: major, Minor: minor, FullAt: e.now(),
		Watermark: watermark, Objs: objs}
	e.saveCache()
	return nil
}

// loadCache reads the cache file; nil when there is none or it cannot be used.
func (e *Engine) loadCache() *cacheState {
	if e.cfg.CacheFile == "" {
		return nil
	}
	raw, err := os.ReadFile(e.cfg.CacheFile)
	if err != nil {
		if !errors.Is(err, os.ErrNotExist) {
			e.log.Warn("snapshot cache: cannot read it; reading NetBox in full", "file", e.cfg.CacheFile, "error", err)
		}
		return nil
	}
	var st cacheState
	if err := json.Unmarshal(raw, &st); err != nil {
		e.log.Warn("snapshot cache: not a cache file; reading NetBox in full", "file", e.cfg.CacheFile, "error", err)
		return nil
	}
	if st.Objs == nil {
		st.Objs = map[string][]Object{}
	}
	tags := map[string]any{}
	for ep, list := range st.Objs {
		for i, o := range list {
			list[i] = compact(o, e.cfg.CustomField, tags)
		}
		st.Objs[ep] = list
	}
	e.cache.tags = tags
	return &st
}

// saveCache writes the cache file (0600, replaced atomically); a failure costs a full read
// in the next process, nothing else.
func (e *Engine) saveCache() {
	if e.cfg.CacheFile == "" || e.cache.st == nil {
		return
	}
	out := *e.cache.st
	out.Objs = make(map[string][]Object, len(e.cache.st.Objs))
	for ep, list := range e.cache.st.Objs {
		plain := make([]Object, len(list))
		for i, o := range list {
			plain[i] = uncompact(o)
		}
		out.Objs[ep] = plain
	}
	raw, err := json.Marshal(&out)
	if err == nil {
		err = os.MkdirAll(filepath.Dir(e.cfg.CacheFile), 0o700)
	}
	if err == nil {
		tmp := e.cfg.CacheFile + ".tmp"
		if err = os.WriteFile(tmp, raw, 0o600); err == nil {
			err = os.Rename(tmp, e.cfg.CacheFile)
		}
	}
	if err != nil {
		e.log.Warn("snapshot cache: cannot write it; the next process reads NetBox in full", "file", e.cfg.CacheFile, "error", err)
	}
}

// uncompact turns a compacted object back into NetBox's JSON shape, which compact reads
// back into the same object.
func uncompact(o Object) Object {
	out := make(Object, len(o))
	for k, v := range o {
		switch x := v.(type) {
		case nestedRef:
			out[k] = map[string]any{"id": x.ID, "display": x.Display}
		default:
			out[k] = v // ownerField marshals as {name: record}, the custom_fields NetBox sends
		}
	}
	return out
}
