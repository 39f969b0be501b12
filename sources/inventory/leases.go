package inventory

import (
	"bufio"
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/netbox-agent/netbox-agent/sources"
)

// leaseRecord builds the record of one lease. Leases are keyed by MAC when there is one (the
// client keeps it across renewals and address changes), by address otherwise.
func leaseRecord(line int, ip netip.Addr, mac, hostname string) (record, error) {
	rec := record{line: line}
	if err := rec.addIP(ip.String()); err != nil {
		return rec, err
	}
	if mac != "" {
		if err := rec.addMAC(mac); err != nil {
			return rec, err
		}
	}
	hostname = strings.TrimSuffix(strings.TrimSpace(hostname), ".")
	if hostname != "" && hostname != "*" {
		if short, fqdn := sources.SplitFQDN(hostname); short != "" {
			rec.name, rec.fqdn = short, fqdn
		}
	}
	if len(rec.macs) > 0 {
		rec.key = string(rec.macs[0])
	} else {
		rec.key = ip.String()
	}
	return rec, nil
}

// byKey merges records that share a key (one client holding several leases), keeping order.
func byKey(recs []*record) []*record {
	idx := map[string]int{}
	out := recs[:0:0]
	for _, r := range recs {
		if i, ok := idx[r.key]; ok {
			out[i].merge(*r)
			continue
		}
		idx[r.key] = len(out)
		out = append(out, r)
	}
	return out
}

// parseDnsmasq reads dnsmasq.leases: "expiry mac ip hostname|* clientid|*" per IPv4 lease;
// after the "duid SERVER-DUID" line, IPv6 leases put an IAID where the MAC was. Expiry 0
// means infinite; expired leases are dropped.
func parseDnsmasq(r io.Reader, file string, now time.Time) ([]*record, []sources.Warning, error) {
	var recs []*record
	var warns []sources.Warning
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 1024*1024)
	line, v6 := 0, false
	for sc.Scan() {
		line++
		f := strings.Fields(sc.Text())
		if len(f) == 0 || strings.HasPrefix(f[0], "#") {
			continue
		}
		if f[0] == "duid" {
			v6 = true
			continue
		}
		if len(f) < 4 {
			warns = append(warns, warnf(file, line, "%d fields, want expiry mac ip hostname clientid: skipped", len(f)))
			continue
		}
		exp, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil || exp < 0 {
			warns = append(warns, warnf(file, line, "expiry %q is not a Unix time: skipped", clip(f[0])))
			continue
		}
		if exp != 0 && time.Unix(exp, 0).Before(now) {
			warns = append(warns, expired(warnf(file, line, "lease %s expired at %s: skipped", clip(f[2]), time.Unix(exp, 0).UTC().Format(time.RFC3339))))
			continue
		}
		ip, err := sources.ParseIP(f[2])
		if err != nil {
			warns = append(warns, warnf(file, line, "%v: skipped", err))
			continue
		}
		mac := f[1]
		if v6 || ip.Is6() {
			mac = "" // the IAID, not a hardware address
		}
		rec, err := leaseRecord(line, ip, mac, f[3])
		if err != nil {
			warns = append(warns, warnf(file, line, "%v: skipped", err))
			continue
		}
		recs = append(recs, &rec)
	}
	if err := sc.Err(); err != nil {
		return nil, warns, fmt.Errorf("%s:%d: %w", file, line+1, err)
	}
	return byKey(recs), warns, nil
}

// keaInfinite is Kea's valid_lifetime for a lease that never expires.
const keaInfinite = math.MaxUint32

// parseKea reads a Kea memfile (kea-leases4.csv or kea-leases6.csv). The file is
// append-only: the last row for an address is its current state. Rows with state != 0
// (declined, expired-reclaimed, released) and expired rows are dropped.
func parseKea(r io.Reader, file string, now time.Time) ([]*record, []sources.Warning, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	header, err := cr.Read()
	if err != nil {
		return nil, nil, fmt.Errorf("%s:1: Kea lease header: %w", file, err)
	}
	col := map[string]int{}
	for i, h := range header {
		col[strings.TrimSpace(h)] = i
	}
	if _, ok := col["address"]; !ok {
		return nil, nil, fmt.Errorf("%s:1: header %q has no address column: not a Kea lease file", file, clip(strings.Join(header, ",")))
	}
	get := func(row []string, name string) string {
		if i, ok := col[name]; ok && i < len(row) {
			// Kea escapes commas in values.
			return strings.ReplaceAll(strings.TrimSpace(row[i]), "&#x2c", ",")
		}
		return ""
	}
	type keaRow struct {
		line int
		row  []string
	}
	var warns []sources.Warning
	last := map[netip.Addr]keaRow{}
	var order []netip.Addr
	err = eachRow(file, cr, len(header), false, &warns, func(row []string, line int) {
		ip, err := sources.ParseIP(get(row, "address"))
		if err != nil {
			warns = append(warns, warnf(file, line, "%v: skipped", err))
			return
		}
		if _, ok := last[ip]; !ok {
			order = append(order, ip)
		}
		last[ip] = keaRow{line: line, row: row}
	})
	if err != nil {
		return nil, warns, err
	}
	var recs []*record
	for _, ip := range order {
		kr := last[ip]
		row := kr.row
		if st := get(row, "state"); st != "" && st != "0" {
			warns = append(warns, expired(warnf(file, kr.line, "lease %s in state %s (declined, reclaimed or released): skipped", ip, clip(st))))
			continue
		}
		if !keaValid(get(row, "valid_lifetime"), get(row, "expire"), now) {
			warns = append(warns, expired(warnf(file, kr.line, "lease %s expired (expire %s): skipped", ip, clip(get(row, "expire")))))
			continue
		}
		mac := get(row, "hwaddr")
		rec, err := leaseRecord(kr.line, ip, mac, get(row, "hostname"))
		if err != nil {
			warns = append(warns, warnf(file, kr.line, "%v: skipped", err))
			continue
		}
		recs = append(recs, &rec)
	}
	return byKey(recs), warns, nil
}

func keaValid(lifetime, expire string, now time.Time) bool {
	if lt, err := strconv.ParseUint(lifetime, 10, 64); err == nil && lt == keaInfinite {
		return true
	}
	exp, err := strconv.ParseInt(expire, 10, 64)
	if err != nil {
		return false
	}
	return !time.Unix(exp, 0).Before(now)
}
