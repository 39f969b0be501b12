package inventory

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/netbox-agent/netbox-agent/sources"
)

// AdapterName is the adapter type of this package.
const AdapterName = "inventory"

// maxFileBytes bounds one inventory file (the whole-file formats read it into memory).
const maxFileBytes = 256 << 20

// Format names a file format.
type Format string

// Formats; FormatAuto detects by name and content.
const (
	FormatAuto        Format = ""
	FormatCSV         Format = "csv"
	FormatAnsibleINI  Format = "ansible-ini"
	FormatAnsibleYAML Format = "ansible-yaml"
	FormatAnsibleJSON Format = "ansible-json"
	FormatDnsmasq     Format = "dnsmasq"
	FormatKea         Format = "kea"
	FormatDhcpd       Format = "dhcpd"
	FormatHosts       Format = "hosts"
)

// Formats lists every format name accepted in config and by ReadFile.
var formats = []Format{FormatCSV, FormatAnsibleINI, FormatAnsibleYAML, FormatAnsibleJSON, FormatDnsmasq, FormatKea, FormatDhcpd, FormatHosts}

// Formats returns the accepted format names (for tool schemas).
func Formats() []Format { return slices.Clone(formats) }

// ParseFormat checks a format name; "" and "auto" mean detect.
func ParseFormat(s string) (Format, error) {
	f := Format(strings.ToLower(strings.TrimSpace(s)))
	switch f {
	case "", "auto":
		return FormatAuto, nil
	case "ini", "ansible":
		return FormatAnsibleINI, nil
	case "yaml", "yml":
		return FormatAnsibleYAML, nil
	case "json":
		return FormatAnsibleJSON, nil
	case "etc-hosts":
		return FormatHosts, nil
	case "isc-dhcpd", "dhcpd.leases":
		return FormatDhcpd, nil
	}
	if slices.Contains(formats, f) {
		return f, nil
	}
	return "", fmt.Errorf("%q is not a known format (%s)", s, joinFormats())
}

func joinFormats() string {
	s := make([]string, len(formats))
	for i, f := range formats {
		s[i] = string(f)
	}
	return strings.Join(s, ", ")
}

// FileSpec is one configured file or glob. In YAML a bare string is a path with format auto.
type FileSpec struct {
	Path   string `yaml:"path"`
	Format Format `yaml:"format"`
}

// UnmarshalYAML accepts "path" or {path, format}.
func (f *FileSpec) UnmarshalYAML(unmarshal func(any) error) error {
	var s string
	if err := unmarshal(&s); err == nil {
		*f = FileSpec{Path: s}
		return nil
	}
	type plain FileSpec
	var p plain
	if err := unmarshal(&p); err != nil {
		return err
	}
	*f = FileSpec(p)
	return nil
}

// Config configures one inventory instance.
type Config struct {
	// Name is the instance name; default "inventory".
	Name string `yaml:"name"`
	// Files are paths or globs ("/etc/ansible/inventory/*.yml"), each with an optional format.
	Files []FileSpec `yaml:"files"`
	// Watch re-runs discovery when a file changes (long-running mode); default false.
	Watch bool `yaml:"watch"`
	// Debounce is how long changes must settle before onChange runs; default 500ms.
	Debounce time.Duration `yaml:"debounce"`
	// ReadDirs are directories the read_inventory tool may read besides the configured files;
	// default none (only the configured files).
	ReadDirs []string `yaml:"read_dirs"`
}

// DefaultDebounce is the default quiet time before a change triggers discovery.
const DefaultDebounce = 500 * time.Millisecond

// SetDefaults fills the zero values.
func (c *Config) SetDefaults() {
	c.Name = cmp.Or(c.Name, AdapterName)
	c.Debounce = cmp.Or(c.Debounce, DefaultDebounce)
}

// Validate checks the config; each error starts with its field path.
func (c Config) Validate() []error {
	var errs []error
	if strings.TrimSpace(c.Name) == "" {
		errs = append(errs, errors.New("name: empty"))
	}
	if len(c.Files) == 0 {
		errs = append(errs, errors.New("files: none configured"))
	}
	for i, f := range c.Files {
		if strings.TrimSpace(f.Path) == "" {
			errs = append(errs, fmt.Errorf("files[%d].path: empty", i))
			continue
		}
		if _, err := filepath.Match(f.Path, ""); err != nil {
			errs = append(errs, fmt.Errorf("files[%d].path: %q is not a valid glob: %v", i, f.Path, err))
		}
		if _, err := ParseFormat(string(f.Format)); err != nil {
			errs = append(errs, fmt.Errorf("files[%d].format: %v", i, err))
		}
	}
	if c.Debounce < 0 {
		errs = append(errs, fmt.Errorf("debounce: %s is negative", c.Debounce))
	}
	for i, d := range c.ReadDirs {
		if !filepath.IsAbs(d) {
			errs = append(errs, fmt.Errorf("read_dirs[%d]: %q is not an absolute path", i, d))
		}
	}
	return errs
}

