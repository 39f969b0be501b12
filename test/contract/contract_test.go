// Package contract holds the differential contract suite: one table of NetBox behaviours
// (behaviours_test.go), each a short script of REST requests with what to observe in the
// answers, run against the simulator (netbox/netboxtest) and against a real NetBox, and
// compared after normalising what legitimately differs (ids, timestamps, URLs, message
// wording).
//
// Three ways to run it:
//
//   - `go test ./test/contract/` (in `make test`): every behaviour runs on netboxtest and is
//     compared with the answers recorded from real NetBox in testdata/netbox-<version>.json
//     (Profile43 against 4.3.7, Profile47 against 4.6.8);
//   - with NETBOX_TEST_URL and NETBOX_TEST_TOKEN (and NETBOX_TEST_RESET, a shell command that
//     empties the database): every behaviour runs on the real NetBox and on netboxtest and the
//     two are compared live. The reset runs once at the start; after each behaviour the suite
//     deletes what it created (newest first) and runs the reset again only when that fails
//     (a reset costs 1-4 s on the shared machine; 360 resets would take longer than the
//     behaviours). Without NETBOX_TEST_RESET the NetBox must be empty to start with;
//   - the same with CONTRACT_RECORD=1 rewrites testdata/netbox-<version>.json from the real
//     NetBox (review the diff before committing).
//
// Every difference fails, except those listed in deviations.txt with a reason each; a listed
// deviation that no longer differs fails too, so the file cannot rot.
//
// The suite imports only netboxtest and the standard library: it tests the simulator against
// NetBox, not the agent's reading of NetBox.
//
// Room: a test suite (see docs/architecture.md). It has no code outside its tests, which may
// import any package; nothing imports it.
package contract

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/netbox-agent/netbox-agent/netbox/netboxtest"
)

// step is one request of a behaviour.
type step struct {
	method, path string
	body         string   // JSON with {name} placeholders for saved ids
	save         string   // save the answer's id (or ids of a list answer as name.0, name.1...)
	obs          []string // projections of the answer to compare (see project)
	noStatus     bool     // do not compare the status (setup whose outcome is not the point)
	raw          string   // a body sent as is (not JSON), instead of body
	auth         string   // an Authorization header instead of the target's
	noAuth       bool     // no Authorization header
}

// behaviour is one entry of the table.
type behaviour struct {
	name  string // unique, stable: deviations.txt and the recordings refer to it
	why   string // what NetBox does, and where in its code
	steps []step
}

// target is a NetBox answering HTTP.
type target struct {
	name   string
	url    string
	auth   string
	reset  func() error
	client *http.Client
}

// observation is what one step showed, after normalisation.
type observation struct {
	Status int            `json:"status"`
	Obs    map[string]any `json:"obs,omitempty"`
}

var placeholder = regexp.MustCompile(`\{([a-z][a-z0-9_]*(?:\.[0-9]+)?)\}`)

func (tg *target) do(method, path string, body string) (int, any, http.Header, error) {
	return tg.doAuth(method, path, body, tg.auth)
}

func (tg *target) doAuth(method, path, body, auth string) (int, any, http.Header, error) {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, tg.url+path, rd)
	if err != nil {
		return 0, nil, nil, err
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	req.Header.Set("Accept", "application/json")
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := tg.client.Do(req)
	if err != nil {
		return 0, nil, nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, nil, nil, fmt.Errorf("%s %s: read body: %w", method, path, err)
	}
	var v any
	if len(bytes.TrimSpace(raw)) > 0 && strings.Contains(resp.Header.Get("Content-Type"), "json") {
		if err := json.Unmarshal(raw, &v); err != nil {
			return 0, nil, nil, fmt.Errorf("%s %s: %d, body is not JSON: %.200s", method, path, resp.StatusCode, raw)
		}
	}
	return resp.StatusCode, v, resp.Header, nil
}

// run executes b against tg and returns one observation per step, and the objects it
// created (paths, in creation order) so a real NetBox can be emptied again by deleting them.
func (tg *target) run(b behaviour) ([]observation, []string, error) {
	obs, created, err := tg.runSteps(b)
	return obs, created, err
}

