//go:build !linux

package turn

import (
	"net"
	"net/netip"

	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
)

// batchUDP is the portable data path: reads through x/net's ReadBatch
// (one message per call outside Linux) and writes through the net package.
type batchUDP struct {
	uc *net.UDPConn
	pc interface {
		ReadBatch([]ipv4.Message, int) (int, error)
	}
	msgs []ipv4.Message
	n, i int
}

func newUDPIO(uc *net.UDPConn, size int) (udpIO, error) {
	b := &batchUDP{uc: uc, msgs: make([]ipv4.Message, size)}
	if a, ok := uc.LocalAddr().(*net.UDPAddr); ok && a.IP.To4() == nil {
		b.pc = ipv6.NewPacketConn(uc)
	} else {
		b.pc = ipv4.NewPacketConn(uc)
	}
	buf := make([]byte, size*batchBufSize)
	for i := range b.msgs {
		b.msgs[i].Buffers = [][]byte{buf[i*batchBufSize : (i+1)*batchBufSize]}
	}
	return b, nil
}

func (b *batchUDP) next() ([]byte, netip.AddrPort, error) {
	for b.i >= b.n {
		n, err := b.pc.ReadBatch(b.msgs, 0)
		if err != nil {
			return nil, netip.AddrPort{}, err
		}
		b.n, b.i = n, 0
	}
	m := &b.msgs[b.i]
	b.i++
	ap := addrPortOf(m.Addr)
	return m.Buffers[0][:m.N], netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()), nil
}

func (b *batchUDP) writeTo(p []byte, to netip.AddrPort) error {
	_, err := b.uc.WriteToUDPAddrPort(p, to)
	return err
}
