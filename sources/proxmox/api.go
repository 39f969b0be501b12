package proxmox

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"reflect"
	"strconv"
	"strings"

	pve "github.com/luthermonson/go-proxmox"

	"github.com/netbox-agent/netbox-agent/internal/tlsconfig"
)

// Why raw Client.Get with our own types instead of go-proxmox's typed calls (v0.8.2):
//   - ClusterResource.VMID is uint64: one `"vmid": "100"` fails the whole /cluster/resources list.
//   - Cluster.UnmarshalJSON (/cluster/status) type-asserts every field and panics on a
//     string where it expects a number.
//   - ContainerConfig.Memory is *int: `"memory": "2048"` fails the LXC config.
//   - Node (node status) has int and uint64 fields: `"cpus": "16"` fails the whole status.
//   - AgentNetworkIPAddress.Prefix is int: `"prefix": "24"` fails every agent interface.
//   - ContainerInterface lacks ip-addresses, which PVE 9 answers and its schema requires
//     while inet and inet6 are optional.
//   - VirtualMachine.Template (IsTemplate) treats any value but "" as a template, so 0 is one.
//   - handleResponse drops the status code and body of errors: a 500 becomes the bare status
//     text, and a 595 from an offline node is decoded as if it were data. statusTransport
//     below turns every non-2xx answer into a statusError carrying code and PVE's message.
// Only the library's Version (all strings) is still used. The proxmox tests vary every field
// the adapter reads as PVE's published schema allows (TestSchemaVariants).

// statusError is a non-2xx answer from the API.
type statusError struct {
	Code    int
	Message string // PVE's "message", or the status text
}

func (e *statusError) Error() string {
	if e.Message == "" {
		return fmt.Sprintf("HTTP %d", e.Code)
	}
	return fmt.Sprintf("HTTP %d: %s", e.Code, e.Message)
}

// statusTransport makes every non-2xx answer an error before go-proxmox sees it (the library
// keeps only the status text of a 500 and silently decodes a 595).
type statusTransport struct{ base http.RoundTripper }

func (t statusTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return resp, nil
	}
	defer func() { _ = resp.Body.Close() }()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 8<<10))
	return nil, &statusError{Code: resp.StatusCode, Message: errorMessage(resp, body)}
}

func errorMessage(resp *http.Response, body []byte) string {
	var e struct {
		Message string            `json:"message"`
		Errors  map[string]string `json:"errors"`
	}
	if json.Unmarshal(body, &e) == nil {
		msg := strings.TrimSpace(e.Message)
		for k, v := range e.Errors {
			msg = strings.TrimSpace(msg + " " + k + ": " + strings.TrimSpace(v))
		}
		if msg != "" {
			return msg
		}
	}
	switch resp.StatusCode {
	case 595, 596:
		return "node unreachable through the cluster (pveproxy could not connect to it)"
	}
	// PVE puts its reason in the status line ("403 Permission check failed").
	if _, reason, ok := strings.Cut(resp.Status, " "); ok && !strings.HasPrefix(reason, "status code") {
		return reason
	}
	return http.StatusText(resp.StatusCode)
}

// newAPIClient builds the go-proxmox client with our transport.
func newAPIClient(cfg Config, base string, logger *slog.Logger) (*pve.Client, error) {
	tr, err := newTransport(cfg, logger)
	if err != nil {
		return nil, err
	}
	hc := &http.Client{Transport: statusTransport{base: tr}}
	return pve.NewClient(base,
		pve.WithHTTPClient(hc),
		pve.WithTimeout(cfg.Timeout),
		// The one place the secret is revealed: it goes into the Authorization header.
		pve.WithAPIToken(cfg.TokenID, cfg.TokenSecret.Reveal()),
		pve.WithUserAgent("netbox-agent"),
		// The library's default logger writes to stdout, which carries MCP in stdio mode.
		pve.WithLogger(libLogger{log: logger}),
	), nil
}