// cleanup deletes what a behaviour created, newest first (so PROTECT never bites), and
// reports whether NetBox is empty again: every DELETE answered 204, or 404 for an object a
// cascade already removed. It is much cheaper than NETBOX_TEST_RESET on a loaded machine
// (a reset takes 1-4 s); the reset runs when the cleanup could not finish.
func (tg *target) cleanup(created []string) bool {
	ok := true
	for i := len(created) - 1; i >= 0; i-- {
		st, _, _, err := tg.do("DELETE", created[i], "")
		if err != nil || (st != http.StatusNoContent && st != http.StatusNotFound) {
			ok = false
		}
	}
	return ok
}

func (tg *target) runSteps(b behaviour) ([]observation, []string, error) {
	ids := map[string]string{}
	var created []string
	noteCreated := func(path string, m map[string]any) {
		if id, ok := m["id"].(float64); ok {
			base, _, _ := strings.Cut(path, "?")
			if i := strings.Index(base[len("/api/"):], "/"); i >= 0 {
				// the list path: /api/<app>/<model>/
				rest := base[len("/api/")+i+1:]
				if j := strings.Index(rest, "/"); j >= 0 {
					base = base[:len("/api/")+i+1+j+1]
				}
			}
			created = append(created, base+strconv.Itoa(int(id))+"/")
		}
	}
	subst := func(s string) (string, error) {
		var missing string
		out := placeholder.ReplaceAllStringFunc(s, func(m string) string {
			k := m[1 : len(m)-1]
			v, ok := ids[k]
			if !ok {
				missing = k
				return "0"
			}
			return v
		})
		if missing != "" {
			return out, fmt.Errorf("placeholder {%s} was never saved (an earlier step failed?)", missing)
		}
		return out, nil
	}
	var out []observation
	for i, st := range b.steps {
		path, err := subst(st.path)
		if err != nil {
			return out, created, fmt.Errorf("step %d: %w", i+1, err)
		}
		body, err := subst(st.body)
		if err != nil {
			return out, created, fmt.Errorf("step %d: %w", i+1, err)
		}
		auth := tg.auth
		switch {
		case st.noAuth:
			auth = ""
		case st.auth != "":
			auth = st.auth
		}
		if st.raw != "" {
			body = st.raw
		}
		status, v, hdr, err := tg.doAuth(st.method, path, body, auth)
		if err != nil {
			return out, created, fmt.Errorf("step %d: %w", i+1, err)
		}
		if st.method == "POST" && status == http.StatusCreated {
			switch x := v.(type) {
			case map[string]any:
				noteCreated(path, x)
			case []any:
				for _, e := range x {
					if m, ok := e.(map[string]any); ok {
						noteCreated(path, m)
					}
				}
			}
		}
		if st.save != "" {
			switch x := v.(type) {
			case map[string]any:
				if id, ok := x["id"].(float64); ok {
					ids[st.save] = strconv.Itoa(int(id))
				}
			case []any:
				for j, e := range x {
					if m, ok := e.(map[string]any); ok {
						if id, ok := m["id"].(float64); ok {
							ids[st.save+"."+strconv.Itoa(j)] = strconv.Itoa(int(id))
						}
					}
				}
			}
		}
		o := observation{Status: status}
		if st.noStatus {
			o.Status = 0
		}
		rev := map[string]string{}
		for k, v := range ids {
			rev[v] = k
		}
		projs := st.obs
		if status >= 400 && len(projs) == 0 && !st.noStatus {
			projs = []string{"@errkeys"}
		}
		for _, p := range projs {
			if o.Obs == nil {
				o.Obs = map[string]any{}
			}
			o.Obs[p] = project(p, v, hdr)
		}
		out = append(out, o)
	}
	return out, created, nil
}

