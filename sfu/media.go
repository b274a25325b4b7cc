package sfu

import (
	"strconv"
	"strings"

	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/cc"
	"github.com/pion/interceptor/pkg/gcc"
	"github.com/pion/interceptor/pkg/nack"
	"github.com/pion/interceptor/pkg/report"
	"github.com/pion/interceptor/pkg/twcc"
	"github.com/pion/rtcp"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
)

// The codecs the SFU negotiates. Payload types follow Chrome's and Pion's
// defaults; the publisher's choice wins in its own m-sections.
var (
	videoFeedback = []webrtc.RTCPFeedback{
		{Type: webrtc.TypeRTCPFBGoogREMB}, {Type: webrtc.TypeRTCPFBTransportCC},
		{Type: webrtc.TypeRTCPFBCCM, Parameter: "fir"}, {Type: webrtc.TypeRTCPFBNACK},
		{Type: webrtc.TypeRTCPFBNACK, Parameter: "pli"},
	}
	audioCodecs = []webrtc.RTPCodecParameters{{
		RTPCodecCapability: webrtc.RTPCodecCapability{
			MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2,
			SDPFmtpLine:  "minptime=10;useinbandfec=1",
			RTCPFeedback: []webrtc.RTCPFeedback{{Type: webrtc.TypeRTCPFBTransportCC}},
		},
		PayloadType: 111,
	}}
	videoCodecs = []webrtc.RTPCodecParameters{
		videoCodec(webrtc.MimeTypeVP8, "", 96),
		rtxCodec(96, 97),
		videoCodec(webrtc.MimeTypeVP9, "profile-id=0", 98),
		rtxCodec(98, 99),
		videoCodec(webrtc.MimeTypeH264, "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42001f", 102),
		rtxCodec(102, 103),
		videoCodec(webrtc.MimeTypeH264, "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f", 106),
		rtxCodec(106, 107),
		videoCodec(webrtc.MimeTypeH264, "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=4d001f", 127),
		rtxCodec(127, 125),
	}
	audioExtensions = []string{sdp.SDESMidURI, sdp.AudioLevelURI, sdp.TransportCCURI}
	videoExtensions = []string{sdp.SDESMidURI, sdp.SDESRTPStreamIDURI, sdp.SDESRepairRTPStreamIDURI, sdp.TransportCCURI}
)

func videoCodec(mime, fmtp string, pt webrtc.PayloadType) webrtc.RTPCodecParameters {
	return webrtc.RTPCodecParameters{
		RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: mime, ClockRate: 90000, SDPFmtpLine: fmtp, RTCPFeedback: videoFeedback},
		PayloadType:        pt,
	}
}

func rtxCodec(apt, pt webrtc.PayloadType) webrtc.RTPCodecParameters {
	return webrtc.RTPCodecParameters{
		RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeRTX, ClockRate: 90000, SDPFmtpLine: "apt=" + strconv.Itoa(int(apt))},
		PayloadType:        pt,
	}
}

func registerMedia(m *webrtc.MediaEngine) error {
	for _, c := range audioCodecs {
		if err := m.RegisterCodec(c, webrtc.RTPCodecTypeAudio); err != nil {
			return err
		}
	}
	for _, c := range videoCodecs {
		if err := m.RegisterCodec(c, webrtc.RTPCodecTypeVideo); err != nil {
			return err
		}
	}
	for _, uri := range audioExtensions {
		if err := m.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: uri}, webrtc.RTPCodecTypeAudio); err != nil {
			return err
		}
	}
	for _, uri := range videoExtensions {
		if err := m.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: uri}, webrtc.RTPCodecTypeVideo); err != nil {
			return err
		}
	}
	return nil
}

// nackBufferPackets is how many sent packets per video subscription the
// SFU keeps to answer NACKs (a power of two): about 1.5 s at 1.5 Mbit/s,
// well beyond any round trip worth retransmitting over.
const nackBufferPackets = 256

// newAPI builds the WebRTC API for one peer: its own media engine (pion
// rewrites it during negotiation) and interceptor chain, so the bandwidth
// estimator it creates belongs to this peer alone.
func (s *SFU) newAPI(p *Peer) (*webrtc.API, error) {
	m := &webrtc.MediaEngine{}
	if err := registerMedia(m); err != nil {
		return nil, err
	}
	lf := s.pionLog
	ir := &interceptor.Registry{}
	// Innermost, so that it sees the RTCP every other interceptor writes
	// (the NACK generator's) as well as the SFU's own.
	ir.Add(&rtcpCounterFactory{m: s.metrics})
	// Order matters: for outgoing RTP the last registered runs first.
	// The estimator sits innermost and sees each packet after the TWCC
	// sequence number is set; the NACK responder sits outside both, so a
	// retransmission passes through them again and gets a fresh TWCC
	// number that the estimator accounts for.
	if s.cfg.BandwidthEstimation {
		f, err := cc.NewInterceptor(func() (cc.BandwidthEstimator, error) {
			return gcc.NewSendSideBWE(
				gcc.SendSideBWEInitialBitrate(s.cfg.InitialBandwidth),
				gcc.SendSideBWEMaxBitrate(s.cfg.MaxBandwidth),
				gcc.SendSideBWEMinBitrate(min(50_000, s.cfg.InitialBandwidth)),
				gcc.SendSideBWEPacer(gcc.NewNoOpPacer()),
				gcc.WithLoggerFactory(lf),
			)
		})
		if err != nil {
			return nil, err
		}
		f.OnNewPeerConnection(func(_ string, e cc.BandwidthEstimator) { p.bwe = e })
		ir.Add(videoOnlyFactory{f})
		hx, err := twcc.NewHeaderExtensionInterceptor()
		if err != nil {
			return nil, err
		}
		ir.Add(videoOnlyFactory{hx})
	}
	responder, err := nack.NewResponderInterceptor(nack.ResponderSize(nackBufferPackets), nack.WithResponderLoggerFactory(lf))
	if err != nil {
		return nil, err
	}
	ir.Add(responder)
	generator, err := nack.NewGeneratorInterceptor(nack.WithGeneratorLoggerFactory(lf))
	if err != nil {
		return nil, err
	}
	ir.Add(generator)
	rr, err := report.NewReceiverInterceptor(report.WithReceiverLoggerFactory(lf))
	if err != nil {
		return nil, err
	}
	ir.Add(rr)
	sr, err := report.NewSenderInterceptor(report.WithSenderLoggerFactory(lf))
	if err != nil {
		return nil, err
	}
	ir.Add(sr)
	// Transport-wide feedback for what publishers send us: their own
	// (browser) bandwidth estimation depends on it.
	fb, err := twcc.NewSenderInterceptor(twcc.WithLoggerFactory(lf))
	if err != nil {
		return nil, err
	}
	ir.Add(fb)
	return webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithInterceptorRegistry(ir), webrtc.WithSettingEngine(s.settings)), nil
}