// Source is a configured inventory instance.
type Source struct {
	cfg Config
	log *slog.Logger
	now func() time.Time
}

// New checks cfg (after SetDefaults) and returns the source.
func New(cfg Config, logger *slog.Logger) (*Source, error) {
	if err := sources.Configure(&cfg); err != nil {
		return nil, fmt.Errorf("inventory %q: invalid config: %w", cfg.Name, err)
	}
	return &Source{cfg: cfg, log: sources.AdapterLogger(logger, cfg.Name, AdapterName), now: time.Now}, nil
}

// Name is the instance name.
func (s *Source) Name() string { return s.cfg.Name }

// Adapter is "inventory".
func (s *Source) Adapter() string { return AdapterName }

// EnumeratesMachines: records may describe one machine twice; they join like two sources' (sync/identity.go).
func (s *Source) EnumeratesMachines() bool { return false }

// Config returns the effective config.
func (s *Source) Config() Config { return s.cfg }

type matchedFile struct {
	path   string
	format Format
}

// files expands the configured globs; a pattern that matches nothing is a warning.
func (s *Source) files() ([]matchedFile, []sources.Warning) {
	var out []matchedFile
	var warns []sources.Warning
	seen := map[string]bool{}
	for _, spec := range s.cfg.Files {
		matches, err := filepath.Glob(spec.Path)
		if err != nil {
			warns = append(warns, sources.Warning{Item: spec.Path, Message: err.Error()})
			continue
		}
		if len(matches) == 0 {
			warns = append(warns, sources.Warning{Item: spec.Path, Message: "no such file"})
			continue
		}
		slices.Sort(matches)
		format, _ := ParseFormat(string(spec.Format))
		for _, m := range matches {
			if seen[m] {
				continue
			}
			if fi, err := os.Stat(m); err == nil && fi.IsDir() {
				continue
			}
			seen[m] = true
			out = append(out, matchedFile{path: m, format: format})
		}
	}
	return out, warns
}

// Discover reads every configured file. A file that cannot be read is a warning; when no
// file at all could be read the source failed (so nothing is orphaned on its account).
func (s *Source) Discover(ctx context.Context, progress sources.Progress) (sources.Result, error) {
	files, warns := s.files()
	res := sources.Result{Warnings: warns}
	read := 0
	ids := map[string]string{}
	for i, f := range files {
		if err := ctx.Err(); err != nil {
			return sources.Result{}, fmt.Errorf("inventory %q: %w", s.cfg.Name, err)
		}
		progress.Report(i, len(files), "reading "+f.path)
		r, err := s.readFile(ctx, f.path, f.format)
		if err != nil {
			res.Warnings = append(res.Warnings, sources.Warning{Item: f.path, Message: err.Error()})
			continue
		}
		read++
		res.Warnings = append(res.Warnings, r.Warnings...)
		for _, sk := range r.Skipped {
			res.Skip(sk.Reason, sk.Count)
		}
		for _, o := range r.Observations {
			if other, dup := ids[o.NativeID]; dup {
				res.AddWarnings(sources.Warning{Item: f.path, Message: fmt.Sprintf("host %s also defined in %s (same file name): skipped", o.NativeID, other),
					Reason: sources.ReasonDuplicate})
				continue
			}
			ids[o.NativeID] = f.path
			res.Observations = append(res.Observations, o)
		}
	}
	if read == 0 {
		msgs := make([]string, 0, len(res.Warnings))
		for _, w := range res.Warnings {
			msgs = append(msgs, w.Item+": "+w.Message)
		}
		return sources.Result{}, fmt.Errorf("inventory %q: no file could be read: %s", s.cfg.Name, strings.Join(msgs, "; "))
	}
	progress.Report(len(files), len(files), fmt.Sprintf("%d hosts from %d files", len(res.Observations), read))
	return res, nil
}

// Check verifies that every configured pattern matches a readable file.
func (s *Source) Check(ctx context.Context) error {
	files, warns := s.files()
	var errs []error
	for _, w := range warns {
		errs = append(errs, fmt.Errorf("%s: %s", w.Item, w.Message))
	}
	for _, f := range files {
		fh, err := os.Open(f.path)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		fh.Close()
	}
	if len(errs) > 0 {
		return fmt.Errorf("inventory %q: %w", s.cfg.Name, errors.Join(errs...))
	}
	return nil
}

