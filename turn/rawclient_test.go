package turn

import (
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/pion/stun/v4"
)

// rawClient is a minimal TURN client written against the RFCs, for what
// the pion client cannot be made to do: send a chosen realm, encode an
// IPv4-mapped peer as an IPv6 XOR-PEER-ADDRESS, or send requests without
// sending data. It returns the exact error codes.
type rawClient struct {
	t                testing.TB
	conn             net.Conn
	user, pass       string
	realm, nonce     string
	realmOverride    string         // sent instead of the server's realm, if set
	skipIntegrity    bool           // send USERNAME etc. but no MESSAGE-INTEGRITY
	tamperedPassword string         // compute MESSAGE-INTEGRITY with this password instead
	relayed          netip.AddrPort // from the last successful Allocate
	last             *stun.Message  // the last response to request
}

func newRawClient(t testing.TB, network, server, user, pass string) *rawClient {
	t.Helper()
	c, err := net.Dial(network, server)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &rawClient{t: t, conn: c, user: user, pass: pass}
}

// Attribute setters the stun package does not have.
func requestedTransportUDP() stun.Setter {
	return stun.RawAttribute{Type: stun.AttrRequestedTransport, Value: []byte{17, 0, 0, 0}}
}

func requestedFamilyIPv6() stun.Setter {
	return stun.RawAttribute{Type: stun.AttrRequestedAddressFamily, Value: []byte{2, 0, 0, 0}}
}

func requestedTransportTCP() stun.Setter {
	return stun.RawAttribute{Type: stun.AttrRequestedTransport, Value: []byte{6, 0, 0, 0}}
}

func channelNumber(n uint16) stun.Setter {
	return stun.RawAttribute{Type: stun.AttrChannelNumber, Value: []byte{byte(n >> 8), byte(n), 0, 0}}
}

func dataAttr(b []byte) stun.Setter { return stun.RawAttribute{Type: stun.AttrData, Value: b} }

// xorPeer encodes ap as XOR-PEER-ADDRESS (RFC 8656 §14.3, the
// XOR-MAPPED-ADDRESS format of RFC 8489 §14.2). With as6, an IPv4 or
// IPv4-mapped address is sent as a 16-byte IPv6 address ::ffff:a.b.c.d.
func xorPeer(ap netip.AddrPort, as6 bool, txID [stun.TransactionIDSize]byte) stun.Setter {
	var key [16]byte
	binary.BigEndian.PutUint32(key[:4], magicCookie)
	copy(key[4:], txID[:])
	var addr []byte
	family := byte(1)
	if a := ap.Addr(); a.Is4() && !as6 {
		b := a.As4()
		addr = b[:]
	} else {
		b := a.As16()
		addr, family = b[:], 2
	}
	v := make([]byte, 4+len(addr))
	v[1] = family
	binary.BigEndian.PutUint16(v[2:], ap.Port()^uint16(magicCookie>>16))
	for i := range addr {
		v[4+i] = addr[i] ^ key[i]
	}
	return stun.RawAttribute{Type: stun.AttrXORPeerAddress, Value: v}
}

// send writes m (over TCP as is: STUN messages frame themselves).
func (c *rawClient) send(m *stun.Message) {
	c.t.Helper()
	if _, err := c.conn.Write(m.Raw); err != nil {
		c.t.Fatal(err)
	}
}

// roundTrip sends the request built by build (called again for each
// retransmission, with the same transaction id) and returns the response.
func (c *rawClient) roundTrip(build func(id [stun.TransactionIDSize]byte) *stun.Message) *stun.Message {
	c.t.Helper()
	id := stun.NewTransactionID()
	m := build(id)
	buf := make([]byte, 2048)
	for try := 0; try < 5; try++ {
		c.send(m)
		c.conn.SetReadDeadline(time.Now().Add(time.Duration(200<<try) * time.Millisecond))
		for {
			n, err := c.conn.Read(buf)
			if err != nil {
				var ne net.Error
				if errors.As(err, &ne) && ne.Timeout() {
					break
				}
				c.t.Fatal(err)
			}
			res := &stun.Message{Raw: append([]byte(nil), buf[:n]...)}
			if res.Decode() != nil || res.TransactionID != id {
				continue // a data indication or a late answer
			}
			return res
		}
	}
	c.t.Fatalf("no answer to %v", m.Type)
	return nil
}

// code returns a response's error code, 0 for success.
func code(res *stun.Message) int {
	if res.Type.Class == stun.ClassSuccessResponse {
		return 0
	}
	var ec stun.ErrorCodeAttribute
	if err := ec.GetFrom(res); err != nil {
		return -1
	}
	return int(ec.Code)
}

