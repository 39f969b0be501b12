package netscan

import (
	"bufio"
	"os"
	"strconv"
	"strings"
)

// capNetRaw is the bit of CAP_NET_RAW in the capability sets of /proc/self/status.
const capNetRaw = 13

// detectPrivileged reports whether nmap, started by this process, can use raw sockets: as
// root, or with CAP_NET_RAW in the effective set (and then in the ambient set, which a child
// keeps; nmap is not setcap on Debian).
func detectPrivileged() bool {
	if os.Geteuid() == 0 {
		return true
	}
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return false
	}
	defer f.Close()
	return hasNetRaw(bufio.NewScanner(f))
}

func hasNetRaw(sc *bufio.Scanner) bool {
	var eff, amb uint64
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		n, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
		if err != nil {
			continue
		}
		switch k {
		case "CapEff":
			eff = n
		case "CapAmb":
			amb = n
		}
	}
	bit := uint64(1) << capNetRaw
	return eff&bit != 0 && amb&bit != 0
}
