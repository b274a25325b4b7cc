package turn

import "net/netip"

// Batch sizes for reading datagrams: the listener socket carries every
// client's packets, a relay socket one allocation's peer traffic.
const (
	listenerBatch = 64
	relayBatch    = 8
	// batchBufSize holds any datagram pion accepts (its buffers are 1600
	// bytes; longer ones arrive truncated to 1600 and are dropped by pion,
	// as they would be with a plain read).
	batchBufSize = 1600
)

// udpIO is the data path of one UDP socket: batched reads by the one
// goroutine that reads it, and writes from any goroutine. rawio_linux.go
// implements it with raw recvmmsg/sendto, batch.go portably.
type udpIO interface {
	// next returns the next datagram (valid until the following call)
	// and its source, IPv4-mapped addresses unmapped.
	next() ([]byte, netip.AddrPort, error)
	// writeTo sends p to the address.
	writeTo(p []byte, to netip.AddrPort) error
}
