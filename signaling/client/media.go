package client

import (
	"github.com/pion/webrtc/v4"

	"github.com/lotse-io/lotse/sfu"
	"github.com/lotse-io/lotse/sfu/sfuclient"
	"github.com/lotse-io/lotse/signaling/wire"
	"github.com/lotse-io/lotse/signaling/wire/sfuwire"
)

// ConnectMedia creates an SFU media client that negotiates over this
// signalling connection: the server's media messages go to it, its signals
// go to the server. ICE servers come from Joined (our TURN relay).
func (c *Client) ConnectMedia(cfg sfuclient.Config, ice []wire.ICEServer) (*sfuclient.Client, error) {
	for _, s := range ice {
		cfg.ICEServers = append(cfg.ICEServers, webrtc.ICEServer{URLs: s.URLs, Username: s.Username, Credential: s.Credential})
	}
	mc, err := sfuclient.New(cfg, sfuclient.TransportFunc(func(s sfu.Signal) { _ = c.Send(sfuwire.ToWire(s)) }))
	if err != nil {
		return nil, err
	}
	c.OnMedia(func(m *wire.Media) { _ = mc.Handle(sfuwire.FromWire(m)) })
	return mc, nil
}
