package inventory

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/netbox-agent/netbox-agent/sources"
)

// csvColumns maps header names (lower case, spaces and dashes as underscores) to fields.
var csvColumns = map[string]string{
	"name": "name", "hostname": "name", "host": "name", "device": "name", "device_name": "name",
	"fqdn": "fqdn", "dns_name": "fqdn",
	"ip": "ip", "ips": "ip", "ip_address": "ip", "ip_addresses": "ip", "address": "ip", "primary_ip": "ip", "primary_ip4": "ip", "primary_ip6": "ip", "ipv4": "ip", "ipv6": "ip", "ansible_host": "ip",
	"mac": "mac", "macs": "mac", "mac_address": "mac", "hwaddr": "mac", "hardware_address": "mac",
	"serial": "serial", "serial_number": "serial", "sn": "serial", "service_tag": "serial",
	"site": "site", "role": "role", "device_role": "role",
	"manufacturer": "manufacturer", "vendor": "manufacturer", "make": "manufacturer",
	"model": "model", "device_type": "model",
	"platform": "platform", "os": "os", "operating_system": "os",
	"location": "location", "room": "location", "area": "location",
	"kind": "kind", "type": "kind", "object_type": "kind",
	"description": "description", "comments": "description", "notes": "description",
	"tags": "tags", "tag": "tags", "groups": "tags",
	"status": "status",
}

func headerKey(h string) string {
	h = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))
	return strings.NewReplacer(" ", "_", "-", "_").Replace(h)
}

// sniffDelimiter picks the separator of the header line: comma, semicolon (spreadsheets in
// many locales) or tab.
func sniffDelimiter(header []byte) rune {
	best, n := ',', bytes.Count(header, []byte(","))
	for _, d := range []rune{';', '\t'} {
		if c := bytes.Count(header, []byte(string(d))); c > n {
			best, n = d, c
		}
	}
	return best
}

// parseCSV reads a CSV inventory with a header row; columns are matched by header name.
func parseCSV(r io.Reader, file string) ([]*record, []sources.Warning, error) {
	br := bufio.NewReader(r)
	peek, _ := br.Peek(4096)
	first, _, _ := bytes.Cut(peek, []byte("\n"))
	cr := csv.NewReader(br)
	cr.Comma = sniffDelimiter(first)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	cr.Comment = '#'
	header, err := cr.Read()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil, fmt.Errorf("%s: empty file, want a header row", file)
		}
		return nil, nil, fmt.Errorf("%s: header row: %w", file, err)
	}
	var warns []sources.Warning
	fields := make([]string, len(header))
	var unknown []string
	for i, h := range header {
		f, ok := csvColumns[headerKey(h)]
		if !ok {
			unknown = append(unknown, h)
			continue
		}
		if slices.Contains(fields, f) && f != "ip" && f != "mac" && f != "tags" {
			warns = append(warns, warnf(file, 1, "column %q repeats field %s: ignored", h, f))
			continue
		}
		fields[i] = f
	}
	if !slices.Contains(fields, "name") && !slices.Contains(fields, "ip") && !slices.Contains(fields, "mac") && !slices.Contains(fields, "serial") {
		return nil, nil, fmt.Errorf("%s:1: header %q has no name, ip, mac or serial column", file, clip(strings.Join(header, string(cr.Comma))))
	}
	if len(unknown) > 0 {
		warns = append(warns, warnf(file, 1, "unknown columns ignored: %s", strings.Join(unknown, ", ")))
	}

	var recs []*record
	seen := map[string]int{}
	err = eachRow(file, cr, len(header), true, &warns, func(row []string, line int) {
		rec, err := csvRecord(row, fields, line)
		if err != nil {
			warns = append(warns, warnf(file, line, "%v: skipped", err))
			return
		}
		if first, dup := seen[rec.key]; dup {
			warns = append(warns, warnf(file, line, "host %q already defined on line %d: skipped", rec.key, first))
			return
		}
		seen[rec.key] = line
		recs = append(recs, &rec)
	})
	return recs, warns, err
}

// eachRow hands each row of cr after the header to row, with its line. A malformed row, or one
// with another number of fields than width, is a warning and skipped, and so, with skipBlank,
// is a row of white space silently; an error reading the file ends the reading.
func eachRow(file string, cr *csv.Reader, width int, skipBlank bool, warns *[]sources.Warning, row func([]string, int)) error {
	for {
		fields, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				*warns = append(*warns, warnf(file, pe.StartLine, "malformed CSV row: %v: skipped", pe.Err))
				continue
			}
			return fmt.Errorf("%s: %w", file, err)
		}
		line, _ := cr.FieldPos(0)
		if skipBlank && len(fields) == 1 && strings.TrimSpace(fields[0]) == "" {
			continue
		}
		if len(fields) != width {
			*warns = append(*warns, warnf(file, line, "%d fields, header has %d: skipped", len(fields), width))
			continue
		}
		row(fields, line)
	}
}

func csvRecord(row, fields []string, line int) (record, error) {
	rec := record{line: line}
	// Columns taken as they are, and columns holding a list of addresses.
	text := map[string]*string{"name": &rec.name, "fqdn": &rec.fqdn, "serial": &rec.serial, "site": &rec.site,
		"role": &rec.role, "manufacturer": &rec.manufacturer, "model": &rec.model, "platform": &rec.platform,
		"os": &rec.os, "location": &rec.location, "description": &rec.descr}
	lists := map[string]func(string) error{"ip": rec.addIP, "mac": rec.addMAC}
	for i, v := range row {
		v = strings.TrimSpace(v)
		if v == "" || fields[i] == "" {
			continue
		}
		if p, ok := text[fields[i]]; ok {
			*p = v
			continue
		}
		if add, ok := lists[fields[i]]; ok {
			for _, a := range splitList(v) {
				if err := add(a); err != nil {
					return rec, err
				}
			}
			continue
		}
		switch fields[i] {
		case "kind":
			k, err := parseKind(v)
			if err != nil {
				// A value the agent does not know is no reason to lose the host.
				rec.notes = append(rec.notes, err.Error()+": kind left to the merge")
			}
			rec.kind = k
		case "status":
			rec.status = strings.ToLower(v)
		case "tags":
			rec.tags = append(rec.tags, sources.SplitList(v, ";|,")...) // tags may hold spaces
		}
	}
	switch {
	case rec.name != "":
		rec.key = strings.ToLower(rec.name)
	case rec.fqdn != "":
		rec.key = strings.ToLower(rec.fqdn)
	case rec.serial != "":
		rec.key = "serial:" + rec.serial
	case len(rec.macs) > 0:
		rec.key = string(rec.macs[0])
	case len(rec.ips) > 0:
		rec.key = rec.ips[0].Addr().String()
	default:
		return rec, fmt.Errorf("row has no name, fqdn, serial, mac or ip")
	}
	return rec, nil
}

// splitList splits a cell holding several values: "a;b", "a|b", "a b" or, in a cell of its
// own, "a,b".
func splitList(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ';' || r == '|' || r == ',' || r == ' ' || r == '\t' })
}
