package sync

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"runtime"
	"slices"
	gosync "sync"
	"time"
)

// Op is what an action does to one NetBox object.
type Op string

const (
	OpCreate Op = "create"
	OpUpdate Op = "update"
	// OpStale marks an owned object no successful source sees any more (tag + stale_since).
	OpStale  Op = "stale"
	OpDelete Op = "delete"
)

// Levels are the order apply writes in: an object only refers to objects of earlier levels.
const (
	levelMeta = iota // tags and custom fields
	levelSites
	levelLocations
	levelManufacturers
	levelDeviceTypes
	levelRoles
	levelPlatforms
	levelClusterTypes
	levelClusters
	levelMachines // devices and virtual machines
	levelInterfaces
	levelMACs
	levelIPs
	levelPrimary // primary IPs of machines, primary MACs of interfaces
	levelServices
	levelDisks
	levelDeleteChildren
	levelDeleteMachines
	levelCount
)

// Action is one write of the plan.
type Action struct {
	// Key names the action within the plan; bodies refer to objects created earlier in the
	// same apply as {"$ref": key}.
	Key      string `json:"key"`
	Op       Op     `json:"op"`
	Level    int    `json:"level"`
	Endpoint string `json:"endpoint"`
	Type     string `json:"type"` // "device", "ip address", ...
	// ID is the NetBox object's id; 0 for a create, or for an update of an object the same
	// plan creates (then Target is the key of its create).
	ID     int    `json:"id,omitempty"`
	Target string `json:"target,omitempty"`
	Name   string `json:"name"`
	Entity string `json:"entity,omitempty"`
	// LastUpdated is the object's last_updated at plan time; apply refuses the action when
	// NetBox has a different one.
	LastUpdated string `json:"last_updated,omitempty"`
	// Body is exactly what apply sends (references to planned objects unresolved).
	Body    map[string]any `json:"body,omitempty"`
	Changes []Change       `json:"changes,omitempty"`
	Reason  string         `json:"reason,omitempty"`
}

// Change is one field of an update, for people: before, after, who said so and why.
type Change struct {
	Field  string `json:"field"`
	Before any    `json:"before"`
	After  any    `json:"after"`
	Source string `json:"source,omitempty"`
	Reason string `json:"reason,omitempty"`
}

// Note is something the plan deliberately does not do, with the reason (a person's edit
// kept, deletes refused by the guard, a source that failed).
type Note struct {
	Object string `json:"object,omitempty"`
	Field  string `json:"field,omitempty"`
	Reason string `json:"reason"`
}

// NotWritten is one fact a source reported (a MAC, an IP address, a service, a disk) that the
// plan does not put on its entity's object, with the reason. Together with the actions it
// accounts for every fact: nothing a source saw is dropped without a word.
type NotWritten struct {
	Entity string `json:"entity"`
	Object string `json:"object,omitempty"` // the machine (or host) the fact belongs to, for people
	Fact   string `json:"fact"`             // "mac", "ip", "service", "disk"
	Value  string `json:"value"`            // "BC:24:11:2E:C5:4A", "192.0.2.5/24", "tcp/443 https", "scsi0"
	Reason string `json:"reason"`
}

// Fact kinds of NotWritten.
const (
	FactMAC     = "mac"
	FactIP      = "ip"
	FactService = "service"
	FactDisk    = "disk"
)

// Summary counts a plan's actions.
type Summary struct {
	Create    int `json:"create"`
	Update    int `json:"update"`
	Stale     int `json:"stale"`
	Delete    int `json:"delete"`
	Conflicts int `json:"conflicts"`
	Unchanged int `json:"unchanged"`
	// PossibleMatches counts Plan.PossibleMatches.
	PossibleMatches int `json:"possible_matches,omitempty"`
	// NotWritten counts the facts listed in Plan.NotWritten.
	NotWritten int `json:"not_written,omitempty"`
}

// PlanFormat is the format_version of the plan files this agent writes and the only one it
// loads. Bump it when a field is added, removed or changes meaning in a way an agent of the
// other format would misread (drop or misapply): an agent never applies a plan it cannot read
// exactly. Format 1 is the layout plans had before the field existed, plus the field.
const PlanFormat = 1

