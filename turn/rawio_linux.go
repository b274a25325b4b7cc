//go:build linux

package turn

import (
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
	"os"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// rawUDP does a UDP socket's data-path calls — recvmmsg(2) and sendto(2)
// — as raw system calls. Go's net package wraps each call in the
// scheduler's entersyscall/exitsyscall, and entering a system call after
// the scheduler has been idle wakes the runtime's sysmon thread, which then
// polls every 20 µs and may hand the P to another thread: at media rates
// that was about 7 % of the relay's CPU (perf, 20k packets/s). The socket is
// non-blocking, so these calls never block and need no scheduler help;
// RawConn still parks the goroutine in the netpoller on EAGAIN, exactly as
// the net package does.
type rawUDP struct {
	rc syscall.RawConn
	v6 bool // an AF_INET6 socket (possibly dual-stack)

	// Receiving: one goroutine reads a socket, so no lock.
	hdrs  []unix.Mmsghdr
	iovs  []unix.Iovec
	names [][sockaddrSize]byte
	buf   []byte
	n, i  int
}

// sockaddrSize holds a sockaddr_in6, the larger of the two.
const sockaddrSize = unix.SizeofSockaddrInet6

func newUDPIO(uc *net.UDPConn, batch int) (udpIO, error) {
	rc, err := uc.SyscallConn()
	if err != nil {
		return nil, err
	}
	r := &rawUDP{
		rc:    rc,
		hdrs:  make([]unix.Mmsghdr, batch),
		iovs:  make([]unix.Iovec, batch),
		names: make([][sockaddrSize]byte, batch),
		buf:   make([]byte, batch*batchBufSize),
	}
	var serr error
	if err := rc.Control(func(fd uintptr) {
		var sa unix.Sockaddr
		if sa, serr = unix.Getsockname(int(fd)); serr == nil {
			_, r.v6 = sa.(*unix.SockaddrInet6)
		}
	}); err != nil {
		return nil, err
	}
	if serr != nil {
		return nil, os.NewSyscallError("getsockname", serr)
	}
	for i := range r.hdrs {
		r.iovs[i].Base = &r.buf[i*batchBufSize]
		r.iovs[i].SetLen(batchBufSize)
		r.hdrs[i].Hdr.Name = &r.names[i][0]
		r.hdrs[i].Hdr.Iov = &r.iovs[i]
		r.hdrs[i].Hdr.SetIovlen(1)
	}
	return r, nil
}

// next returns the next datagram and its source; the bytes are valid
// until the following call.
func (r *rawUDP) next() ([]byte, netip.AddrPort, error) {
	for r.i >= r.n {
		var n int
		var errno syscall.Errno
		err := r.rc.Read(func(fd uintptr) bool {
			for i := range r.hdrs {
				r.hdrs[i].Hdr.Namelen = sockaddrSize
				r.hdrs[i].Hdr.Flags = 0
			}
			got, _, e := syscall.RawSyscall6(unix.SYS_RECVMMSG, fd,
				uintptr(unsafe.Pointer(&r.hdrs[0])), uintptr(len(r.hdrs)), unix.MSG_DONTWAIT, 0, 0)
			if e == syscall.EAGAIN {
				return false // wait in the netpoller
			}
			n, errno = int(got), e
			return true
		})
		switch {
		case err != nil:
			return nil, netip.AddrPort{}, err
		case errno == syscall.EINTR:
			continue
		case errno != 0:
			return nil, netip.AddrPort{}, os.NewSyscallError("recvmmsg", errno)
		}
		r.n, r.i = n, 0
	}
	i := r.i
	r.i++
	size := min(int(r.hdrs[i].Len), batchBufSize)
	return r.buf[i*batchBufSize : i*batchBufSize+size], parseSockaddr(&r.names[i]), nil
}

// parseSockaddr reads a sockaddr_in or sockaddr_in6 (IPv4-mapped
// addresses unmapped).
func parseSockaddr(b *[sockaddrSize]byte) netip.AddrPort {
	port := binary.BigEndian.Uint16(b[2:4])
	switch binary.NativeEndian.Uint16(b[0:2]) {
	case unix.AF_INET:
		return netip.AddrPortFrom(netip.AddrFrom4([4]byte(b[4:8])), port)
	case unix.AF_INET6:
		return netip.AddrPortFrom(netip.AddrFrom16([16]byte(b[8:24])).Unmap(), port)
	}
	return netip.AddrPort{}
}

var errFamily = errors.New("turn: destination address family does not match the socket")

// writeTo sends p to the socket address to; safe for concurrent use.
func (r *rawUDP) writeTo(p []byte, to netip.AddrPort) error {
	var sa [sockaddrSize]byte
	salen := uintptr(unix.SizeofSockaddrInet4)
	a := to.Addr().Unmap()
	switch {
	case r.v6:
		binary.NativeEndian.PutUint16(sa[0:2], unix.AF_INET6)
		b := a.As16() // IPv4 becomes ::ffff:a.b.c.d on a dual-stack socket
		copy(sa[8:24], b[:])
		salen = unix.SizeofSockaddrInet6
	case a.Is4():
		binary.NativeEndian.PutUint16(sa[0:2], unix.AF_INET)
		b := a.As4()
		copy(sa[4:8], b[:])
	default:
		return errFamily
	}
	binary.BigEndian.PutUint16(sa[2:4], to.Port())
	var base unsafe.Pointer
	if len(p) > 0 {
		base = unsafe.Pointer(&p[0])
	}
	var errno syscall.Errno
	err := r.rc.Write(func(fd uintptr) bool {
		_, _, e := syscall.RawSyscall6(unix.SYS_SENDTO, fd, uintptr(base), uintptr(len(p)),
			unix.MSG_DONTWAIT, uintptr(unsafe.Pointer(&sa[0])), salen)
		if e == syscall.EAGAIN {
			return false // socket buffer full: wait until writable, as net does
		}
		errno = e
		return true
	})
	if err != nil {
		return err
	}
	if errno != 0 {
		return os.NewSyscallError("sendto", errno)
	}
	return nil
}
