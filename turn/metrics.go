package turn

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// Denial paths (the "path" label of lotse_turn_peer_denials_total).
const (
	pathPermission = "permission"  // CreatePermission, ChannelBind, Connect (per IP)
	pathSend       = "send"        // a packet towards a peer (per ip:port)
	pathReceive    = "receive"     // a packet from a peer (per ip:port)
	pathTCPConnect = "tcp_connect" // an RFC 6062 outgoing connection
	pathTCPAccept  = "tcp_accept"  // an RFC 6062 incoming connection
)

// Allocation refusal reasons.
const (
	rejectUserQuota = "user_quota"
	rejectNodeQuota = "node_quota"
	rejectDraining  = "draining"
	rejectNoPort    = "no_relay_port"
	rejectFamily    = "address_family"
)

// metrics are the relay's Prometheus metrics. The per-packet ones are
// resolved to plain counters once, so the data path only adds atomically.
type metrics struct {
	allocsCreated   *prometheus.CounterVec // transport
	allocsRejected  *prometheus.CounterVec // reason
	bytesToPeer     prometheus.Counter
	bytesFromPeer   prometheus.Counter
	packetsToPeer   prometheus.Counter
	packetsFromPeer prometheus.Counter
	denials         *prometheus.CounterVec // path, reason
	authFailures    *prometheus.CounterVec // reason
	dropBandwidth   prometheus.Counter
	connsRejected   prometheus.Counter
}

func newMetrics(reg prometheus.Registerer, allocs, conns func() float64) (*metrics, error) {
	relayedBytes := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "lotse_turn_relayed_bytes_total",
		Help: "Payload bytes relayed, by direction (to_peer: client to peer, from_peer: peer to client).",
	}, []string{"direction"})
	relayedPackets := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "lotse_turn_relayed_packets_total",
		Help: "Packets (UDP) or reads (TCP) relayed, by direction.",
	}, []string{"direction"})
	dropped := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "lotse_turn_dropped_packets_total",
		Help: "Relayed packets dropped by a limit, by reason.",
	}, []string{"reason"})
	m := &metrics{
		allocsCreated: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lotse_turn_allocations_created_total",
			Help: "Allocations created, by relay transport (udp, tcp).",
		}, []string{"transport"}),
		allocsRejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lotse_turn_allocations_rejected_total",
			Help: "Allocate requests refused by a quota or for lack of resources, by reason.",
		}, []string{"reason"}),
		bytesToPeer:     relayedBytes.WithLabelValues("to_peer"),
		bytesFromPeer:   relayedBytes.WithLabelValues("from_peer"),
		packetsToPeer:   relayedPackets.WithLabelValues("to_peer"),
		packetsFromPeer: relayedPackets.WithLabelValues("from_peer"),
		denials: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lotse_turn_peer_denials_total",
			Help: "Peer addresses refused by the peer guard, by path (permission, send, receive, tcp_connect, tcp_accept) and reason.",
		}, []string{"path", "reason"}),
		authFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lotse_turn_auth_failures_total",
			Help: "Requests refused with 401 for bad credentials, by reason.",
		}, []string{"reason"}),
		dropBandwidth: dropped.WithLabelValues("bandwidth"),
		connsRejected: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "lotse_turn_connections_rejected_total",
			Help: "TCP/TLS client connections closed at once because max_connections was reached.",
		}),
	}
	for _, c := range []prometheus.Collector{m.allocsCreated, m.allocsRejected, relayedBytes, relayedPackets, dropped,
		m.denials, m.authFailures, m.connsRejected,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "lotse_turn_allocations",
			Help: "Live allocations.",
		}, allocs),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "lotse_turn_connections",
			Help: "Open TCP and TLS client connections.",
		}, conns),
	} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("turn: register metrics: %w", err)
		}
	}
	// Make every series visible from the start, so that rate() works and
	// dashboards show zeros rather than gaps.
	for _, r := range []string{authMalformed, authExpired, authTooLong, authRealm, authIntegrity} {
		m.authFailures.WithLabelValues(r)
	}
	for _, r := range []string{rejectUserQuota, rejectNodeQuota, rejectDraining, rejectNoPort, rejectFamily} {
		m.allocsRejected.WithLabelValues(r)
	}
	for _, t := range []string{"udp", "tcp"} {
		m.allocsCreated.WithLabelValues(t)
	}
	for _, p := range []string{pathPermission, pathSend, pathReceive, pathTCPConnect, pathTCPAccept} {
		for _, r := range append([]string{reasonOperatorDeny, reasonNotAllowed, reasonPort}, specialReasons()...) {
			m.denials.WithLabelValues(p, r)
		}
	}
	return m, nil
}
