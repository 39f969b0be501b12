package inventory

import (
	"bufio"
	"fmt"
	"io"
	"net/netip"
	"strings"
	"time"

	"github.com/netbox-agent/netbox-agent/sources"
)

// dhcpdToken is one word, quoted string or punctuation ({ } ;) of a dhcpd.leases file.
type dhcpdToken struct {
	text   string
	quoted bool
	line   int
}

// dhcpdTokens splits a dhcpd.leases file; # starts a comment to the end of the line.
func dhcpdTokens(r io.Reader) ([]dhcpdToken, error) {
	br := bufio.NewReader(r)
	var toks []dhcpdToken
	line := 1
	var cur strings.Builder
	flush := func() {
		if cur.Len() > 0 {
			toks = append(toks, dhcpdToken{text: cur.String(), line: line})
			cur.Reset()
		}
	}
	for {
		c, err := br.ReadByte()
		if err == io.EOF {
			flush()
			return toks, nil
		}
		if err != nil {
			return toks, err
		}
		switch {
		case c == '\n':
			flush()
			line++
		case c == ' ' || c == '\t' || c == '\r':
			flush()
		case c == '#':
			flush()
			for {
				c, err = br.ReadByte()
				if err != nil || c == '\n' {
					break
				}
			}
			if c == '\n' {
				line++
			}
		case c == '{' || c == '}' || c == ';':
			flush()
			toks = append(toks, dhcpdToken{text: string(c), line: line})
		case c == '"':
			flush()
			start := line
			var s strings.Builder
			for {
				c, err = br.ReadByte()
				if err != nil {
					return toks, fmt.Errorf("line %d: unterminated quoted string", start)
				}
				if c == '\\' {
					n, err := br.ReadByte()
					if err != nil {
						return toks, fmt.Errorf("line %d: unterminated quoted string", start)
					}
					s.WriteByte('\\')
					s.WriteByte(n)
					continue
				}
				if c == '\n' {
					line++
				}
				if c == '"' {
					break
				}
				s.WriteByte(c)
			}
			toks = append(toks, dhcpdToken{text: s.String(), quoted: true, line: start})
		default:
			cur.WriteByte(c)
		}
	}
}

// parseDhcpd reads ISC dhcpd.leases: `lease IP { binding state active; hardware ethernet
// MAC; client-hostname "name"; ends N YYYY/MM/DD HH:MM:SS; }`. dhcpd appends a new block on
// every change, so the last block for an address wins; only active bindings that have not
// ended are kept. Other blocks (server-duid, failover, host) are skipped.
func parseDhcpd(r io.Reader, file string, now time.Time) ([]*record, []sources.Warning, error) {
	toks, err := dhcpdTokens(io.LimitReader(r, maxFileBytes))
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", file, err)
	}
	type lease struct {
		line                   int
		ip                     netip.Addr
		state, mac, name, ends string
		bad, addr              string
	}
	var warns []sources.Warning
	last := map[netip.Addr]lease{}
	var order []netip.Addr
	i := 0
	// skipBlock moves past the statement or block starting at i.
	skipBlock := func() {
		depth := 0
		for ; i < len(toks); i++ {
			switch toks[i].text {
			case "{":
				depth++
			case "}":
				depth--
				if depth <= 0 {
					i++
					return
				}
			case ";":
				if depth == 0 {
					i++
					return
				}
			}
		}
	}
	for i < len(toks) {
		t := toks[i]
		if t.quoted || t.text != "lease" {
			if t.text == "}" || t.text == ";" {
				i++
				continue
			}
			skipBlock()
			continue
		}
		if i+2 >= len(toks) || toks[i+2].text != "{" {
			warns = append(warns, warnf(file, t.line, "lease without an address and '{': skipped"))
			i++
			skipBlock()
			continue
		}
		l := lease{line: t.line, addr: toks[i+1].text}
		ip, err := sources.ParseIP(toks[i+1].text)
		if err != nil {
			l.bad = err.Error()
		}
		l.ip = ip
		i += 3
		// Statements up to the closing brace.
		var stmt []dhcpdToken
		closed := false
		for ; i < len(toks) && !closed; i++ {
			switch toks[i].text {
			case ";":
				applyDhcpdStatement(&l.state, &l.mac, &l.name, &l.ends, stmt)
				stmt = stmt[:0]
			case "}":
				if !toks[i].quoted {
					closed = true
					continue
				}
				stmt = append(stmt, toks[i])
			case "{":
				if !toks[i].quoted {
					l.bad = "nested block"
					continue
				}
				stmt = append(stmt, toks[i])
			default:
				stmt = append(stmt, toks[i])
			}
		}
		if !closed {
			warns = append(warns, warnf(file, l.line, "lease block never closed: skipped"))
			break
		}
		if len(stmt) > 0 && l.bad == "" {
			l.bad = fmt.Sprintf("statement %q lacks ';'", clip(stmt[0].text))
		}
		if l.bad != "" {
			warns = append(warns, warnf(file, l.line, "lease %s: %s: skipped", clip(l.addr), l.bad))
			continue
		}
		if _, ok := last[l.ip]; !ok {
			order = append(order, l.ip)
		}
		last[l.ip] = l
	}
	var recs []*record
	for _, ip := range order {
		l := last[ip]
		if l.state != "active" || dhcpdEnded(l.ends, now) {
			warns = append(warns, expired(warnf(file, l.line, "lease %s (binding state %q, ends %q) is not active: skipped", ip, clip(l.state), clip(l.ends))))
			continue
		}
		rec, err := leaseRecord(l.line, ip, l.mac, l.name)
		if err != nil {
			warns = append(warns, warnf(file, l.line, "lease %s: %v: skipped", ip, err))
			continue
		}
		recs = append(recs, &rec)
	}
	return byKey(recs), warns, nil
}

func applyDhcpdStatement(state, mac, name, ends *string, stmt []dhcpdToken) {
	words := make([]string, len(stmt))
	for i, t := range stmt {
		words[i] = t.text
	}
	switch {
	case len(words) == 3 && words[0] == "binding" && words[1] == "state":
		*state = words[2]
	case len(words) == 3 && words[0] == "hardware":
		*mac = words[2]
	case len(words) == 2 && words[0] == "client-hostname":
		*name = words[1]
	case len(words) >= 2 && words[0] == "ends":
		*ends = strings.Join(words[1:], " ")
	}
}

// dhcpdEnded reads "ends 3 2025/11/19 22:00:00" (UTC), "ends epoch N" or "ends never".
func dhcpdEnded(ends string, now time.Time) bool {
	f := strings.Fields(ends)
	switch {
	case len(f) == 0, f[0] == "never":
		return false
	case f[0] == "epoch" && len(f) == 2:
		var n int64
		if _, err := fmt.Sscan(f[1], &n); err == nil {
			return time.Unix(n, 0).Before(now)
		}
	case len(f) == 3:
		if t, err := time.Parse("2006/01/02 15:04:05", f[1]+" "+f[2]); err == nil {
			return t.Before(now)
		}
	}
	return false
}
