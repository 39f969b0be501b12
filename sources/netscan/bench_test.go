package netscan

import (
	"bufio"
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/Ullaakut/nmap/v3"
)

func bufioScanner(s string) *bufio.Scanner { return bufio.NewScanner(strings.NewReader(s)) }

// genNmapXML writes nmap XML of n hosts that are up on a /16, each with a MAC and vendor, a
// PTR name and two open ports, like a services scan of a large network.
func genNmapXML(n int) []byte {
	var b bytes.Buffer
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n<!DOCTYPE nmaprun>\n")
	b.WriteString(`<nmaprun scanner="nmap" args="nmap -sV -p 22,80 -oX - 10.0.0.0/16" start="1763805852" version="7.93" xmloutputversion="1.05">` + "\n")
	b.WriteString(`<scaninfo type="syn" protocol="tcp" numservices="2" services="22,80"/>` + "\n")
	for i := 0; i < n; i++ {
		hi, lo := byte(i>>8), byte(i)
		fmt.Fprintf(&b, `<host starttime="1763805853" endtime="1763805871"><status state="up" reason="arp-response" reason_ttl="0"/>
<address addr="10.0.%d.%d" addrtype="ipv4"/>
<address addr="3C:EC:EF:00:%02X:%02X" addrtype="mac" vendor="Super Micro Computer"/>
<hostnames><hostname name="host-%d.lab.example" type="PTR"/></hostnames>
<ports><port protocol="tcp" portid="22"><state state="open" reason="syn-ack" reason_ttl="64"/><service name="ssh" product="OpenSSH" version="9.2p1" method="probed" conf="10"/></port>
<port protocol="tcp" portid="80"><state state="open" reason="syn-ack" reason_ttl="64"/><service name="http" product="nginx" method="probed" conf="10"/></port>
</ports>
<times srtt="412" rttvar="185" to="100000"/>
</host>
`, hi, lo, hi, lo, i)
	}
	fmt.Fprintf(&b, `<runstats><finished time="1763805871" elapsed="19.12" exit="success"/><hosts up="%d" down="0" total="%d"/></runstats>`+"\n</nmaprun>\n", n, n)
	return b.Bytes()
}

// BenchmarkParseNmapXML65536 parses a 65,536-host scan with the library's nmap.Parse and
// converts it to observations.
func BenchmarkParseNmapXML65536(b *testing.B) {
	const hosts = 65536
	data := genNmapXML(hosts)
	s := newTestSource(b, Config{})
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		var run nmap.Run
		if err := nmap.Parse(data, &run); err != nil {
			b.Fatal(err)
		}
		res := s.Convert(&run)
		if len(res.Observations) != hosts {
			b.Fatalf("got %d observations", len(res.Observations))
		}
	}
	b.ReportMetric(float64(hosts*b.N)/b.Elapsed().Seconds(), "hosts/s")
	b.ReportMetric(float64(len(data))/(1<<20), "MiB-xml")
}
