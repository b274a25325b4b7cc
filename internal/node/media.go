package node

import (
	"context"
	"errors"
	"net/netip"
	"net/url"
	"time"

	"github.com/lotse-io/lotse/internal/config"
	"github.com/lotse-io/lotse/internal/secret"
	"github.com/lotse-io/lotse/sfu"
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
		s, err := secret.ReadFile(tc.SecretFile)
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
func (n *Node) mediaAddrs() []netip.AddrPort { return n.sfu.MediaAddrs() }

// startSFU starts the media server. In dev mode it only talks to loopback
// addresses: a developer machine's demo never sends media anywhere else.
func (n *Node) startSFU(deps Deps) error {
	d := sfu.Deps{Log: deps.Log, Registerer: n.reg, Data: dataForwarder{n}, Tracks: dataForwarder{n}}
	if n.cfg.Dev {
		d.RemoteIPFilter = func(a netip.Addr) bool { return a.IsLoopback() }
	}
	s, err := sfu.New(n.cfg.SFU, d)
	if err != nil {
		return &config.Error{Key: "sfu", Msg: err.Error()}
	}
	n.sfu = s
	n.OnShutdown("sfu", func(context.Context) error { return s.Close() })
	n.log.Info().Interface("media", s.MediaAddrs()).Msg("SFU listening")
	return nil
}

// dataForwarder hands data-channel messages to signalling, which knows who
// may co-browse, and publication events to the conversation record (the
// SFU starts before signalling exists).
type dataForwarder struct{ n *Node }

func (f dataForwarder) HandleData(room, participant string, b []byte) {
	f.n.signal.HandleData(room, participant, b)
}

func (f dataForwarder) TrackStarted(room string, t sfu.TrackInfo) { f.n.signal.TrackStarted(room, t) }
func (f dataForwarder) TrackEnded(room string, t sfu.TrackInfo)   { f.n.signal.TrackEnded(room, t) }
