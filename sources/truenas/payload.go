package truenas

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Payload types: the fields of the middleware's answers this adapter reads. REST and JSON-RPC
// send the same shapes.

// flexUint reads a byte count sent as a number, a numeric string or null.
type flexUint struct {
	N     uint64
	Valid bool
}

// stringOrLiteral splits a JSON scalar: a string comes back unquoted with isString set (null
// counts as ""); anything else comes back as its literal text for the caller to parse.
func stringOrLiteral(b []byte) (text string, isString bool, err error) {
	b = bytes.TrimSpace(b)
	switch {
	case string(b) == "null":
		return "", true, nil
	case len(b) > 0 && b[0] == '"':
		err = json.Unmarshal(b, &text)
		return text, true, err
	}
	return string(b), false, nil
}

func (f *flexUint) UnmarshalJSON(b []byte) error {
	text, isString, err := stringOrLiteral(b)
	if err != nil {
		return err
	}
	if isString && text == "" {
		*f = flexUint{}
		return nil
	}
	if n, err := strconv.ParseUint(text, 10, 64); err == nil {
		*f = flexUint{N: n, Valid: true}
		return nil
	}
	fl, err := strconv.ParseFloat(text, 64)
	if err != nil || fl < 0 || math.IsInf(fl, 0) || math.IsNaN(fl) {
		return fmt.Errorf("%q is not a byte count", text)
	}
	*f = flexUint{N: uint64(fl), Valid: true}
	return nil
}

// zfsProperty reads a ZFS property dict {value, rawvalue, parsed, source}: parsed when it is a
// number, else rawvalue; a bare number is accepted too. The model types parsed as anything and
// rawvalue as any string, so a dict whose values are no byte count leaves the size unknown and
// keeps the text in Bad for a warning, rather than failing the whole dataset.
type zfsProperty struct {
	flexUint
	Bad string
}

func (p *zfsProperty) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || b[0] != '{' {
		return p.flexUint.UnmarshalJSON(b)
	}
	var d struct {
		Parsed   json.RawMessage `json:"parsed"`
		RawValue json.RawMessage `json:"rawvalue"`
	}
	if err := json.Unmarshal(b, &d); err != nil {
		return err
	}
	*p = zfsProperty{}
	if len(d.Parsed) > 0 && p.flexUint.UnmarshalJSON(d.Parsed) == nil && p.Valid {
		return nil
	}
	p.flexUint = flexUint{}
	if len(d.RawValue) > 0 {
		if err := p.flexUint.UnmarshalJSON(d.RawValue); err != nil {
			p.flexUint, p.Bad = flexUint{}, string(d.RawValue)
		}
	}
	return nil
}

// jsonDate reads the middleware's datetimes: {"$date": milliseconds since the epoch}; a bare
// number of milliseconds, an RFC 3339 string and null are accepted too. A shape it does not
// know leaves the zero time rather than failing the item: dates here are informational.
type jsonDate struct{ time.Time }

func (d *jsonDate) UnmarshalJSON(b []byte) error {
	d.Time = time.Time{}
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '{' {
		var w struct {
			Date json.Number `json:"$date"`
		}
		if json.Unmarshal(b, &w) != nil {
			return nil
		}
		b = []byte(w.Date.String())
	}
	if len(b) > 0 && b[0] == '"' {
		var s string
		if json.Unmarshal(b, &s) == nil {
			if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
				d.Time = t.UTC()
			}
		}
		return nil
	}
	if ms, err := strconv.ParseFloat(string(b), 64); err == nil && ms > 0 {
		d.Time = time.UnixMilli(int64(ms)).UTC()
	}
	return nil
}

// flexString reads a value the middleware sends as a string or a number (pool guids).
type flexString string

func (s *flexString) UnmarshalJSON(b []byte) error {
	text, isString, err := stringOrLiteral(b)
	if err != nil {
		return err
	}
	if isString {
		*s = flexString(text)
		return nil
	}
	var n json.Number
	if err := json.Unmarshal([]byte(text), &n); err != nil {
		return fmt.Errorf("%s is neither a string nor a number", text)
	}
	*s = flexString(n.String())
	return nil
}

type systemInfo struct {
	Version            string   `json:"version"`
	Hostname           string   `json:"hostname"`
	PhysMem            flexUint `json:"physmem"`
	SystemSerial       string   `json:"system_serial"`
	SystemProduct      string   `json:"system_product"`
	SystemManufacturer string   `json:"system_manufacturer"`
}

type networkConfig struct {
	Hostname string `json:"hostname"`
	Domain   string `json:"domain"`
}