// Plan is every write one sync would make, computed against one NetBox snapshot.
type Plan struct {
	// FormatVersion is the plan file format (PlanFormat). Named as terraform names the version
	// of its JSON plans, and unlike "version" it cannot be mistaken for netbox_version or
	// agent_version beside it. Outside the hash: plan ids stay what they were.
	FormatVersion int `json:"format_version"`
	// AgentVersion is the version of the agent that wrote the plan file (main.version, set at
	// build time), for people reading a refused plan; empty on a plan not saved yet. Outside
	// the hash, like FormatVersion.
	AgentVersion string `json:"agent_version"`
	// ID is the hash of the plan's content (actions, conflicts, notes).
	ID            string     `json:"id"`
	CreatedAt     time.Time  `json:"created_at"`
	NetBoxVersion string     `json:"netbox_version"`
	Actions       []Action   `json:"actions"`
	Conflicts     []Conflict `json:"conflicts,omitempty"`
	// PossibleMatches are entities the merge kept apart although a weak key (a name, an IP)
	// says they might be one machine, with the evidence for and against (see sync/identity.go).
	PossibleMatches []Conflict `json:"possible_matches,omitempty"`
	Notes           []Note     `json:"notes,omitempty"`
	// NotWritten lists the facts of entities the plan leaves out, each with its reason.
	NotWritten []NotWritten `json:"not_written,omitempty"`
	Summary    Summary      `json:"summary"`

	sealed bool // made by Plan or verified by LoadPlan
}

// addFindings takes the merge's conflicts and possible matches (Kind KindPossibleMatch).
func (p *Plan) addFindings(cs []Conflict) {
	for _, c := range cs {
		if c.Kind == KindPossibleMatch {
			p.PossibleMatches = append(p.PossibleMatches, c)
		} else {
			p.Conflicts = append(p.Conflicts, c)
		}
	}
}

// Empty reports whether the plan writes nothing.
func (p *Plan) Empty() bool { return len(p.Actions) == 0 }

// finish sorts the actions, counts them and computes the id.
func (p *Plan) finish() {
	slices.SortStableFunc(p.Actions, func(a, b Action) int {
		return cmp.Or(cmp.Compare(a.Level, b.Level), cmp.Compare(a.Endpoint, b.Endpoint), cmp.Compare(a.Key, b.Key))
	})
	unchanged := p.Summary.Unchanged
	p.Summary = Summary{Conflicts: len(p.Conflicts), Unchanged: unchanged, PossibleMatches: len(p.PossibleMatches), NotWritten: len(p.NotWritten)}
	for _, a := range p.Actions {
		switch a.Op {
		case OpCreate:
			p.Summary.Create++
		case OpUpdate:
			p.Summary.Update++
		case OpStale:
			p.Summary.Stale++
		case OpDelete:
			p.Summary.Delete++
		}
	}
	p.FormatVersion = PlanFormat
	p.ID = p.hash()
	p.sealed = true
}