// videoOnlyFactory applies the interceptors f builds to the video the
// SFU sends only. The estimate exists to choose video layers: audio
// (≈ 40 kbit/s, never adapted) passing through the estimator and getting
// transport-wide sequence numbers cost about a fifth of the CPU per
// forwarded audio packet, for nothing.
type videoOnlyFactory struct{ f interceptor.Factory }

func (v videoOnlyFactory) NewInterceptor(id string) (interceptor.Interceptor, error) {
	i, err := v.f.NewInterceptor(id)
	if err != nil {
		return nil, err
	}
	return &videoOnly{Interceptor: i}, nil
}

type videoOnly struct{ interceptor.Interceptor }

func (v *videoOnly) BindLocalStream(info *interceptor.StreamInfo, w interceptor.RTPWriter) interceptor.RTPWriter {
	if isAudioStream(info) {
		return w
	}
	return v.Interceptor.BindLocalStream(info, w)
}

func (v *videoOnly) UnbindLocalStream(info *interceptor.StreamInfo) {
	if !isAudioStream(info) {
		v.Interceptor.UnbindLocalStream(info)
	}
}

func isAudioStream(info *interceptor.StreamInfo) bool {
	return len(info.MimeType) > 6 && strings.EqualFold(info.MimeType[:6], "audio/")
}

// rtcpCounterFactory builds interceptors that count the NACKs and
// key-frame requests the SFU sends (the NACK generator sends its own).
type rtcpCounterFactory struct{ m *metrics }

func (f *rtcpCounterFactory) NewInterceptor(string) (interceptor.Interceptor, error) {
	return &rtcpCounter{m: f.m}, nil
}

type rtcpCounter struct {
	interceptor.NoOp
	m *metrics
}

func (c *rtcpCounter) BindRTCPWriter(w interceptor.RTCPWriter) interceptor.RTCPWriter {
	return interceptor.RTCPWriterFunc(func(pkts []rtcp.Packet, a interceptor.Attributes) (int, error) {
		for _, p := range pkts {
			switch p.(type) {
			case *rtcp.TransportLayerNack:
				c.m.nacksSent.Inc()
			case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
				c.m.plisSent.Inc()
			}
		}
		return w.Write(pkts, a)
	})
}

// matchCodec finds among offered the codec that carries the same media as
// want (MIME type and, for H.264 and VP9, the profile), and reports
// whether one was found.
func matchCodec(want webrtc.RTPCodecCapability, offered []webrtc.RTPCodecParameters) (webrtc.RTPCodecParameters, bool) {
	for _, c := range offered {
		if !strings.EqualFold(c.MimeType, want.MimeType) {
			continue
		}
		switch {
		case strings.EqualFold(want.MimeType, webrtc.MimeTypeH264):
			if fmtpValue(c.SDPFmtpLine, "packetization-mode") != fmtpValue(want.SDPFmtpLine, "packetization-mode") {
				continue
			}
			// Profile (first two bytes of profile-level-id); the level
			// may differ with level-asymmetry-allowed.
			a, b := fmtpValue(c.SDPFmtpLine, "profile-level-id"), fmtpValue(want.SDPFmtpLine, "profile-level-id")
			if len(a) >= 4 && len(b) >= 4 && !strings.EqualFold(a[:4], b[:4]) {
				continue
			}
		case strings.EqualFold(want.MimeType, webrtc.MimeTypeVP9):
			if pa, pb := fmtpValue(c.SDPFmtpLine, "profile-id"), fmtpValue(want.SDPFmtpLine, "profile-id"); pa != pb && pa != "" && pb != "" {
				continue
			}
		}
		return c, true
	}
	return webrtc.RTPCodecParameters{}, false
}

// fmtpValue returns the value of key in an a=fmtp parameter line.
func fmtpValue(line, key string) string {
	for _, kv := range strings.Split(line, ";") {
		k, v, ok := strings.Cut(strings.TrimSpace(kv), "=")
		if ok && strings.EqualFold(k, key) {
			return v
		}
	}
	return ""
}