// project extracts what a behaviour compares from an answer:
//
//	a.b.c      the value at that path (list indexes as numbers; * maps over a list)
//	@errkeys   the sorted key paths of an error body ("name", "0.name", "__all__"): which
//	           fields NetBox blamed, not its wording (DRF versions word messages differently)
//	@errtext   the error messages, lower-cased, quotes dropped, sorted
//	@len       the length of a list body
//	@keys      the sorted keys of an object body
//	@header:X  a response header
//	P@keys     the sorted keys of the object at path P
//	P@len      the length of the list at path P
//	P@sorted   the list at path P, sorted (when order is not part of the contract)
//
// Values are normalised: timestamps become "<time>", URLs lose scheme and host, and objects
// lose id, url, display_url, created and last_updated.
func project(p string, v any, hdr http.Header) any {
	switch {
	case p == "@errkeys":
		var keys []string
		errKeys("", v, &keys)
		sort.Strings(keys)
		return keys
	case p == "@errtext":
		var msgs []string
		errTexts(v, &msgs)
		sort.Strings(msgs)
		return msgs
	case strings.HasPrefix(p, "@header:"):
		return hdr.Get(strings.TrimPrefix(p, "@header:"))
	}
	path, op, _ := strings.Cut(p, "@")
	x := at(v, path)
	switch op {
	case "keys":
		m, _ := x.(map[string]any)
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		return keys
	case "len":
		l, _ := x.([]any)
		return len(l)
	case "sorted":
		l, _ := x.([]any)
		n := normalise(l).([]any)
		sort.Slice(n, func(i, j int) bool { return fmt.Sprint(n[i]) < fmt.Sprint(n[j]) })
		return n
	}
	return normalise(x)
}

func at(v any, path string) any {
	if path == "" {
		return v
	}
	head, rest, _ := strings.Cut(path, ".")
	switch x := v.(type) {
	case map[string]any:
		c, ok := x[head]
		if !ok {
			return "<absent>"
		}
		return at(c, rest)
	case []any:
		if head == "*" {
			out := make([]any, len(x))
			for i, e := range x {
				out[i] = at(e, rest)
			}
			return out
		}
		i, err := strconv.Atoi(head)
		if err != nil || i < 0 || i >= len(x) {
			return "<absent>"
		}
		return at(x[i], rest)
	}
	return "<absent>"
}

var timeRe = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d`)

func normalise(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, e := range x {
			switch k {
			case "id", "url", "display_url", "created", "last_updated":
				continue
			}
			out[k] = normalise(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = normalise(e)
		}
		return out
	case string:
		if timeRe.MatchString(x) {
			return "<time>"
		}
		if strings.HasPrefix(x, "http://") || strings.HasPrefix(x, "https://") {
			if i := strings.Index(x[8:], "/"); i >= 0 {
				return x[8+i:]
			}
		}
		return x
	}
	return v
}

func errKeys(prefix string, v any, out *[]string) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			p := k
			if prefix != "" {
				p = prefix + "." + k
			}
			// Field errors are lists of strings; a nested dict (custom_fields, a nested
			// reference) names its own keys.
			if m, ok := e.(map[string]any); ok && len(m) > 0 {
				errKeys(p, m, out)
				continue
			}
			*out = append(*out, p)
		}
	case []any:
		for i, e := range x {
			p := strconv.Itoa(i)
			if prefix != "" {
				p = prefix + "." + p
			}
			if m, ok := e.(map[string]any); ok && len(m) == 0 {
				continue // an object of a failed batch that was itself fine
			}
			if _, ok := e.(string); ok {
				*out = append(*out, p)
				continue
			}
			errKeys(p, e, out)
		}
	}
}

var quoteRe = regexp.MustCompile("[\"'“”`]")

func errTexts(v any, out *[]string) {
	switch x := v.(type) {
	case map[string]any:
		for _, e := range x {
			errTexts(e, out)
		}
	case []any:
		for _, e := range x {
			errTexts(e, out)
		}
	case string:
		*out = append(*out, strings.ToLower(quoteRe.ReplaceAllString(x, "")))
	}
}

// deviation is one accepted difference.
type deviation struct {
	behaviour, version, reason string
	line                       int
}

