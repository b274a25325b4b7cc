package sfu

import (
	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the SFU's Prometheus metrics. Per-packet paths only touch
// pre-resolved counters (an atomic add each); nothing is logged per packet.
type metrics struct {
	rooms        prometheus.Gauge
	participants prometheus.Gauge
	tracks       *prometheus.GaugeVec

	fwdPackets      [2]prometheus.Counter // by kindIndex
	fwdBytes        [2]prometheus.Counter
	dropQueue       prometheus.Counter
	dropKeyWait     prometheus.Counter
	dropWrite       prometheus.Counter
	nacksReceived   prometheus.Counter
	nacksSent       prometheus.Counter
	plisReceived    prometheus.Counter
	plisSent        prometheus.Counter
	plisSuppressed  prometheus.Counter
	switchUp        prometheus.Counter
	switchDown      prometheus.Counter
	switchPause     prometheus.Counter
	offersRejected  *prometheus.CounterVec
	glare           prometheus.Counter
	iceRestarts     *prometheus.CounterVec
	peerFailures    prometheus.Counter
	answerTimeouts  prometheus.Counter
	dataIn          prometheus.Counter
	dataOut         prometheus.Counter
	dataDropped     *prometheus.CounterVec
	signalsSent     *prometheus.CounterVec
	pionLogsDropped prometheus.Counter
}

const (
	kindAudio = 0
	kindVideo = 1
)

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	counter := func(name, help string) prometheus.Counter {
		return prometheus.NewCounter(prometheus.CounterOpts{Name: name, Help: help})
	}
	fwdPackets := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "lotse_sfu_forwarded_packets_total",
		Help: "RTP packets written to subscribers, by kind (audio, video).",
	}, []string{"kind"})
	fwdBytes := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "lotse_sfu_forwarded_bytes_total",
		Help: "RTP payload bytes written to subscribers, by kind.",
	}, []string{"kind"})
	drops := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "lotse_sfu_dropped_packets_total",
		Help: "Packets not forwarded to a subscriber: queue_full (slow subscriber), key_frame_wait (discarded until the next key frame after a drop), write_error.",
	}, []string{"reason"})
	nacks := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "lotse_sfu_nacks_total",
		Help: "RTCP NACK packets: received from subscribers (answered from the retransmission buffer) and sent to publishers.",
	}, []string{"direction"})
	plis := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "lotse_sfu_plis_total",
		Help: "Key-frame requests (PLI/FIR): received from subscribers, sent to publishers, suppressed by the rate limit.",
	}, []string{"direction"})
	switches := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "lotse_sfu_layer_switches_total",
		Help: "Simulcast layer switches made for subscribers: up, down, pause.",
	}, []string{"direction"})
	m := &metrics{
		rooms:        prometheus.NewGauge(prometheus.GaugeOpts{Name: "lotse_sfu_rooms", Help: "Rooms open on this node."}),
		participants: prometheus.NewGauge(prometheus.GaugeOpts{Name: "lotse_sfu_participants", Help: "Participants connected to this node's rooms."}),
		tracks: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "lotse_sfu_tracks", Help: "Published tracks, by kind.",
		}, []string{"kind"}),
		fwdPackets:     [2]prometheus.Counter{fwdPackets.WithLabelValues("audio"), fwdPackets.WithLabelValues("video")},
		fwdBytes:       [2]prometheus.Counter{fwdBytes.WithLabelValues("audio"), fwdBytes.WithLabelValues("video")},
		dropQueue:      drops.WithLabelValues("queue_full"),
		dropKeyWait:    drops.WithLabelValues("key_frame_wait"),
		dropWrite:      drops.WithLabelValues("write_error"),
		nacksReceived:  nacks.WithLabelValues("received"),
		nacksSent:      nacks.WithLabelValues("sent"),
		plisReceived:   plis.WithLabelValues("received"),
		plisSent:       plis.WithLabelValues("sent"),
		plisSuppressed: plis.WithLabelValues("suppressed"),
		switchUp:       switches.WithLabelValues("up"),
		switchDown:     switches.WithLabelValues("down"),
		switchPause:    switches.WithLabelValues("pause"),
		offersRejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lotse_sfu_offers_rejected_total",
			Help: "Client offers refused: bad_sdp, grants, too_many_tracks.",
		}, []string{"reason"}),
		glare: counter("lotse_sfu_glare_total", "Client offers ignored because the SFU's own offer was outstanding (the client rolls back)."),
		iceRestarts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lotse_sfu_ice_restarts_total",
			Help: "ICE restarts, by initiator (sfu, client).",
		}, []string{"initiator"}),
		peerFailures:   counter("lotse_sfu_peer_failures_total", "Peer connections that reached the failed state (client told to restart)."),
		answerTimeouts: counter("lotse_sfu_answer_timeouts_total", "SFU offers left unanswered for answer_timeout (client told to rejoin)."),
		dataIn:         counter("lotse_sfu_data_messages_received_total", "Data-channel messages received from participants."),
		dataOut:        counter("lotse_sfu_data_messages_sent_total", "Data-channel messages sent to participants."),
		dataDropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lotse_sfu_data_messages_dropped_total",
			Help: "Data-channel messages dropped: too_large, backpressure, not_open, no_handler.",
		}, []string{"reason"}),
		signalsSent: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lotse_sfu_signals_total",
			Help: "Signals the SFU sent to clients, by kind.",
		}, []string{"kind"}),
		pionLogsDropped: counter("lotse_sfu_pion_logs_dropped_total", "WebRTC library log lines dropped by the log rate limit."),
	}
	cs := []prometheus.Collector{
		m.rooms, m.participants, m.tracks, fwdPackets, fwdBytes, drops, nacks, plis, switches,
		m.offersRejected, m.glare, m.iceRestarts, m.peerFailures, m.answerTimeouts, m.dataIn, m.dataOut, m.dataDropped,
		m.signalsSent, m.pionLogsDropped,
	}
	for _, c := range cs {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}
