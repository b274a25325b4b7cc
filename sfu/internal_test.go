package sfu

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/lotse-io/lotse/sfu/codec"
)

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name   string
		change func(*Config)
		key    string
	}{
		{"defaults", func(*Config) {}, ""},
		{"listen ip", func(c *Config) { c.ListenIP = "localhost" }, "listen_ip"},
		{"udp port", func(c *Config) { c.UDPPort = 70000 }, "udp_port"},
		{"tcp off", func(c *Config) { c.TCPPort = -1 }, ""},
		{"tcp port", func(c *Config) { c.TCPPort = -2 }, "tcp_port"},
		{"public ip", func(c *Config) { c.PublicIPs = []string{"203.0.113.7", "bank.example"} }, "public_ips"},
		{"unspecified public ip", func(c *Config) { c.PublicIPs = []string{"0.0.0.0"} }, "public_ips"},
		{"rooms", func(c *Config) { c.MaxRooms = 0 }, "max_rooms"},
		{"participants", func(c *Config) { c.MaxParticipantsPerRoom = -1 }, "max_participants_per_room"},
		{"audio queue", func(c *Config) { c.AudioQueuePackets = 2 }, "audio_queue_packets"},
		{"video queue", func(c *Config) { c.VideoQueuePackets = 1 << 20 }, "video_queue_packets"},
		{"bandwidth order", func(c *Config) { c.MaxBandwidth = c.InitialBandwidth - 1 }, "max_bandwidth"},
		{"speaker threshold", func(c *Config) { c.SpeakerThreshold = 128 }, "speaker_threshold"},
		{"speaker interval", func(c *Config) { c.SpeakerInterval = time.Millisecond }, "speaker_interval"},
		{"key frame interval", func(c *Config) { c.KeyFrameInterval = 0 }, "key_frame_interval"},
		{"data message", func(c *Config) { c.MaxDataMessageBytes = 2 << 20 }, "max_data_message_bytes"},
		{"ice keepalive", func(c *Config) { c.ICEKeepalive = c.ICEDisconnectedTimeout }, "ice_keepalive"},
		{"ice failed", func(c *Config) { c.ICEFailedTimeout = c.ICEDisconnectedTimeout }, "ice_failed_timeout"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := DefaultConfig()
			tc.change(&c)
			err := c.Validate()
			var ce *ConfigError
			switch {
			case tc.key == "" && err != nil:
				t.Fatalf("Validate = %v", err)
			case tc.key != "" && (!errors.As(err, &ce) || ce.Key != tc.key):
				t.Fatalf("Validate = %v, want an error for %s", err, tc.key)
			case err != nil && !strings.HasPrefix(err.Error(), "sfu."+tc.key+": "):
				t.Fatalf("message %q does not name the key", err)
			}
		})
	}
}