func readDeviations(t *testing.T) map[string]deviation {
	t.Helper()
	f, err := os.Open("deviations.txt")
	if err != nil {
		t.Fatalf("deviations: %v", err)
	}
	defer f.Close()
	out := map[string]deviation{}
	sc := bufio.NewScanner(f)
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.SplitN(line, " ", 3)
		if len(fields) < 3 || strings.TrimSpace(fields[2]) == "" {
			t.Fatalf("deviations.txt:%d: want \"<behaviour> <version|*> <reason>\", got %q", n, line)
		}
		d := deviation{behaviour: fields[0], version: fields[1], reason: strings.TrimSpace(fields[2]), line: n}
		key := d.behaviour + " " + d.version
		if _, dup := out[key]; dup {
			t.Fatalf("deviations.txt:%d: %s for %s listed twice", n, d.behaviour, d.version)
		}
		out[key] = d
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("deviations.txt: %v", err)
	}
	return out
}

// recording is the committed answers of one real NetBox version.
type recording struct {
	NetBox     string                   `json:"netbox"`
	Recorded   string                   `json:"recorded"`
	Behaviours map[string][]observation `json:"behaviours"`
}

func recordingPath(version string) string {
	return filepath.Join("testdata", "netbox-"+version+".json")
}

// profileFor maps a real NetBox version to the simulator profile that stands for it.
func profileFor(version string) netboxtest.Profile {
	if strings.HasPrefix(version, "4.3.") {
		return netboxtest.Profile43
	}
	return netboxtest.Profile47
}

func realVersion(t *testing.T, tg *target) string {
	t.Helper()
	st, v, _, err := tg.do("GET", "/api/status/", "")
	if err != nil || st != 200 {
		t.Fatalf("real NetBox at %s: status %d: %v", tg.url, st, err)
	}
	m, _ := v.(map[string]any)
	ver, _ := m["netbox-version"].(string)
	if i := strings.IndexAny(ver, "-+ "); i >= 0 {
		ver = ver[:i]
	}
	if ver == "" {
		t.Fatalf("real NetBox at %s: no netbox-version in /api/status/", tg.url)
	}
	return ver
}

func authHeader(tok string) string {
	if strings.HasPrefix(tok, "nbt_") {
		return "Bearer " + tok
	}
	return "Token " + tok
}

func simTarget(t *testing.T, p netboxtest.Profile) *target {
	t.Helper()
	// No response validation against go-netbox's OpenAPI spec here: this suite compares with
	// NetBox itself, which answers some things the spec forbids (a nested IP's family as a
	// {value, label} choice); the simulator's own tests keep that check.
	srv := netboxtest.NewTestServer(t, netboxtest.WithProfile(p), netboxtest.WithResponseValidation(false))
	return &target{name: "netboxtest/" + p.NetBoxVersion(), url: srv.URL, auth: srv.AuthHeader(),
		client: &http.Client{Timeout: 30 * time.Second, CheckRedirect: noRedirect}}
}

