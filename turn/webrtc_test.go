package turn

import (
	"github.com/lotse-io/lotse/internal/leakcheck"

	"errors"
	"net"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
	"github.com/rs/zerolog"
)

// TestTurnWebRTCThroughRelay: media-grade relaying with real Pion
// PeerConnections on loopback. "sfu" is a PeerConnection with its ICE on
// one UDP mux socket, as the SFU's will be, and that socket is the relay's
// only media address. "client" uses ICETransportPolicy relay with the ICE
// servers from ICEServers, so every packet goes through our TURN. Both
// send 1000-byte RTP packets (video-sized) and receive the other's.
func TestTurnWebRTCThroughRelay(t *testing.T) {
	leakcheck.Check(t)
	muxConn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	sfuMedia := muxConn.LocalAddr().(*net.UDPAddr).AddrPort()
	ts := startServer(t, testConfig(), func() []netip.AddrPort { return []netip.AddrPort{sfuMedia} })

	log := pionLogs{zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel)}
	var sfuSE webrtc.SettingEngine
	sfuSE.LoggerFactory = log
	sfuSE.SetIncludeLoopbackCandidate(true)
	sfuSE.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	mux := webrtc.NewICEUDPMux(nil, muxConn)
	defer mux.Close()
	sfuSE.SetICEUDPMux(mux)
	sfu := newPeer(t, sfuSE, webrtc.Configuration{})

	var clientSE webrtc.SettingEngine
	clientSE.LoggerFactory = log
	clientSE.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	servers, _ := ts.ICEServers("client-1", "127.0.0.1", time.Now())
	client := newPeer(t, clientSE, webrtc.Configuration{
		ICETransportPolicy: webrtc.ICETransportPolicyRelay,
		ICEServers:         []webrtc.ICEServer{{URLs: servers[0].URLs[:1], Username: servers[0].Username, Credential: servers[0].Credential}},
	})

	sfuTrack := addTrack(t, sfu.pc, "sfu")
	clientTrack := addTrack(t, client.pc, "client")
	signal(t, client.pc, sfu.pc)
	waitFor(t, "both peers connected", 20*time.Second, func() bool {
		return client.pc.ConnectionState() == webrtc.PeerConnectionStateConnected &&
			sfu.pc.ConnectionState() == webrtc.PeerConnectionStateConnected
	})

	// The client's selected pair starts at its relay candidate.
	pair, err := client.pc.SCTP().Transport().ICETransport().GetSelectedCandidatePair()
	if err != nil || pair == nil {
		t.Fatalf("selected pair: %v", err)
	}
	if pair.Local.Typ != webrtc.ICECandidateTypeRelay {
		t.Errorf("client's local candidate is %v, want relay", pair.Local.Typ)
	}
	if got := netip.AddrPortFrom(netip.MustParseAddr(pair.Remote.Address), pair.Remote.Port); got != sfuMedia {
		t.Errorf("client talks to %v, want the SFU's media address %v", got, sfuMedia)
	}

	const packets = 300
	payload := make([]byte, 1000)
	for i := 0; i < packets; i++ {
		hdr := rtp.Header{Version: 2, PayloadType: 96, SequenceNumber: uint16(i), Timestamp: uint32(i * 3000), SSRC: 1}
		if err := clientTrack.WriteRTP(&rtp.Packet{Header: hdr, Payload: payload}); err != nil && !errors.Is(err, net.ErrClosed) {
			t.Fatal(err)
		}
		if err := sfuTrack.WriteRTP(&rtp.Packet{Header: hdr, Payload: payload}); err != nil && !errors.Is(err, net.ErrClosed) {
			t.Fatal(err)
		}
		time.Sleep(2 * time.Millisecond)
	}
	waitFor(t, "media both ways", 10*time.Second, func() bool {
		return sfu.received.Load() >= packets*95/100 && client.received.Load() >= packets*95/100
	})
	t.Logf("sfu received %d, client received %d of %d RTP packets", sfu.received.Load(), client.received.Load(), packets)
	for _, dir := range []string{"to_peer", "from_peer"} {
		if got := ts.metric(t, "lotse_turn_relayed_packets_total", "direction", dir); got < packets*95/100 {
			t.Errorf("relayed %s = %v, want ≥ %d (all media through the relay)", dir, got, packets*95/100)
		}
	}
	ts.assertOnlyLoopbackData(t)
}

type peer struct {
	pc       *webrtc.PeerConnection
	received atomic.Int64
}

func newPeer(t *testing.T, se webrtc.SettingEngine, cfg webrtc.Configuration) *peer {
	t.Helper()
	var me webrtc.MediaEngine
	if err := me.RegisterCodec(webrtc.RTPCodecParameters{
		RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000},
		PayloadType:        96,
	}, webrtc.RTPCodecTypeVideo); err != nil {
		t.Fatal(err)
	}
	api := webrtc.NewAPI(webrtc.WithSettingEngine(se), webrtc.WithMediaEngine(&me))
	pc, err := api.NewPeerConnection(cfg)
	if err != nil {
		t.Fatal(err)
	}
	p := &peer{pc: pc}
	pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		for {
			if _, _, err := tr.ReadRTP(); err != nil {
				return
			}
			p.received.Add(1)
		}
	})
	t.Cleanup(func() { pc.Close() })
	return p
}

func addTrack(t *testing.T, pc *webrtc.PeerConnection, id string) *webrtc.TrackLocalStaticRTP {
	t.Helper()
	tr, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, id, id)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pc.AddTrack(tr); err != nil {
		t.Fatal(err)
	}
	return tr
}

// signal runs offer/answer with complete candidate gathering.
func signal(t *testing.T, offerer, answerer *webrtc.PeerConnection) {
	t.Helper()
	// A data channel gives the client an SCTP transport to inspect.
	if _, err := offerer.CreateDataChannel("probe", nil); err != nil {
		t.Fatal(err)
	}
	offer, err := offerer.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	gathered := webrtc.GatheringCompletePromise(offerer)
	if err := offerer.SetLocalDescription(offer); err != nil {
		t.Fatal(err)
	}
	<-gathered
	if err := answerer.SetRemoteDescription(*offerer.LocalDescription()); err != nil {
		t.Fatal(err)
	}
	answer, err := answerer.CreateAnswer(nil)
	if err != nil {
		t.Fatal(err)
	}
	gathered = webrtc.GatheringCompletePromise(answerer)
	if err := answerer.SetLocalDescription(answer); err != nil {
		t.Fatal(err)
	}
	<-gathered
	if err := offerer.SetRemoteDescription(*answerer.LocalDescription()); err != nil {
		t.Fatal(err)
	}
}