func TestRewriter(t *testing.T) {
	type in struct {
		op       string // "w" rewrite, "s" switch, "r" resync
		seq      uint16
		ts       uint32
		at       int64 // ms
		wantSeq  uint16
		wantTS   uint32
		wantDrop bool
	}
	tests := []struct {
		name  string
		steps []in
	}{
		{"passes the first source through", []in{
			{op: "w", seq: 100, ts: 1000, wantSeq: 100, wantTS: 1000},
			{op: "w", seq: 101, ts: 1000, wantSeq: 101, wantTS: 1000},
			{op: "w", seq: 103, ts: 4000, wantSeq: 103, wantTS: 4000},
			{op: "w", seq: 65535, ts: 0, wantDrop: true}, // before the first packet
		}},
		{"switch continues numbering and time", []in{
			{op: "w", seq: 100, ts: 9000, at: 0, wantSeq: 100, wantTS: 9000},
			{op: "s", seq: 5000, ts: 500, at: 100},
			{op: "w", seq: 5000, ts: 500, at: 100, wantSeq: 101, wantTS: 18000},
			{op: "w", seq: 5001, ts: 3500, at: 133, wantSeq: 102, wantTS: 21000},
			{op: "w", seq: 4999, ts: 0, at: 140, wantDrop: true}, // from before the switch
			{op: "w", seq: 5003, ts: 3500, at: 150, wantSeq: 104, wantTS: 21000},
			{op: "w", seq: 5002, ts: 3500, at: 151, wantSeq: 103, wantTS: 21000}, // late, still forwarded
		}},
		{"resync closes a gap, keeps time", []in{
			{op: "w", seq: 10, ts: 100, wantSeq: 10, wantTS: 100},
			{op: "r", seq: 50, ts: 400},
			{op: "w", seq: 50, ts: 400, wantSeq: 11, wantTS: 400},
			{op: "w", seq: 51, ts: 400, wantSeq: 12, wantTS: 400},
		}},
		{"wraps around", []in{
			{op: "w", seq: 65534, ts: 0, wantSeq: 65534},
			{op: "s", seq: 3, ts: 90, at: 0},
			{op: "w", seq: 3, ts: 90, wantSeq: 65535, wantTS: 1},
			{op: "w", seq: 4, ts: 90, wantSeq: 0, wantTS: 1},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := rewriter{clock: 90000}
			for i, s := range tc.steps {
				now := s.at * int64(time.Millisecond)
				switch s.op {
				case "s":
					r.switchTo(s.seq, s.ts, now)
				case "r":
					r.resync(s.seq)
				default:
					seq, ts, ok := r.rewrite(s.seq, s.ts, now)
					if ok == s.wantDrop || ok && (seq != s.wantSeq || ts != s.wantTS) {
						t.Fatalf("step %d: rewrite(%d, %d) = %d, %d, %v; want %d, %d, drop %v",
							i, s.seq, s.ts, seq, ts, ok, s.wantSeq, s.wantTS, s.wantDrop)
					}
				}
			}
		})
	}
}

func vp8Packet(pic uint16, tl0 uint8, key bool) *packet {
	b := []byte{0x90, 0xc0, 0x80 | byte(pic>>8), byte(pic), tl0, 0x01, 0, 0}
	if key {
		b[5] = 0
	}
	d, err := codec.ParseVP8(b)
	if err != nil {
		panic(err)
	}
	return &packet{payload: b, vp8: d, keyFrame: key}
}

func TestVP8Munger(t *testing.T) {
	var m vp8Munger
	var scratch []byte
	out := func(p *packet) (uint16, uint8) {
		d, _ := codec.ParseVP8(m.rewrite(p, p.payload, &scratch))
		return d.PictureID, d.TL0PICIDX
	}
	first := vp8Packet(1000, 7, true)
	m.switchTo(first)
	if pic, tl0 := out(first); pic != 1000 || tl0 != 7 {
		t.Fatalf("first source rewritten: %d %d", pic, tl0)
	}
	if pic, _ := out(vp8Packet(1001, 7, false)); pic != 1001 {
		t.Fatalf("pic %d", pic)
	}
	// Switch to a layer whose numbering is elsewhere (and wraps).
	next := vp8Packet(32767, 200, true)
	m.switchTo(next)
	if pic, tl0 := out(next); pic != 1002 || tl0 != 8 {
		t.Fatalf("after switch: pic %d tl0 %d, want 1002 8", pic, tl0)
	}
	if pic, tl0 := out(vp8Packet(0, 201, false)); pic != 1003 || tl0 != 9 {
		t.Fatalf("after wrap: pic %d tl0 %d, want 1003 9", pic, tl0)
	}
	if next.payload[3] != 0xff {
		t.Fatal("the shared payload was modified")
	}
}

