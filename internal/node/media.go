package node

import (
	"context"
	"errors"
	"net/netip"
	"net/url"
	"time"

	"github.com/lotse-io/lotse/internal/config"
	"github.com/lotse-io/lotse/signaling/wire"
	"github.com/lotse-io/lotse/turn"
)

// startTURN starts the embedded TURN relay when it is enabled, with the
// shared secret from the configuration or, by default, one kept in the
// data directory.
func (n *Node) startTURN(deps Deps) error {
	tc := n.cfg.TURN
	if !tc.Enabled {
		return nil
	}
	if tc.Secret == "" && tc.SecretFile == "" {
		s, err := turn.LoadOrCreateSecret(n.cfg.DataDir)
		if err != nil {
			return err
		}
		tc.Secret = s
	}
	ts, err := turn.New(tc, turn.Deps{Log: deps.Log, Registerer: n.reg, MediaAddrs: n.mediaAddrs, Now: deps.Now})
	var ce *turn.ConfigError
	if errors.As(err, &ce) {
		return &config.Error{Key: "turn." + ce.Key, Msg: ce.Msg}
	}
	if err != nil {
		return err
	}
	if err := ts.Start(context.Background()); err != nil {
		if errors.As(err, &ce) {
			return &config.Error{Key: "turn." + ce.Key, Msg: ce.Msg}
		}
		return err
	}
	n.turn = ts
	n.OnShutdown("turn", func(context.Context) error { return ts.Close() })
	udp, tcp, tls := ts.Addrs()
	n.log.Info().Stringer("udp", udp).Stringer("tcp", tcp).Stringer("tls", tls).Msg("TURN relay listening")
	return nil
}

// iceServers returns the ICE servers for a participant: our relay (UDP,
// TCP and TLS URLs with fresh REST credentials) and any external relays.
// There is never a public STUN server.
func (n *Node) iceServers(participantID string) []wire.ICEServer {
	var out []wire.ICEServer
	now := time.Now()
	if n.turn != nil {
		host := ""
		if u, err := url.Parse(n.cfg.PublicURL); err == nil {
			host = u.Hostname()
		}
		list, _ := n.turn.ICEServers(participantID, host, now)
		out = append(out, toWire(list)...)
	}
	if len(n.cfg.TURN.ExternalURLs) > 0 {
		if secret := n.turnSecret(); secret != nil {
			list, _ := turn.ExternalICEServers(n.cfg.TURN, secret, participantID, now)
			out = append(out, toWire(list)...)
		}
	}
	return out
}

func (n *Node) turnSecret() []byte {
	tc := n.cfg.TURN
	switch {
	case tc.Secret != "":
		return []byte(tc.Secret.Reveal())
	case tc.SecretFile != "":
		s, err := config.ReadSecretFile(tc.SecretFile)
		if err == nil {
			return []byte(s.Reveal())
		}
	default:
		s, err := turn.LoadOrCreateSecret(n.cfg.DataDir)
		if err == nil {
			return []byte(s.Reveal())
		}
	}
	return nil
}

func toWire(list []turn.ICEServer) []wire.ICEServer {
	out := make([]wire.ICEServer, 0, len(list))
	for _, s := range list {
		out = append(out, wire.ICEServer{URLs: s.URLs, Username: s.Username, Credential: s.Credential})
	}
	return out
}

// mediaAddrs are the SFU's advertised media addresses: the only peers the
// embedded relay reaches.
func (n *Node) mediaAddrs() []netip.AddrPort {
	return nil // the SFU registers its addresses here once it runs in the node
}