// newTransport is the HTTP transport to the cluster. TLS is configured here rather than with
// the library's WithRootCAFile, which only logs an unreadable CA file.
func newTransport(cfg Config, logger *slog.Logger) (*http.Transport, error) {
	tr, err := tlsconfig.Transport(cfg.Settings, logger, fmt.Sprintf("proxmox source %q", cfg.Name))
	if err != nil {
		return nil, err
	}
	tr.MaxIdleConnsPerHost = cfg.Concurrency
	tr.MaxConnsPerHost = cfg.Concurrency * 2
	return tr, nil
}

// libLogger routes go-proxmox's log lines to slog: errors and warnings as warnings; its debug
// lines (whole response bodies) and info are dropped.
type libLogger struct{ log *slog.Logger }

func (l libLogger) Errorf(format string, v ...any) {
	l.log.Warn("go-proxmox: " + fmt.Sprintf(format, v...))
}
func (l libLogger) Warnf(format string, v ...any) {
	l.log.Warn("go-proxmox: " + fmt.Sprintf(format, v...))
}
func (l libLogger) Infof(string, ...any)  {}
func (l libLogger) Debugf(string, ...any) {}

// RequestError is a failed API request: it names the source, the API URL and the path, and
// adds a hint for the common causes. It never contains the token secret.
type RequestError struct {
	Source string // instance name
	URL    string // API base URL
	Path   string // request path below the base
	Err    error
	msg    string
}

func (e *RequestError) Error() string { return e.msg }
func (e *RequestError) Unwrap() error { return e.Err }

// StatusCode returns the HTTP status of a failed request, or 0 when there was no answer.
func StatusCode(err error) int {
	var se *statusError
	if errors.As(err, &se) {
		return se.Code
	}
	return 0
}

// get fetches path into v and wraps any failure in a RequestError.
func (s *Source) get(ctx context.Context, path string, v any) error {
	var raw json.RawMessage
	if err := s.client.Get(ctx, path, &raw); err != nil {
		return s.requestError(path, err)
	}
	// Every GET the adapter makes answers with a value ([] for an empty list). A null or
	// missing "data" is a broken answer, not "nothing there": taken as empty it would make
	// every guest, interface or disk behind it look removed.
	if t := bytes.TrimSpace(raw); len(t) == 0 || bytes.Equal(t, []byte("null")) {
		return s.requestError(path, errNoData)
	}
	if err := decodeData(raw, v); err != nil {
		return s.requestError(path, err)
	}
	return nil
}

// decodeData decodes an answer's data into v; a list is decoded element by element so that a
// bad value is named by its index as well as its field ("data[3].vmid").
func decodeData(raw json.RawMessage, v any) error {
	rv := reflect.ValueOf(v).Elem()
	if rv.Kind() != reflect.Slice {
		return fieldError("data", json.Unmarshal(raw, v))
	}
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		return fieldError("data", err)
	}
	out := reflect.MakeSlice(rv.Type(), len(items), len(items))
	for i, item := range items {
		if err := json.Unmarshal(item, out.Index(i).Addr().Interface()); err != nil {
			return fieldError(fmt.Sprintf("data[%d]", i), err)
		}
	}
	rv.Set(out)
	return nil
}

// valueError is a value of the answer that is not what the field holds: it names the field
// path and the value.
type valueError struct {
	Path  string // "data[3].vmid"
	Value string // the JSON text, or its kind when encoding/json does not give it
	Want  string
}

func (e *valueError) Error() string {
	return fmt.Sprintf("%s: %s is not %s", e.Path, e.Value, e.Want)
}

