package assetproxy

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strconv"
)

// deniedPrefixes are ranges that are not private in netip's sense but must
// never be contacted either: shared address space, benchmarking,
// documentation, reserved, and IPv6 forms that embed IPv4 addresses.
var deniedPrefixes = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),
	netip.MustParsePrefix("100.64.0.0/10"),
	netip.MustParsePrefix("192.0.0.0/24"),
	netip.MustParsePrefix("192.0.2.0/24"),
	netip.MustParsePrefix("198.18.0.0/15"),
	netip.MustParsePrefix("198.51.100.0/24"),
	netip.MustParsePrefix("203.0.113.0/24"),
	netip.MustParsePrefix("240.0.0.0/4"),
	netip.MustParsePrefix("64:ff9b::/96"),
	netip.MustParsePrefix("64:ff9b:1::/48"),
	netip.MustParsePrefix("100::/64"),
	netip.MustParsePrefix("2001::/32"),
	netip.MustParsePrefix("2001:db8::/32"),
	netip.MustParsePrefix("2002::/16"),
	netip.MustParsePrefix("fec0::/10"),
}

// AllowedAddress reports whether the proxy may connect to a. Loopback is
// allowed only when allowLoopback is set (tests, dev mode).
func AllowedAddress(a netip.Addr, allowLoopback bool) bool {
	a = a.Unmap()
	if a.IsLoopback() {
		return allowLoopback
	}
	if !a.IsGlobalUnicast() || a.IsPrivate() {
		return false // link-local (metadata 169.254.169.254), multicast, unspecified, RFC 1918, ULA
	}
	for _, p := range deniedPrefixes {
		if p.Contains(a) {
			return false
		}
	}
	return true
}

// dial resolves the host itself, refuses the connection if any answer is
// not allowed, and dials the checked address (never the name again, so a
// second DNS answer cannot differ from the one checked).
func (p *Proxy) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	host, portStr, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUpstream, err)
	}
	port, err := strconv.ParseUint(portStr, 10, 16)
	if err != nil {
		return nil, fmt.Errorf("%w: port %q", ErrUpstream, portStr)
	}
	var ips []netip.Addr
	if ip, err := netip.ParseAddr(host); err == nil {
		ips = []netip.Addr{ip}
	} else {
		ips, err = p.deps.Resolver.LookupNetIP(ctx, "ip", host)
		if err != nil {
			return nil, fmt.Errorf("%w: resolve %s: %v", ErrUpstream, host, err)
		}
	}
	if len(ips) == 0 {
		return nil, fmt.Errorf("%w: %s has no addresses", ErrUpstream, host)
	}
	for _, ip := range ips {
		if !AllowedAddress(ip, p.deps.AllowLoopback) {
			p.m.refused.WithLabelValues("address").Inc()
			return nil, fmt.Errorf("%w: %s resolves to %s", ErrAddress, host, ip)
		}
	}
	var last error
	for _, ip := range ips {
		c, err := p.deps.Dialer.DialContext(ctx, network, netip.AddrPortFrom(ip.Unmap(), uint16(port)).String())
		if err == nil {
			return c, nil
		}
		last = err
	}
	return nil, fmt.Errorf("%w: %v", ErrUpstream, last)
}