type vdevPayload struct {
	Type     string        `json:"type"`
	Disk     *string       `json:"disk"`
	Children []vdevPayload `json:"children"`
}

type poolPayload struct {
	Name      string                   `json:"name"`
	GUID      flexString               `json:"guid"`
	Status    string                   `json:"status"`
	Healthy   bool                     `json:"healthy"`
	Size      flexUint                 `json:"size"`
	Allocated flexUint                 `json:"allocated"`
	Free      flexUint                 `json:"free"`
	Topology  map[string][]vdevPayload `json:"topology"`
	Scan      *struct {
		Function string   `json:"function"`
		State    string   `json:"state"`
		EndTime  jsonDate `json:"end_time"`
	} `json:"scan"`
}

type datasetPayload struct {
	ID         string           `json:"id"`
	Name       string           `json:"name"`
	Type       string           `json:"type"`
	Pool       string           `json:"pool"`
	Mountpoint *string          `json:"mountpoint"`
	Used       zfsProperty      `json:"used"`
	Available  zfsProperty      `json:"available"`
	Children   []datasetPayload `json:"children"`
}

// nfsShare carries both shapes: CORE's `paths` list and SCALE's single `path`.
type nfsShare struct {
	ID      json.Number `json:"id"`
	Path    string      `json:"path"`
	Paths   []string    `json:"paths"`
	Comment string      `json:"comment"`
	Enabled *bool       `json:"enabled"`
}

// allPaths returns the share's exported paths whichever shape it came in.
func (n nfsShare) allPaths() []string {
	var out []string
	if n.Path != "" {
		out = append(out, n.Path)
	}
	for _, p := range n.Paths {
		if p != "" && p != n.Path {
			out = append(out, p)
		}
	}
	return out
}

type smbShare struct {
	ID      json.Number `json:"id"`
	Name    string      `json:"name"`
	Path    string      `json:"path"`
	Comment string      `json:"comment"`
	Enabled *bool       `json:"enabled"`
	// Options depend on the share's purpose (25.10+); only a DFS proxy's remote_path is read.
	Options json.RawMessage `json:"options"`
}

// smbExternalPath is the path TrueNAS gives a share that is a DFS proxy to shares on other
// servers (purpose EXTERNAL_SHARE, 25.10+); options.remote_path lists them as SERVER\SHARE.
const smbExternalPath = "EXTERNAL"

// location says where a share's data lives, for its service description: the local path, or
// the servers a DFS proxy refers clients to.
func (s smbShare) location() string {
	if s.Path != smbExternalPath {
		return s.Path
	}
	var opts struct {
		RemotePath []string `json:"remote_path"`
	}
	// options of another shape, or null, leave the targets unknown: the share is still reported
	if json.Unmarshal(s.Options, &opts) != nil || len(opts.RemotePath) == 0 {
		return "DFS proxy"
	}
	return "DFS proxy to " + strings.Join(opts.RemotePath, ", ")
}

type iscsiGlobal struct {
	Basename string `json:"basename"`
}

type iscsiTarget struct {
	ID    json.Number `json:"id"`
	Name  string      `json:"name"`
	Alias *string     `json:"alias"`
}

type iscsiExtent struct {
	Name    string  `json:"name"`
	Type    string  `json:"type"`
	Disk    *string `json:"disk"`
	Path    *string `json:"path"`
	Enabled *bool   `json:"enabled"`
}

type aliasPayload struct {
	Type    string          `json:"type"`
	Address string          `json:"address"`
	Netmask json.RawMessage `json:"netmask"`
}

// mask renders the netmask as TrueNAS sent it: a prefix length (24) or a dotted mask.
func (a aliasPayload) mask() string {
	var n json.Number
	if err := json.Unmarshal(a.Netmask, &n); err == nil {
		return n.String()
	}
	var s string
	if err := json.Unmarshal(a.Netmask, &s); err == nil {
		return strings.TrimSpace(s)
	}
	return ""
}

type interfacePayload struct {
	Name    string         `json:"name"`
	Type    string         `json:"type"`
	VLANTag *int           `json:"vlan_tag"`
	Aliases []aliasPayload `json:"aliases"`
	State   struct {
		LinkAddress string         `json:"link_address"`
		Aliases     []aliasPayload `json:"aliases"`
		Tag         *int           `json:"tag"` // the VLAN tag in force, when vlan_tag is absent
	} `json:"state"`
}

type diskPayload struct {
	Name string   `json:"name"`
	Size flexUint `json:"size"`
}

func enabled(b *bool) bool { return b == nil || *b }