// ReadFile reads one file for the read_inventory tool: path must be one of the configured
// files (or match their globs) or lie inside read_dirs, so the tool cannot read arbitrary
// files of the host. format "" detects.
func (s *Source) ReadFile(ctx context.Context, path string, format Format) (sources.Result, error) {
	f, err := ParseFormat(string(format))
	if err != nil {
		return sources.Result{}, fmt.Errorf("inventory %q: format: %w", s.cfg.Name, err)
	}
	if !s.readable(path) {
		return sources.Result{}, fmt.Errorf("inventory %q: %q is neither a configured file nor inside read_dirs", s.cfg.Name, path)
	}
	if f == FormatAuto {
		for _, spec := range s.cfg.Files {
			if ok, _ := filepath.Match(spec.Path, filepath.Clean(path)); ok && spec.Format != "" {
				f, _ = ParseFormat(string(spec.Format))
			}
		}
	}
	return s.readFile(ctx, path, f)
}

func (s *Source) readable(path string) bool {
	if !filepath.IsAbs(path) {
		return false
	}
	clean := filepath.Clean(path)
	for _, spec := range s.cfg.Files {
		if ok, _ := filepath.Match(filepath.Clean(spec.Path), clean); ok {
			return true
		}
	}
	real, err := filepath.EvalSymlinks(clean)
	if err != nil {
		return false
	}
	for _, d := range s.cfg.ReadDirs {
		rd, err := filepath.EvalSymlinks(filepath.Clean(d))
		if err != nil {
			continue
		}
		if rel, err := filepath.Rel(rd, real); err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
			return true
		}
	}
	return false
}

func (s *Source) readFile(ctx context.Context, path string, format Format) (sources.Result, error) {
	fh, err := os.Open(path)
	if err != nil {
		return sources.Result{}, err
	}
	defer fh.Close()
	fi, err := fh.Stat()
	if err != nil {
		return sources.Result{}, err
	}
	if fi.IsDir() {
		return sources.Result{}, fmt.Errorf("%s: is a directory", path)
	}
	if fi.Size() > maxFileBytes {
		return sources.Result{}, fmt.Errorf("%s: %d bytes, more than the %d an inventory file may have", path, fi.Size(), maxFileBytes)
	}
	res, err := Parse(ctx, fh, path, format, s.cfg.Name, s.now())
	if err != nil {
		return sources.Result{}, err
	}
	s.log.DebugContext(ctx, "inventory file read", "file", path, "hosts", len(res.Observations), "warnings", len(res.Warnings))
	return res, nil
}

// Parse reads one inventory from r. file names it in NativeIDs (its base name) and warnings;
// source is the instance name; now decides which leases have expired.
func Parse(ctx context.Context, r io.Reader, file string, format Format, source string, now time.Time) (sources.Result, error) {
	br := newPeekReader(r)
	if format == FormatAuto {
		format = Detect(file, br.peek())
	}
	var recs []*record
	var warns []sources.Warning
	var err error
	switch format {
	case FormatCSV:
		recs, warns, err = parseCSV(br, file)
	case FormatAnsibleINI:
		recs, warns, err = parseAnsibleINI(br, file)
	case FormatAnsibleYAML:
		recs, warns, err = parseAnsibleYAML(br, file)
	case FormatAnsibleJSON:
		recs, warns, err = parseAnsibleJSON(br, file)
	case FormatDnsmasq:
		recs, warns, err = parseDnsmasq(br, file, now)
	case FormatKea:
		recs, warns, err = parseKea(br, file, now)
	case FormatDhcpd:
		recs, warns, err = parseDhcpd(br, file, now)
	case FormatHosts:
		recs, warns, err = parseHosts(br, file)
	default:
		return sources.Result{}, fmt.Errorf("%s: cannot tell the format; set format to one of %s", file, joinFormats())
	}
	if err != nil {
		return sources.Result{}, err
	}
	if err := ctx.Err(); err != nil {
		return sources.Result{}, err
	}
	base := filepath.Base(file)
	seenAt := now.UTC()
	res := sources.Result{Observations: make([]sources.Observation, 0, len(recs))}
	for i := range warns {
		// Every parser ends the message with ": skipped" exactly when it drops the line or
		// record; the ones without another reason are malformed.
		if warns[i].Reason == "" && strings.HasSuffix(warns[i].Message, ": skipped") {
			warns[i].Reason = sources.ReasonMalformedRecord
		}
	}
	res.AddWarnings(warns...)
	handWritten := format == FormatCSV || format == FormatAnsibleINI || format == FormatAnsibleYAML || format == FormatAnsibleJSON
	for i := range recs {
		for _, n := range recs[i].notes {
			res.Warnings = append(res.Warnings, warnf(file, recs[i].line, "host %q: %s", recs[i].key, n))
		}
		// A row someone wrote with a serial, model, manufacturer, role or MAC describes
		// hardware: a machine under every sync.hosts setting, so that it is written with
		// those facts and matches the device a person made with that serial. Lease and hosts
		// files only sight addresses: their records stay hosts.
		if r := recs[i]; handWritten && r.kind == "" && (r.serial != "" || r.model != "" || r.manufacturer != "" || r.role != "" || len(r.macs) > 0) {
			r.kind = sources.KindDevice
		}
		res.Observations = append(res.Observations, recs[i].observation(source, base, seenAt))
	}
	return res, nil
}