// noRedirect keeps redirects visible: NetBox answers /api/status (no slash) with a 301.
func noRedirect(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

func TestBehavioursAreWellFormed(t *testing.T) {
	seen := map[string]bool{}
	for _, b := range behaviours() {
		if seen[b.name] {
			t.Errorf("behaviour %q listed twice", b.name)
		}
		seen[b.name] = true
		if b.why == "" || len(b.steps) == 0 {
			t.Errorf("behaviour %q: needs a reason and at least one step", b.name)
		}
		for i, st := range b.steps {
			if st.body != "" && !json.Valid([]byte(placeholder.ReplaceAllString(st.body, "1"))) {
				t.Errorf("behaviour %q step %d: body is not JSON: %s", b.name, i+1, st.body)
			}
		}
	}
	if n := len(seen); n < 150 {
		t.Errorf("the table has %d behaviours; the contract asks for at least 150", n)
	}
	for key, d := range readDeviations(t) {
		if !seen[d.behaviour] && !strings.HasPrefix(d.behaviour, "field:") {
			t.Errorf("deviations.txt:%d: %q is no behaviour of the table", d.line, key)
		}
	}
}

// TestContract compares netboxtest with real NetBox: live when NETBOX_TEST_URL is set, else
// with the recordings.
func TestContract(t *testing.T) {
	devs := readDeviations(t)
	table := behaviours()
	// CONTRACT_ONLY (a regular expression of behaviour names) runs some behaviours live and,
	// with CONTRACT_RECORD=1, records them into the existing recording.
	only := os.Getenv("CONTRACT_ONLY")
	if only != "" && os.Getenv("NETBOX_TEST_URL") != "" {
		re, err := regexp.Compile(only)
		if err != nil {
			t.Fatalf("CONTRACT_ONLY: %v", err)
		}
		table = slices.DeleteFunc(table, func(b behaviour) bool { return !re.MatchString(b.name) })
	}
	if url := os.Getenv("NETBOX_TEST_URL"); url != "" {
		tok := os.Getenv("NETBOX_TEST_TOKEN")
		if tok == "" {
			t.Fatal("NETBOX_TEST_URL is set but NETBOX_TEST_TOKEN is not")
		}
		real := &target{name: "real", url: strings.TrimRight(url, "/"), auth: authHeader(tok),
			client: &http.Client{Timeout: 60 * time.Second, CheckRedirect: noRedirect}}
		if cmd := os.Getenv("NETBOX_TEST_RESET"); cmd != "" {
			real.reset = func() error {
				out, err := exec.Command("sh", "-c", cmd).CombinedOutput()
				if err != nil {
					return fmt.Errorf("NETBOX_TEST_RESET: %w: %s", err, out)
				}
				return nil
			}
		}
		ver := realVersion(t, real)
		real.name = "netbox/" + ver
		rec := recording{NetBox: ver, Recorded: time.Now().UTC().Format(time.RFC3339), Behaviours: map[string][]observation{}}
		// Without NETBOX_TEST_RESET the NetBox must be empty to start with, and the suite
		// relies on deleting what each behaviour created.
		resets := 0
		if real.reset != nil {
			if err := real.reset(); err != nil {
				t.Fatal(err)
			}
			resets++
		}
		for _, b := range table {
			got, created, err := real.run(b)
			if err != nil {
				t.Errorf("%s on %s: %v", b.name, real.name, err)
			}
			rec.Behaviours[b.name] = got
			if !real.cleanup(created) {
				if real.reset == nil {
					t.Fatalf("%s on %s: could not delete what the behaviour created, and NETBOX_TEST_RESET is not set", b.name, real.name)
				}
				resets++
				if err := real.reset(); err != nil {
					t.Fatal(err)
				}
			}
		}
		t.Logf("%s: %d behaviours, %d resets", real.name, len(table), resets)
		if os.Getenv("CONTRACT_RECORD") == "1" {
			if only != "" { // keep the recording's other behaviours
				var old recording
				if raw, err := os.ReadFile(recordingPath(ver)); err == nil && json.Unmarshal(raw, &old) == nil {
					for name, obs := range rec.Behaviours {
						old.Behaviours[name] = obs
					}
					old.Recorded = rec.Recorded
					rec = old
					// behaviours no longer in the table leave the recording
					known := map[string]bool{}
					for _, b := range behaviours() {
						known[b.name] = true
					}
					for name := range rec.Behaviours {
						if !known[name] {
							delete(rec.Behaviours, name)
						}
					}
				}
			}
			raw, err := json.MarshalIndent(rec, "", " ")
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(recordingPath(ver), append(raw, '\n'), 0o644); err != nil {
				t.Fatal(err)
			}
			t.Logf("recorded %d behaviours of NetBox %s in %s", len(rec.Behaviours), ver, recordingPath(ver))
		}
		compareAll(t, table, devs, ver, rec)
		return
	}
	for _, ver := range []string{"4.3.7", "4.6.8"} {
		t.Run(ver, func(t *testing.T) {
			raw, err := os.ReadFile(recordingPath(ver))
			if err != nil {
				t.Fatalf("no recording of NetBox %s: %v (record it: CONTRACT_RECORD=1 with NETBOX_TEST_URL)", ver, err)
			}
			var rec recording
			if err := json.Unmarshal(raw, &rec); err != nil {
				t.Fatalf("%s: %v", recordingPath(ver), err)
			}
			compareAll(t, table, devs, ver, rec)
		})
	}
}

func compareAll(t *testing.T, table []behaviour, devs map[string]deviation, ver string, rec recording) {
	t.Helper()
	p := profileFor(ver)
	differ, same := 0, 0
	for _, b := range table {
		want, ok := rec.Behaviours[b.name]
		if !ok {
			t.Errorf("%s: not recorded from NetBox %s (record again)", b.name, ver)
			continue
		}
		sim := simTarget(t, p)
		got, _, err := sim.run(b)
		diff := ""
		if err != nil {
			diff = err.Error()
		} else {
			diff = compare(want, got, ignoredFields(devs, ver))
		}
		dev, listed := devs[b.name+" "+ver]
		if !listed {
			dev, listed = devs[b.name+" *"]
		}
		switch {
		case diff != "" && !listed:
			differ++
			t.Errorf("%s (%s): netboxtest (%s) differs from NetBox %s:\n%s", b.name, b.why, p, ver, diff)
		case diff == "" && listed:
			t.Errorf("deviations.txt:%d: %s no longer differs on %s: remove the line", dev.line, b.name, ver)
		case diff != "":
			t.Logf("%s: accepted deviation (deviations.txt:%d: %s)", b.name, dev.line, dev.reason)
		default:
			same++
		}
	}
	t.Logf("NetBox %s vs netboxtest %s: %d behaviours, %d agree, %d differ outside deviations.txt", ver, p, len(table), same, differ)
}

// ignoredFields are the fields deviations.txt lists as "field:<name> <version> <reason>":
// left out of every field-set comparison (@keys) for that version.
func ignoredFields(devs map[string]deviation, ver string) []string {
	var out []string
	for _, d := range devs {
		if f, ok := strings.CutPrefix(d.behaviour, "field:"); ok && (d.version == ver || d.version == "*") {
			out = append(out, f)
		}
	}
	return out
}

func compare(want, got []observation, ignored []string) string {
	var b strings.Builder
	for i := range max(len(want), len(got)) {
		if i >= len(want) || i >= len(got) {
			fmt.Fprintf(&b, "  step %d: ran on one side only (real %d steps, sim %d)\n", i+1, len(want), len(got))
			break
		}
		w, g := want[i], got[i]
		if w.Status != g.Status {
			fmt.Fprintf(&b, "  step %d: status: real %d, sim %d\n", i+1, w.Status, g.Status)
		}
		keys := map[string]bool{}
		for k := range w.Obs {
			keys[k] = true
		}
		for k := range g.Obs {
			keys[k] = true
		}
		ks := make([]string, 0, len(keys))
		for k := range keys {
			ks = append(ks, k)
		}
		slices.Sort(ks)
		for _, k := range ks {
			wj, _ := json.Marshal(w.Obs[k])
			gj, _ := json.Marshal(g.Obs[k])
			if bytes.Equal(wj, gj) {
				continue
			}
			if strings.HasSuffix(k, "@keys") {
				// Field sets are long: say which fields one side lacks.
				var ws, gs []string
				_ = json.Unmarshal(wj, &ws)
				_ = json.Unmarshal(gj, &gs)
				ws, gs = minus(ws, ignored), minus(gs, ignored)
				if slices.Equal(ws, gs) {
					continue
				}
				fmt.Fprintf(&b, "  step %d: %s: only real has %v, only sim has %v\n", i+1, k, minus(ws, gs), minus(gs, ws))
				continue
			}
			fmt.Fprintf(&b, "  step %d: %s: real %s, sim %s\n", i+1, k, trunc(wj), trunc(gj))
		}
	}
	return b.String()
}

func trunc(b []byte) string {
	if len(b) > 400 {
		return string(b[:400]) + "..."
	}
	return string(b)
}

func minus(a, b []string) []string {
	var out []string
	for _, x := range a {
		if !slices.Contains(b, x) {
			out = append(out, x)
		}
	}
	return out
}
