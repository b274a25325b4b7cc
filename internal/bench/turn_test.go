package bench

import "testing"

func TestParseUclientProgress(t *testing.T) {
	cases := []struct {
		line string
		want UclientProgress
		ok   bool
	}{
		{"7: : start_mclient: msz=10, tot_send_msgs=35046, tot_recv_msgs=34966, tot_send_bytes ~ 5957820, tot_recv_bytes ~ 5944220", UclientProgress{7, 35046, 34966}, true},
		{"0: : start_mclient: msz=2, tot_send_msgs=0, tot_recv_msgs=0, tot_send_bytes ~ 0, tot_recv_bytes ~ 0", UclientProgress{0, 0, 0}, true},
		{"13: : start_mclient: tot_send_msgs=80000, tot_recv_msgs=80000", UclientProgress{}, false}, // the final summary
		{"13: : Total lost packets 0 (0.000000%)", UclientProgress{}, false},
		{"7: : start_mclient: msz=10, tot_send_msgs=99999999999999999999, tot_recv_msgs=1", UclientProgress{}, false},
		{"", UclientProgress{}, false},
	}
	for _, tc := range cases {
		got, ok := ParseUclientProgress(tc.line)
		if ok != tc.ok || got != tc.want {
			t.Errorf("%q: got %+v %v, want %+v %v", tc.line, got, ok, tc.want, tc.ok)
		}
	}
}

func TestParseSNMPUDP(t *testing.T) {
	snmp := "Ip: Forwarding DefaultTTL\nIp: 1 64\n" +
		"Udp: InDatagrams NoPorts InErrors OutDatagrams RcvbufErrors SndbufErrors\n" +
		"Udp: 2987979 108 15224 3003884 15220 0\n" +
		"UdpLite: InDatagrams NoPorts\nUdpLite: 0 0\n"
	if n, err := parseSNMPUDP(snmp, "RcvbufErrors"); err != nil || n != 15220 {
		t.Errorf("RcvbufErrors = %d, %v", n, err)
	}
	if _, err := parseSNMPUDP(snmp, "Nope"); err == nil {
		t.Error("missing field accepted")
	}
	if _, err := UDPRcvbufErrors(); err != nil {
		t.Errorf("this machine: %v", err)
	}
}

func TestParseUDPDrops(t *testing.T) {
	table := "   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops\n" +
		" 1547: 0100007F:96F1 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 988975 2 00000000a72962bc 7\n" +
		" 2613: 0100007F:DB1B 00000000:0000 07 00000000:00000900 00:00000000 00000000     0        0 988974 2 00000000a0ee6c19 0\n" +
		" 2614: 0100007F:DB1B 00000000:0000 07 00000000:00000900 00:00000000 00000000     0        0 988974 2 00000000a0ee6c19 5\n"
	out := map[uint16]int64{}
	parseUDPDrops(table, out)
	if out[0x96F1] != 7 || out[0xDB1B] != 5 || len(out) != 2 {
		t.Errorf("got %v", out)
	}
	if _, err := UDPDropsByPort(); err != nil {
		t.Errorf("this machine: %v", err)
	}
}
