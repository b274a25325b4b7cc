package bench

import (
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
)

// uclientProgress matches the once-a-second progress line of coturn's
// turnutils_uclient, e.g.
//
//	7: : start_mclient: msz=10, tot_send_msgs=35046, tot_recv_msgs=34966, ...
var uclientProgress = regexp.MustCompile(`^\s*(\d+): : start_mclient: msz=\d+, tot_send_msgs=(\d+), tot_recv_msgs=(\d+)`)

// UclientProgress is one progress line of turnutils_uclient: seconds since
// it started, and the messages all its clients have sent and received
// back (through the relay to the echoing peer and back) so far.
type UclientProgress struct {
	Second     int
	Sent, Recv int64
}

// ParseUclientProgress parses a turnutils_uclient progress line.
func ParseUclientProgress(line string) (UclientProgress, bool) {
	m := uclientProgress.FindStringSubmatch(line)
	if m == nil {
		return UclientProgress{}, false
	}
	sec, err1 := strconv.Atoi(m[1])
	sent, err2 := strconv.ParseInt(m[2], 10, 64)
	recv, err3 := strconv.ParseInt(m[3], 10, 64)
	if err1 != nil || err2 != nil || err3 != nil {
		return UclientProgress{}, false
	}
	return UclientProgress{Second: sec, Sent: sent, Recv: recv}, true
}

// UDPRcvbufErrors returns the kernel's count of UDP datagrams dropped
// because a socket's receive buffer was full (/proc/net/snmp, per network
// namespace).
func UDPRcvbufErrors() (int64, error) {
	b, err := os.ReadFile("/proc/net/snmp")
	if err != nil {
		return 0, err
	}
	return parseSNMPUDP(string(b), "RcvbufErrors")
}

func parseSNMPUDP(snmp, field string) (int64, error) {
	var names []string
	for _, line := range strings.Split(snmp, "\n") {
		rest, ok := strings.CutPrefix(line, "Udp: ")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if names == nil {
			names = f
			continue
		}
		for i, n := range names {
			if n == field && i < len(f) {
				return strconv.ParseInt(f[i], 10, 64)
			}
		}
	}
	return 0, fmt.Errorf("no Udp %s in /proc/net/snmp", field)
}

// UDPDropsByPort returns, per local UDP port, the datagrams the kernel
// dropped at that socket (the "drops" column of /proc/net/udp and udp6,
// per network namespace), so a benchmark can tell whether loss happened
// at the server or at the load generator.
func UDPDropsByPort() (map[uint16]int64, error) {
	out := map[uint16]int64{}
	for _, f := range []string{"/proc/net/udp", "/proc/net/udp6"} {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		parseUDPDrops(string(b), out)
	}
	return out, nil
}

func parseUDPDrops(table string, out map[uint16]int64) {
	for i, line := range strings.Split(table, "\n") {
		f := strings.Fields(line)
		if i == 0 || len(f) < 13 {
			continue
		}
		_, portHex, ok := strings.Cut(f[1], ":")
		if !ok {
			continue
		}
		port, err1 := strconv.ParseUint(portHex, 16, 16)
		drops, err2 := strconv.ParseInt(f[len(f)-1], 10, 64)
		if err1 == nil && err2 == nil {
			out[uint16(port)] += drops
		}
	}
}
