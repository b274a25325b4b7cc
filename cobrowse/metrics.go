package cobrowse

import "github.com/prometheus/client_golang/prometheus"

// metrics are the relay's Prometheus series. The per-frame paths count
// here instead of logging.
type metrics struct {
	frames        *prometheus.CounterVec // by direction and kind
	bytesIn       prometheus.Counter
	bytesOut      prometheus.Counter
	invalid       *prometheus.CounterVec // by reason
	snapRequests  *prometheus.CounterVec // by reason
	viewerResets  prometheus.Counter
	dropped       *prometheus.CounterVec // by queue
	conversations prometheus.Gauge
	viewers       prometheus.Gauge
	heldBytes     prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		frames: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "lotse", Subsystem: "cobrowse", Name: "frames_total",
			Help: "Co-browse frames received, by sender (customer, viewer) and kind.",
		}, []string{"from", "kind"}),
		bytesIn: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "lotse", Subsystem: "cobrowse", Name: "received_bytes_total",
			Help: "Bytes of co-browse messages received.",
		}),
		bytesOut: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "lotse", Subsystem: "cobrowse", Name: "sent_bytes_total",
			Help: "Bytes of co-browse messages handed to participants' transports.",
		}),
		invalid: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "lotse", Subsystem: "cobrowse", Name: "invalid_frames_total",
			Help: "Frames dropped because they failed validation, by reason.",
		}, []string{"reason"}),
		snapRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "lotse", Subsystem: "cobrowse", Name: "snapshot_requests_total",
			Help: "Fresh snapshots asked of customers, by reason.",
		}, []string{"reason"}),
		viewerResets: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "lotse", Subsystem: "cobrowse", Name: "viewer_resets_total",
			Help: "Times a viewer was reset to the held state (slow viewer or its request).",
		}),
		dropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "lotse", Subsystem: "cobrowse", Name: "dropped_frames_total",
			Help: "Frames dropped because a queue was full, by queue (customer, viewer).",
		}, []string{"queue"}),
		conversations: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "lotse", Subsystem: "cobrowse", Name: "conversations",
			Help: "Conversations with co-browse state on this node.",
		}),
		viewers: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "lotse", Subsystem: "cobrowse", Name: "viewers",
			Help: "Attached co-browse viewers.",
		}),
		heldBytes: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "lotse", Subsystem: "cobrowse", Name: "held_bytes",
			Help: "Bytes of snapshots and events held for late viewers.",
		}),
	}
	if reg != nil {
		reg.MustRegister(m.frames, m.bytesIn, m.bytesOut, m.invalid, m.snapRequests,
			m.viewerResets, m.dropped, m.conversations, m.viewers, m.heldBytes)
	}
	return m
}
