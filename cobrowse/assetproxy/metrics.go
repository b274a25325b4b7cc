package assetproxy

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	served        *prometheus.CounterVec // by source (cache, fetch)
	refused       *prometheus.CounterVec // by reason
	upstreamBytes prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		served: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "lotse", Subsystem: "cobrowse_assets", Name: "served_total",
			Help: "Assets served to viewers, by source (cache, fetch).",
		}, []string{"source"}),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "lotse", Subsystem: "cobrowse_assets", Name: "refused_total",
			Help: "Asset requests refused, by reason.",
		}, []string{"reason"}),
		upstreamBytes: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "lotse", Subsystem: "cobrowse_assets", Name: "upstream_bytes_total",
			Help: "Bytes fetched from tenants' sites.",
		}),
	}
	if reg != nil {
		reg.MustRegister(m.served, m.refused, m.upstreamBytes)
	}
	return m
}