// fieldError turns encoding/json's type errors (ours carry the value, see badValue) into a
// valueError naming the path below prefix; other errors pass unchanged.
func fieldError(prefix string, err error) error {
	var te *json.UnmarshalTypeError
	if err == nil || !errors.As(err, &te) {
		return err
	}
	path := prefix
	if te.Field != "" {
		path += "." + te.Field
	}
	want := "a " + te.Type.String()
	switch te.Type {
	case reflect.TypeFor[flexInt]():
		want = "an integer"
	case reflect.TypeFor[flexFloat]():
		want = "a number"
	case reflect.TypeFor[flexBool]():
		want = "a boolean (0 or 1)"
	case reflect.TypeFor[flexString](), reflect.TypeFor[string]():
		want = "a string"
	}
	return &valueError{Path: path, Value: te.Value, Want: want}
}

// badValue is the error our flexible types return: encoding/json adds the field path to it.
func badValue(b []byte, t reflect.Type) error {
	v := strings.TrimSpace(string(b))
	if len(v) > 64 {
		v = v[:64] + "..."
	}
	return &json.UnmarshalTypeError{Value: v, Type: t}
}

var errNoData = errors.New(`the answer's "data" is null or missing`)

func (s *Source) requestError(path string, err error) error {
	cause := err
	var ue *url.Error
	if errors.As(err, &ue) {
		// The URL is named once, by us.
		cause = ue.Err
	}
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	var val *valueError
	detail := cause.Error()
	switch {
	case errors.As(err, &val):
		detail = "unexpected value in the answer: " + detail
	case errors.As(err, &syn), errors.As(err, &typ), errors.Is(err, io.ErrUnexpectedEOF),
		strings.Contains(detail, "unexpected end of JSON input"):
		detail = "malformed JSON in the answer: " + detail
	}
	hint := errorHint(err)
	msg := fmt.Sprintf("proxmox source %q at %s: GET %s: %s", s.cfg.Name, s.base, path, detail)
	if hint != "" {
		msg += " (" + hint + ")"
	}
	return &RequestError{Source: s.cfg.Name, URL: s.base, Path: path, Err: err, msg: s.scrub.Scrub(msg)}
}

func errorHint(err error) string {
	if tlsconfig.Untrusted(err) {
		return "TLS certificate not trusted: set ca_file to the cluster's CA (/etc/pve/pve-root-ca.pem), or insecure_skip_verify for a lab"
	}
	switch code := StatusCode(err); {
	case code == http.StatusUnauthorized:
		return "authentication failed: check token_id and token_secret"
	case code == http.StatusForbidden:
		return "permission denied: the token lacks this privilege; give the token (and its user) the PVEAuditor role on /, or turn privilege separation off"
	case code == 595 || code == 596:
		return "node offline"
	}
	var ne interface{ Timeout() bool }
	if errors.As(err, &ne) && ne.Timeout() || errors.Is(err, context.DeadlineExceeded) {
		return "timed out: raise timeout or check the network"
	}
	return ""
}

// flexInt decodes a JSON number or a numeric string ("2048", "2048.0"); null and "" are 0.
// PVE sends memory and vmid either way depending on version and endpoint.
type flexInt int64

func (f *flexInt) UnmarshalJSON(b []byte) error {
	n, err := parseFlexInt(b)
	if err != nil {
		return badValue(b, reflect.TypeFor[flexInt]())
	}
	*f = flexInt(n)
	return nil
}

func parseFlexInt(b []byte) (int64, error) {
	s := strings.TrimSpace(string(b))
	if s == "null" {
		return 0, nil
	}
	if strings.HasPrefix(s, `"`) {
		if err := json.Unmarshal(b, &s); err != nil {
			return 0, err
		}
		s = strings.TrimSpace(s)
		// qemu-server >= 8.0.8 may write memory as a property string: "current=4096".
		s = strings.TrimPrefix(s, "current=")
		if i := strings.IndexByte(s, ','); i >= 0 {
			s = s[:i]
		}
		if s == "" {
			return 0, nil
		}
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return n, nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, fmt.Errorf("%s is not a number", b)
	}
	return int64(f), nil
}

// flexFloat decodes a JSON number or a numeric string.
type flexFloat float64

