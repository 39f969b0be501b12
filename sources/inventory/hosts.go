package inventory

import (
	"bufio"
	"fmt"
	"io"
	"strings"

	"github.com/netbox-agent/netbox-agent/sources"
)

// parseHosts reads /etc/hosts: "IP canonical [aliases...]"; loopback, multicast and the
// link-local/unspecified entries are skipped. The same canonical name on several lines (its
// IPv4 and IPv6 addresses) is one host.
func parseHosts(r io.Reader, file string) ([]*record, []sources.Warning, error) {
	var recs []*record
	var warns []sources.Warning
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 1024*1024)
	line := 0
	for sc.Scan() {
		line++
		text := sc.Text()
		if i := strings.IndexByte(text, '#'); i >= 0 {
			text = text[:i]
		}
		f := strings.Fields(text)
		if len(f) == 0 {
			continue
		}
		if len(f) < 2 {
			warns = append(warns, warnf(file, line, "%q has an address but no name: skipped", clip(f[0])))
			continue
		}
		ip, err := sources.ParseIP(f[0])
		if err != nil {
			warns = append(warns, warnf(file, line, "%v: skipped", err))
			continue
		}
		if ip.IsLoopback() || ip.IsMulticast() || ip.IsLinkLocalUnicast() || ip.IsInterfaceLocalMulticast() {
			continue
		}
		if strings.HasPrefix(ip.String(), "fe00:") { // ip6-localnet
			continue
		}
		names := make([]string, 0, len(f)-1)
		for _, n := range f[1:] {
			h, err := sources.NormalizeHostname(n)
			if err != nil {
				warns = append(warns, warnf(file, line, "%v: name ignored", err))
				continue
			}
			names = append(names, h)
		}
		if len(names) == 0 {
			warns = append(warns, warnf(file, line, "no valid name: skipped"))
			continue
		}
		rec := record{key: names[0], line: line}
		_ = rec.addIP(ip.String())
		// The FQDN is the first name with a dot; the short name its first label, or the
		// canonical name when there is no FQDN.
		rec.name = names[0]
		for _, n := range names {
			if strings.Contains(n, ".") {
				rec.fqdn = n
				break
			}
		}
		if len(names) > 1 {
			rec.setAttr("inventory.aliases", strings.Join(names[1:], " "))
		}
		recs = append(recs, &rec)
	}
	if err := sc.Err(); err != nil {
		return nil, warns, fmt.Errorf("%s:%d: %w", file, line+1, err)
	}
	return byKey(recs), warns, nil
}