func TestParseOffer(t *testing.T) {
	pc, err := webrtc.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	tr, err := pc.AddTransceiverFromKind(webrtc.RTPCodecTypeVideo, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
	if err != nil {
		t.Fatal(err)
	}
	_ = tr
	if _, err := pc.AddTransceiverFromKind(webrtc.RTPCodecTypeAudio, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
		t.Fatal(err)
	}
	o, err := pc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	withRIDs := strings.Replace(o.SDP, "a=mid:0\r\n", "a=mid:0\r\na=rid:q send\r\na=rid:h send\r\na=rid:f send\r\na=simulcast:send q;h;f\r\n", 1)
	tests := []struct {
		name    string
		sdp     string
		want    []offeredMedia
		wantErr bool
	}{
		{name: "sendonly video, recvonly audio", sdp: o.SDP, want: []offeredMedia{
			{mid: "0", kind: webrtc.RTPCodecTypeVideo, sending: true},
			{mid: "1", kind: webrtc.RTPCodecTypeAudio},
		}},
		{name: "simulcast", sdp: withRIDs, want: []offeredMedia{
			{mid: "0", kind: webrtc.RTPCodecTypeVideo, sending: true, rids: []string{"q", "h", "f"}},
			{mid: "1", kind: webrtc.RTPCodecTypeAudio},
		}},
		{name: "unknown rid", sdp: strings.Replace(withRIDs, "a=rid:q send", "a=rid:x send", 1), wantErr: true},
		{name: "no mid", sdp: strings.Replace(o.SDP, "a=mid:1\r\n", "", 1), wantErr: true},
		{name: "bad payload type", sdp: strings.Replace(o.SDP, "m=audio 9 UDP/TLS/RTP/SAVPF 111", "m=audio 9 UDP/TLS/RTP/SAVPF 111 300", 1), wantErr: true},
		{name: "payload type without rtpmap", sdp: strings.Replace(o.SDP, "m=audio 9 UDP/TLS/RTP/SAVPF 111", "m=audio 9 UDP/TLS/RTP/SAVPF 111 77", 1), wantErr: true},
		{name: "bad fingerprint", sdp: strings.Replace(o.SDP, "a=fingerprint:sha-256 ", "a=fingerprint:md5 ", -1), wantErr: true},
		{name: "short ufrag", sdp: strings.Replace(o.SDP, "a=ice-ufrag:", "a=ice-ufrag:x\r\na=x-old-ufrag:", -1), wantErr: true},
		{name: "other media", sdp: strings.Replace(o.SDP, "m=audio", "m=text", 1), wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseOffer(tc.sdp)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tc.wantErr)
			}
			if err != nil {
				if !errors.Is(err, ErrBadSDP) {
					t.Fatalf("err %v is not ErrBadSDP", err)
				}
				return
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %+v", got)
			}
			for i := range got {
				g, w := got[i], tc.want[i]
				if g.mid != w.mid || g.kind != w.kind || g.sending != w.sending || strings.Join(g.rids, ",") != strings.Join(w.rids, ",") {
					t.Errorf("m-section %d: got %+v, want %+v", i, g, w)
				}
			}
		})
	}
}

func TestMatchCodec(t *testing.T) {
	h264 := func(fmtp string) webrtc.RTPCodecParameters {
		return webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264, ClockRate: 90000, SDPFmtpLine: fmtp}}
	}
	offered := []webrtc.RTPCodecParameters{
		h264("level-asymmetry-allowed=1;packetization-mode=0;profile-level-id=42001f"),
		h264("level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"),
		{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: "video/vp8", ClockRate: 90000}},
	}
	tests := []struct {
		name string
		want webrtc.RTPCodecCapability
		idx  int
	}{
		{"vp8 case-insensitive", webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8}, 2},
		{"h264 by mode and profile, other level", h264("packetization-mode=1;profile-level-id=42e034").RTPCodecCapability, 1},
		{"h264 profile missing", h264("packetization-mode=1;profile-level-id=640c1f").RTPCodecCapability, -1},
		{"vp9 not offered", webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP9}, -1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, ok := matchCodec(tc.want, offered)
			if ok != (tc.idx >= 0) || ok && c.SDPFmtpLine != offered[tc.idx].SDPFmtpLine {
				t.Fatalf("matchCodec = %+v, %v; want index %d", c, ok, tc.idx)
			}
		})
	}
}

// TestPeerConnectionAPI: the SFU finds the API pion made for a
// PeerConnection (reused transceivers depend on it; a pion upgrade that
// moves it fails here first).
func TestPeerConnectionAPI(t *testing.T) {
	api := webrtc.NewAPI()
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	got := peerConnectionAPI(pc)
	if got == nil {
		t.Fatal("peerConnectionAPI found no API in pion's PeerConnection")
	}
	if got == api {
		t.Fatal("peerConnectionAPI returned the API the PeerConnection came from, not its own")
	}
}