// request sends an authenticated request (getting a nonce first if
// needed) and returns the error code (0 success).
func (c *rawClient) request(method stun.Method, attrs func(id [stun.TransactionIDSize]byte) []stun.Setter) int {
	c.t.Helper()
	for attempt := 0; attempt < 3; attempt++ {
		res := c.roundTrip(func(id [stun.TransactionIDSize]byte) *stun.Message {
			setters := []stun.Setter{stun.NewTransactionIDSetter(id), stun.NewType(method, stun.ClassRequest)}
			setters = append(setters, attrs(id)...)
			if c.nonce != "" {
				realm := c.realm
				if c.realmOverride != "" {
					realm = c.realmOverride
				}
				pass := c.pass
				if c.tamperedPassword != "" {
					pass = c.tamperedPassword
				}
				setters = append(setters, stun.NewUsername(c.user), stun.NewRealm(realm), stun.NewNonce(c.nonce))
				if !c.skipIntegrity {
					setters = append(setters, stun.NewLongTermIntegrity(c.user, realm, pass))
				}
			}
			setters = append(setters, stun.Fingerprint)
			m, err := stun.Build(setters...)
			if err != nil {
				c.t.Fatal(err)
			}
			return m
		})
		c.last = res
		ec := code(res)
		var nonce stun.Nonce
		var realm stun.Realm
		fresh := c.nonce == ""
		if (ec == 401 || ec == 438) && nonce.GetFrom(res) == nil && realm.GetFrom(res) == nil {
			c.nonce, c.realm = nonce.String(), realm.String()
			if ec == 438 || fresh {
				continue // first challenge or stale nonce: try again with it
			}
		}
		return ec
	}
	return 401
}

// allocate requests a UDP allocation (IPv6 relay address if v6) and
// remembers the relayed address.
func (c *rawClient) allocate(v6 bool) int {
	c.t.Helper()
	ec := c.request(stun.MethodAllocate, func([stun.TransactionIDSize]byte) []stun.Setter {
		s := []stun.Setter{requestedTransportUDP()}
		if v6 {
			s = append(s, requestedFamilyIPv6())
		}
		return s
	})
	if ec == 0 {
		var ra stun.XORMappedAddress
		if err := ra.GetFromAs(c.last, stun.AttrXORRelayedAddress); err != nil {
			c.t.Fatalf("Allocate response without XOR-RELAYED-ADDRESS: %v", err)
		}
		ip, _ := netip.AddrFromSlice(ra.IP)
		c.relayed = netip.AddrPortFrom(ip.Unmap(), uint16(ra.Port))
	}
	return ec
}

func (c *rawClient) createPermission(peer netip.AddrPort, as6 bool) int {
	c.t.Helper()
	return c.request(stun.MethodCreatePermission, func(id [stun.TransactionIDSize]byte) []stun.Setter {
		return []stun.Setter{xorPeer(peer, as6, id)}
	})
}

func (c *rawClient) channelBind(ch uint16, peer netip.AddrPort, as6 bool) int {
	c.t.Helper()
	return c.request(stun.MethodChannelBind, func(id [stun.TransactionIDSize]byte) []stun.Setter {
		return []stun.Setter{channelNumber(ch), xorPeer(peer, as6, id)}
	})
}

// sendIndication asks the relay to send data to peer (no answer expected).
func (c *rawClient) sendIndication(peer netip.AddrPort, as6 bool, data []byte) {
	c.t.Helper()
	id := stun.NewTransactionID()
	m, err := stun.Build(stun.NewTransactionIDSetter(id), stun.NewType(stun.MethodSend, stun.ClassIndication),
		xorPeer(peer, as6, id), dataAttr(data), stun.Fingerprint)
	if err != nil {
		c.t.Fatal(err)
	}
	c.send(m)
}

// channelData sends a ChannelData message (RFC 8656 §12.4).
func (c *rawClient) channelData(ch uint16, data []byte) {
	c.t.Helper()
	b := make([]byte, 4+len(data)+(4-len(data)%4)%4)
	binary.BigEndian.PutUint16(b, ch)
	binary.BigEndian.PutUint16(b[2:], uint16(len(data)))
	copy(b[4:], data)
	if _, err := c.conn.Write(b); err != nil {
		c.t.Fatal(err)
	}
}

// binding sends a Binding request and reports whether it was answered.
func (c *rawClient) binding() bool {
	c.t.Helper()
	res := c.roundTrip(func(id [stun.TransactionIDSize]byte) *stun.Message {
		m, err := stun.Build(stun.NewTransactionIDSetter(id), stun.BindingRequest, stun.Fingerprint)
		if err != nil {
			c.t.Fatal(err)
		}
		return m
	})
	return code(res) == 0
}

// magicCookie is STUN's fixed header value (RFC 8489 §5).
const magicCookie = 0x2112A442

// readChannelData waits for a ChannelData message (skipping anything else)
// and returns its channel number and data, checking its padding.
func (c *rawClient) readChannelData(d time.Duration) (uint16, []byte, bool) {
	c.t.Helper()
	buf := make([]byte, 2048)
	c.conn.SetReadDeadline(time.Now().Add(d))
	for {
		n, err := c.conn.Read(buf)
		if err != nil {
			return 0, nil, false
		}
		if n < 4 || buf[0]&0xc0 != 0x40 {
			continue
		}
		l := int(binary.BigEndian.Uint16(buf[2:4]))
		if 4+l > n {
			c.t.Fatalf("ChannelData of %d bytes claims %d", n, l)
		}
		return binary.BigEndian.Uint16(buf), append([]byte(nil), buf[4:4+l]...), true
	}
}