// peekReader lets Detect look at the start of a file without consuming it.
type peekReader struct {
	head []byte
	r    io.Reader
}

func newPeekReader(r io.Reader) *peekReader {
	buf := make([]byte, 8192)
	n, _ := io.ReadFull(r, buf)
	return &peekReader{head: buf[:n], r: io.MultiReader(bytes.NewReader(buf[:n]), r)}
}

func (p *peekReader) peek() []byte               { return p.head }
func (p *peekReader) Read(b []byte) (int, error) { return p.r.Read(b) }

// Detect guesses a format from the file name and its first bytes.
func Detect(file string, head []byte) Format {
	base := strings.ToLower(filepath.Base(file))
	ext := filepath.Ext(base)
	first := firstLine(head)
	switch {
	case strings.Contains(base, "dnsmasq") && strings.Contains(base, "lease"):
		return FormatDnsmasq
	case strings.Contains(base, "dhcpd") && strings.Contains(base, "lease"):
		return FormatDhcpd
	case strings.HasPrefix(base, "kea-leases"):
		return FormatKea
	case base == "hosts" && looksLikeHosts(first):
		return FormatHosts
	case ext == ".csv" || ext == ".tsv":
		if strings.HasPrefix(first, "address,") && (strings.Contains(first, "valid_lifetime") || strings.Contains(first, "expire")) {
			return FormatKea
		}
		return FormatCSV
	case ext == ".json":
		return FormatAnsibleJSON
	case ext == ".yml" || ext == ".yaml":
		return FormatAnsibleYAML
	case ext == ".ini":
		return FormatAnsibleINI
	case ext == ".leases" || ext == ".lease":
		if strings.HasPrefix(first, "lease ") || bytes.Contains(head, []byte("\nlease ")) || strings.HasPrefix(first, "authoring-byte-order") || strings.HasPrefix(first, "server-duid") {
			return FormatDhcpd
		}
		return FormatDnsmasq
	}
	// By content.
	switch {
	case first == "":
		return FormatAuto
	case strings.HasPrefix(first, "{"):
		return FormatAnsibleJSON
	case strings.HasPrefix(first, "["):
		return FormatAnsibleINI
	case strings.HasPrefix(first, "lease ") || strings.HasPrefix(first, "authoring-byte-order") || strings.HasPrefix(first, "server-duid"):
		return FormatDhcpd
	case strings.HasPrefix(first, "address,"):
		return FormatKea
	case strings.HasPrefix(first, "all:") || strings.HasPrefix(first, "---"):
		return FormatAnsibleYAML
	case looksLikeDnsmasq(first):
		return FormatDnsmasq
	case looksLikeHosts(first):
		return FormatHosts
	case strings.Count(first, ",") >= 1 || strings.Count(first, ";") >= 1:
		return FormatCSV
	case bytes.Contains(head, []byte("ansible_host=")):
		return FormatAnsibleINI
	}
	return FormatAuto
}

// firstLine is the first line that is neither blank nor a comment.
func firstLine(head []byte) string {
	for _, l := range strings.Split(string(head), "\n") {
		l = strings.TrimSpace(strings.TrimPrefix(l, "\ufeff"))
		if l != "" && !strings.HasPrefix(l, "#") && !strings.HasPrefix(l, ";") {
			return l
		}
	}
	return ""
}

func looksLikeHosts(line string) bool {
	f := strings.Fields(line)
	if len(f) < 2 {
		return false
	}
	_, err := sources.ParseIP(f[0])
	return err == nil
}

func looksLikeDnsmasq(line string) bool {
	f := strings.Fields(line)
	if len(f) == 2 && f[0] == "duid" {
		return true
	}
	if len(f) < 4 {
		return false
	}
	for _, c := range f[0] {
		if c < '0' || c > '9' {
			return false
		}
	}
	_, err := sources.ParseIP(f[2])
	return err == nil
}
