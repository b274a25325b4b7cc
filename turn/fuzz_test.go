package turn

import (
	"bytes"
	"encoding/binary"
	"net"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/stun/v4"
)

// fuzzSeeds are well-formed STUN/TURN messages of every kind the relay
// handles (with a made-up nonce, so the fuzzer starts from real syntax).
func fuzzSeeds(peer netip.AddrPort) [][]byte {
	user, pass := creds("fuzz")
	id := stun.NewTransactionID()
	auth := []stun.Setter{stun.NewUsername(user), stun.NewRealm("lotse"), stun.NewNonce("obMatJos2gAAAadl7W7PeDU4hKE72jda"), stun.NewLongTermIntegrity(user, "lotse", pass), stun.Fingerprint}
	build := func(t stun.MessageType, s ...stun.Setter) []byte {
		m, err := stun.Build(append(append([]stun.Setter{stun.NewTransactionIDSetter(id), t}, s...), auth...)...)
		if err != nil {
			panic(err)
		}
		return m.Raw
	}
	req := func(m stun.Method) stun.MessageType { return stun.NewType(m, stun.ClassRequest) }
	cd := make([]byte, 8)
	binary.BigEndian.PutUint16(cd, 0x4000)
	binary.BigEndian.PutUint16(cd[2:], 4)
	copy(cd[4:], "data")
	bind, _ := stun.Build(stun.TransactionID, stun.BindingRequest, stun.Fingerprint)
	return [][]byte{
		bind.Raw,
		build(req(stun.MethodAllocate), requestedTransportUDP()),
		build(req(stun.MethodAllocate), requestedTransportTCP(), requestedFamilyIPv6()),
		build(req(stun.MethodRefresh), stun.RawAttribute{Type: stun.AttrLifetime, Value: []byte{0, 0, 2, 88}}),
		build(req(stun.MethodCreatePermission), xorPeer(peer, false, id)),
		build(req(stun.MethodCreatePermission), xorPeer(peer, true, id)),
		build(req(stun.MethodChannelBind), channelNumber(0x4000), xorPeer(peer, false, id)),
		build(req(stun.MethodConnect), xorPeer(peer, false, id)),
		build(req(stun.MethodConnectionBind), stun.RawAttribute{Type: 0x002A, Value: []byte{1, 2, 3, 4}}),
		build(stun.NewType(stun.MethodSend, stun.ClassIndication), xorPeer(peer, false, id), dataAttr([]byte("data"))),
		cd,
		{0x40, 0x00, 0xff, 0xff},
		{},
	}
}

// fuzzRelay is one relay per fuzz worker, with an allocation whose client
// socket sends the fuzzed datagrams, so they meet live allocation state.
type fuzzRelay struct {
	ts     *testServer
	sink   *sink
	client *rawClient // has the allocation, sends the fuzz input
	probe  *rawClient // checks the relay still answers
	execs  atomic.Int64
	bad    atomic.Value // string: a non-loopback address the relay tried to reach
}

func newFuzzRelay(f *testing.F) *fuzzRelay {
	cfg := testConfig()
	cfg.AllowPeers = []string{"127.0.0.2/32"}
	cfg.MaxAllocationsPerUser = 1000
	fr := &fuzzRelay{}
	fr.ts = startServer(f, cfg, nil, func(s *Server) {
		s.peerHook = func(path string, ap netip.AddrPort) {
			if path != pathPermission && !ap.Addr().Unmap().IsLoopback() {
				fr.bad.Store(path + " " + ap.String())
			}
		}
	})
	fr.sink = newSink(f, "127.0.0.2:0", true)
	user, pass := creds("fuzz")
	fr.client = newRawClient(f, "udp", fr.ts.udpAddr().String(), user, pass)
	if got := fr.client.allocate(false); got != 0 {
		f.Fatalf("allocate: %d", got)
	}
	if got := fr.client.channelBind(0x4000, fr.sink.addr().AddrPort(), false); got != 0 {
		f.Fatalf("channel bind: %d", got)
	}
	fr.probe = newRawClient(f, "udp", fr.ts.udpAddr().String(), user, pass)
	return fr
}

// check fails t unless the relay still serves: it answers a Binding
// request and, every 100 inputs, relays data through a new allocation.
func (fr *fuzzRelay) check(t *testing.T) {
	fr.client.t, fr.probe.t = t, t // the clients report to the running input
	if v := fr.bad.Load(); v != nil {
		t.Fatalf("the relay was about to reach a non-loopback address: %v", v)
	}
	if !fr.probe.binding() {
		t.Fatal("the relay stopped answering Binding requests")
	}
	if fr.execs.Add(1)%100 != 1 {
		return
	}
	user, pass := creds("fuzz-check")
	c := newRawClient(t, "udp", fr.ts.udpAddr().String(), user, pass)
	if got := c.allocate(false); got != 0 {
		t.Fatalf("a new allocation after fuzz input answered %d", got)
	}
	if got := c.createPermission(fr.sink.addr().AddrPort(), false); got != 0 {
		t.Fatalf("CreatePermission after fuzz input answered %d", got)
	}
	before := fr.sink.received.Load()
	c.sendIndication(fr.sink.addr().AddrPort(), false, []byte("still relaying"))
	deadline := time.Now().Add(5 * time.Second)
	for fr.sink.received.Load() == before {
		if time.Now().After(deadline) {
			t.Fatal("the relay stopped relaying after fuzz input")
		}
		time.Sleep(time.Millisecond)
	}
	// Free it (Refresh with LIFETIME 0) so the quota does not fill up.
	c.request(stun.MethodRefresh, func([stun.TransactionIDSize]byte) []stun.Setter {
		return []stun.Setter{stun.RawAttribute{Type: stun.AttrLifetime, Value: []byte{0, 0, 0, 0}}}
	})
}

// FuzzTurnSTUNDatagrams sends arbitrary datagrams to the UDP listener from a
// client that holds an allocation with a bound channel: no panic, and the
// relay keeps serving.
func FuzzTurnSTUNDatagrams(f *testing.F) {
	fr := newFuzzRelay(f)
	for _, s := range fuzzSeeds(fr.sink.addr().AddrPort()) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 1500 {
			data = data[:1500]
		}
		fr.client.t = t
		if _, err := fr.client.conn.Write(data); err != nil {
			t.Fatal(err)
		}
		fr.check(t)
	})
}

// FuzzTurnSTUNStream sends arbitrary bytes over a TCP connection (RFC 6062
// framing, STUN messages back to back and ChannelData padded to 4 bytes).
func FuzzTurnSTUNStream(f *testing.F) {
	fr := newFuzzRelay(f)
	seeds := fuzzSeeds(fr.sink.addr().AddrPort())
	for _, s := range seeds {
		f.Add(s)
	}
	f.Add(bytes.Join(seeds, nil))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := net.Dial("tcp", fr.ts.tcpAddr().String())
		if err != nil {
			t.Fatal(err)
		}
		c.Write(data)
		c.Close()
		fr.check(t)
	})
}