// hash is over the JSON of the content: not the id, the creation time, the summary (counted
// from the content), the format version or the agent version (ids stay what earlier versions
// computed). Bodies hold maps (sorted by encoding/json), slices, scalars and ownerRecords
// (fields declared in sorted order), so a plan hashes the same before and after a save and
// load.
func (p *Plan) hash() string {
	h := sha256.New()
	enc := json.NewEncoder(h) // one action at a time: the encoder buffers each value whole
	_ = enc.Encode(p.NetBoxVersion)
	// The actions are encoded a chunk per core and hashed in order: the same bytes as one
	// json.Encoder writing them one after another (appendAction), in a fraction of the time.
	const chunk = 256
	workers := max(runtime.GOMAXPROCS(0), 1)
	bufs := make([][]byte, workers)
	for start := 0; start < len(p.Actions); start += chunk * workers {
		var wg gosync.WaitGroup
		for w := range bufs {
			lo := start + w*chunk
			if lo >= len(p.Actions) {
				break
			}
			acts := p.Actions[lo:min(lo+chunk, len(p.Actions))]
			wg.Go(func() {
				buf := bufs[w][:0]
				for i := range acts {
					if out, err := appendAction(buf, &acts[i]); err == nil { // as json.Encoder: nothing on error
						buf = out
					}
				}
				bufs[w] = buf
			})
		}
		wg.Wait()
		for w := range bufs {
			if start+w*chunk < len(p.Actions) {
				_, _ = h.Write(bufs[w])
			}
		}
	}
	_ = enc.Encode(p.Conflicts)
	_ = enc.Encode(p.Notes)
	// Plans without possible matches or facts left out hash as they did before those existed.
	if len(p.PossibleMatches) > 0 {
		_ = enc.Encode(p.PossibleMatches)
	}
	if len(p.NotWritten) > 0 {
		_ = enc.Encode(p.NotWritten)
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// Verify checks that the plan's content still hashes to its id (a plan file edited by hand
// or truncated is refused).
func (p *Plan) Verify() error {
	if got := p.hash(); got != p.ID {
		return fmt.Errorf("plan %s: content hashes to %s: the plan was modified after it was made", p.ID, got)
	}
	return nil
}

// SavePlan writes the plan as JSON to path (mode 0600: plans name the estate), stamped with
// the format version and agentVersion, the version of the agent writing it. p is not modified:
// the server saves a plan other goroutines may be reading.
func SavePlan(path string, p *Plan, agentVersion string) error {
	file := *p
	file.FormatVersion, file.AgentVersion = PlanFormat, agentVersion
	b, err := json.MarshalIndent(&file, "", "  ")
	if err != nil {
		return fmt.Errorf("save plan %s: %w", p.ID, err)
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("save plan %s: %w", p.ID, err)
	}
	return nil
}

// PlanFormatError is a plan file of another format than PlanFormat; without Present, a file
// with no format_version at all, written by an agent older than format 1.
type PlanFormatError struct {
	Path         string
	Found        int
	Present      bool
	AgentVersion string // of the agent that wrote the file, when it says
}

func (e *PlanFormatError) Error() string {
	found := "no format_version (written by an agent older than plan format 1)"
	if e.Present {
		by := ""
		if e.AgentVersion != "" {
			by = ", written by netbox-agent " + e.AgentVersion
		}
		found = fmt.Sprintf("format_version %d%s", e.Found, by)
	}
	return fmt.Sprintf("plan file %s has %s; this agent reads plan format %d only: run preview again "+
		"(--run-once --dry-run --plan-out FILE, or preview_sync) and apply the new plan", e.Path, found, PlanFormat)
}

// LoadPlan reads a plan saved by SavePlan, refuses one of another format (PlanFormatError)
// and verifies its id.
func LoadPlan(path string) (*Plan, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load plan: %w", err)
	}
	// The format first, alone: a plan of another format may not even decode into this Plan,
	// and its decode error would hide the reason.
	var head struct {
		FormatVersion *int   `json:"format_version"` // nil: no such field
		AgentVersion  string `json:"agent_version"`
	}
	if err := json.Unmarshal(b, &head); err != nil {
		return nil, fmt.Errorf("load plan %s: %w", path, err)
	}
	if head.FormatVersion == nil || *head.FormatVersion != PlanFormat {
		e := &PlanFormatError{Path: path, AgentVersion: head.AgentVersion}
		if head.FormatVersion != nil {
			e.Found, e.Present = *head.FormatVersion, true
		}
		return nil, fmt.Errorf("load plan: %w", e)
	}
	var p Plan
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, fmt.Errorf("load plan %s: %w", path, err)
	}
	if err := p.Verify(); err != nil {
		return nil, fmt.Errorf("load plan %s: %w", path, err)
	}
	p.sealed = true
	return &p, nil
}

// PlannedRef reports whether v refers to an object the plan creates ({"$ref": key} in a body
// or a change), and the key of its create: views show it as the new object.
func PlannedRef(v any) (key string, ok bool) { return isRef(v) }

// DisplayValue is what people are shown for a value of a body or a change: a NetBox object
// by its display name (or name, address, value, id), a planned one as "(new) key", any other
// value as it is.
func DisplayValue(v any) any { return displayOf(v) }