func (f *flexFloat) UnmarshalJSON(b []byte) error {
	s := strings.Trim(strings.TrimSpace(string(b)), `"`)
	if s == "" || s == "null" {
		*f = 0
		return nil
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return badValue(b, reflect.TypeFor[flexFloat]())
	}
	*f = flexFloat(v)
	return nil
}

// flexString decodes a string, or keeps the text of a number: Perl's JSON encoder sends a
// name like "2024" as a number when it was last used as one.
type flexString string

func (f *flexString) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*f = flexString(s)
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err == nil {
		*f = flexString(n.String())
		return nil
	}
	if strings.TrimSpace(string(b)) == "null" {
		*f = ""
		return nil
	}
	return badValue(b, reflect.TypeFor[flexString]())
}

// flexBool decodes 0/1, "0"/"1", true/false and "" (false).
type flexBool bool

func (f *flexBool) UnmarshalJSON(b []byte) error {
	s := strings.Trim(strings.TrimSpace(string(b)), `"`)
	switch strings.ToLower(s) {
	case "", "0", "false", "null", "no", "off":
		*f = false
	case "1", "true", "yes", "on":
		*f = true
	default:
		return badValue(b, reflect.TypeFor[flexBool]())
	}
	return nil
}

// clusterStatusEntry is one element of /cluster/status.
type clusterStatusEntry struct {
	Type string `json:"type"`
	ID   string `json:"id"`
	Name string `json:"name"`
	// Online is optional in the schema: absent, the node is tried rather than assumed down.
	Online *flexBool `json:"online"`
	IP     string    `json:"ip"`
}

// clusterResource is one element of /cluster/resources?type=vm.
type clusterResource struct {
	ID       string     `json:"id"`
	Type     string     `json:"type"`
	VMID     flexInt    `json:"vmid"`
	Node     string     `json:"node"`
	Name     flexString `json:"name"`
	Status   string     `json:"status"`
	MaxCPU   flexFloat  `json:"maxcpu"`
	MaxMem   flexInt    `json:"maxmem"`
	MaxDisk  flexInt    `json:"maxdisk"`
	Tags     flexString `json:"tags"`
	Template flexBool   `json:"template"`
}

// nodeStatus is what we read of /nodes/{n}/status.
type nodeStatus struct {
	PVEVersion string `json:"pveversion"`
	CPUInfo    struct {
		Model   flexString `json:"model"`
		Sockets flexInt    `json:"sockets"`
		CPUs    flexInt    `json:"cpus"`
	} `json:"cpuinfo"`
	Memory struct {
		Total flexInt `json:"total"`
	} `json:"memory"`
}

// nodeNetwork is one element of /nodes/{n}/network; we keep the few fields we use.
type nodeNetwork struct {
	Iface  flexString `json:"iface"`
	Type   string     `json:"type"`
	CIDR   string     `json:"cidr"`
	CIDR6  string     `json:"cidr6"`
	VLANID flexInt    `json:"vlan-id"`
}

// agentInterfaces is the answer of .../agent/network-get-interfaces (QEMU's guest agent
// GuestNetworkInterface list).
type agentInterfaces struct {
	Result []guestIface `json:"result"`
}

// guestIface is a guest agent interface, or an entry of .../lxc/{id}/interfaces: PVE 9 answers
// the agent-like hardware-address and ip-addresses beside the older hwaddr, inet and inet6.
type guestIface struct {
	Name            flexString  `json:"name"`
	HardwareAddress string      `json:"hardware-address"`
	HWAddr          string      `json:"hwaddr"`
	IPAddresses     []guestAddr `json:"ip-addresses"`
	Inet            string      `json:"inet"`
	Inet6           string      `json:"inet6"`
}

// guestAddr is one of ip-addresses.
type guestAddr struct {
	IPAddress string  `json:"ip-address"`
	Prefix    flexInt `json:"prefix"`
}

// permissions is /access/permissions: privileges by ACL path.
type permissions map[string]map[string]flexInt
