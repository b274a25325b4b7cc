package turn

import (
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/lotse-io/lotse/internal/secret"
)

// Limits that no configuration may exceed.
const (
	// MaxCredentialTTL is the longest credential lifetime we issue or
	// accept (the "lifetime ≤ 1 h").
	MaxCredentialTTL = time.Hour
	// maxAllocationLifetime is RFC 8656 §7.2's recommended maximum; pion
	// caps LIFETIME requests at it as well.
	maxAllocationLifetime = time.Hour
	// minSecretLen is the shortest shared secret accepted.
	minSecretLen = 16
)

// Config configures the relay. It is the `turn:` section of lotse serve's
// configuration and is filled from flags by `lotse turn`.
type Config struct {
	// Enabled runs the relay inside lotse serve.
	Enabled bool `yaml:"enabled"`
	// ListenUDP is the UDP listen address (turn:…?transport=udp);
	// empty disables UDP. Port 0 lets the kernel choose (tests).
	ListenUDP string `yaml:"listen_udp"`
	// ListenTCP is the TCP listen address (turn:…?transport=tcp); empty
	// disables TCP.
	ListenTCP string `yaml:"listen_tcp"`
	// ListenTLS is the TLS listen address (turns:…?transport=tcp), used
	// when CertFile and KeyFile are set. 443 in production gets through
	// the strictest firewalls.
	ListenTLS string `yaml:"listen_tls"`
	// CertFile and KeyFile hold the TLS certificate chain and key (PEM);
	// the key file must not be readable by group or others.
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
	// Realm is the long-term credential realm (RFC 8489 §9.2).
	Realm string `yaml:"realm"`

	// PublicIP is the IPv4 relayed address put into XOR-RELAYED-ADDRESS:
	// the address peers (the SFU) send to, so it must be reachable from
	// the SFU. ICEServers also names it in the URLs when given no host.
	// Needed when the relay binds all addresses or sits behind 1:1 NAT.
	PublicIP string `yaml:"public_ip"`
	// RelayIP is the IPv4 address relay sockets bind to. Empty: the host
	// of ListenUDP (or ListenTCP), which may be 0.0.0.0.
	RelayIP string `yaml:"relay_ip"`
	// RelayIPv6 is the IPv6 address relay sockets bind to and advertise
	// for RFC 6156 IPv6 allocations; empty refuses IPv6 allocations.
	RelayIPv6 string `yaml:"relay_ipv6"`
	// RelayPortMin and RelayPortMax bound the relay ports (inclusive);
	// both 0 lets the kernel choose (tests only).
	RelayPortMin uint16 `yaml:"relay_port_min"`
	RelayPortMax uint16 `yaml:"relay_port_max"`

	// SecretFile holds the shared secret (mode 0600). Secret gives it
	// inline instead; set at most one. With neither, lotse serve keeps a
	// generated secret in its data directory (see LoadOrCreateSecret).
	SecretFile string        `yaml:"secret_file"`
	Secret     secret.String `yaml:"secret,omitempty"`
	// CredentialTTL is the lifetime of the credentials ICEServers issues
	// (default 10m, at most 1h).
	CredentialTTL time.Duration `yaml:"credential_ttl"`
	// ExternalURLs are ICE server URLs of relays that run elsewhere with
	// the same secret and realm — `lotse turn` in a DMZ, or coturn with
	// use-auth-secret — e.g. "turns:turn.example-bank.de:443?transport=tcp".
	// ExternalICEServers hands them out with fresh credentials. They are
	// checked even when the embedded relay is disabled.
	ExternalURLs []string `yaml:"external_urls"`

	// AllowPeers widens the peers the relay may reach beyond the SFU's
	// media addresses: CIDRs ("203.0.113.0/24"), addresses, or ip:port
	// ("10.20.0.5:7882", "[fd00::5]:7882"). Special ranges (loopback,
	// private, link-local, ...) stay denied unless an entry lies inside
	// them. See docs/turn.md.
	AllowPeers []string `yaml:"allow_peers"`
	// DenyPeers are CIDRs or addresses the relay never reaches; they win
	// over everything else.
	DenyPeers []string `yaml:"deny_peers"`

	// MaxAllocationsPerUser bounds the live allocations of one
	// participant (the user part of the credential); the next Allocate
	// is answered 486 Allocation Quota Reached.
	MaxAllocationsPerUser int `yaml:"max_allocations_per_user"`
	// MaxAllocations bounds the live allocations of this relay.
	MaxAllocations int `yaml:"max_allocations"`
	// MaxConnections bounds concurrent TCP and TLS client connections.
	MaxConnections int `yaml:"max_connections"`
	// BandwidthPerAllocation caps the bytes per second one allocation
	// relays (both directions together); excess packets are dropped and
	// counted.
	BandwidthPerAllocation int64 `yaml:"bandwidth_per_allocation"`
	// AllocationLifetime is the lifetime of an allocation that the client
	// does not refresh, when the client asks for none (default 10m; RFC
	// 8656 caps requests at 1h).
	AllocationLifetime time.Duration `yaml:"allocation_lifetime"`
}

// DefaultConfig returns the defaults: relay disabled; UDP and TCP on 3478,
// TLS on 5349 once a certificate is configured; relay ports 49152–65535;
// credentials for 10 minutes; 10 allocations per participant, 1000 per
// node; 2.5 MB/s (20 Mbit/s) per allocation.
func DefaultConfig() Config {
	return Config{
		ListenUDP:              "0.0.0.0:3478",
		ListenTCP:              "0.0.0.0:3478",
		ListenTLS:              "0.0.0.0:5349",
		Realm:                  "lotse",
		RelayPortMin:           49152,
		RelayPortMax:           65535,
		CredentialTTL:          10 * time.Minute,
		MaxAllocationsPerUser:  10,
		MaxAllocations:         1000,
		MaxConnections:         1000,
		BandwidthPerAllocation: 2_500_000,
		AllocationLifetime:     10 * time.Minute,
	}
}

// TLSEnabled reports whether the TLS listener runs.
func (c *Config) TLSEnabled() bool { return c.CertFile != "" && c.ListenTLS != "" }

// Validate checks the configuration of an enabled relay and returns the
// first problem as *ConfigError naming the key. A disabled relay is not
// checked.
func (c *Config) Validate() error {
	for i, u := range c.ExternalURLs {
		if err := checkICEURL(u); err != nil {
			return &ConfigError{Key: fmt.Sprintf("external_urls[%d]", i), Msg: err.Error()}
		}
	}
	if !c.Enabled {
		return nil
	}
	if c.ListenUDP == "" && c.ListenTCP == "" {
		return &ConfigError{Key: "listen_udp", Msg: "set listen_udp or listen_tcp (or both)"}
	}
	for _, l := range []struct{ key, val string }{{"listen_udp", c.ListenUDP}, {"listen_tcp", c.ListenTCP}, {"listen_tls", c.ListenTLS}} {
		if l.val == "" {
			continue
		}
		if _, err := parseListen(l.val); err != nil {
			return &ConfigError{Key: l.key, Msg: err.Error()}
		}
	}
	if (c.CertFile == "") != (c.KeyFile == "") {
		return &ConfigError{Key: "cert_file", Msg: "set both cert_file and key_file, or neither"}
	}
	if c.CertFile != "" {
		if c.ListenTLS == "" {
			return &ConfigError{Key: "listen_tls", Msg: "must be set when cert_file is set"}
		}
		if err := secret.CheckReadable(c.CertFile); err != nil {
			return &ConfigError{Key: "cert_file", Msg: err.Error()}
		}
		if err := secret.CheckFile(c.KeyFile); err != nil {
			return &ConfigError{Key: "key_file", Msg: err.Error()}
		}
	}
	if c.Realm == "" || len(c.Realm) > 127 || strings.ContainsFunc(c.Realm, func(r rune) bool { return r < 0x21 || r > 0x7e || r == '"' }) {
		return &ConfigError{Key: "realm", Msg: fmt.Sprintf("%q must be 1 to 127 printable ASCII characters without spaces or quotes", c.Realm)}
	}
	if c.PublicIP != "" {
		if a, err := netip.ParseAddr(c.PublicIP); err != nil || !a.Is4() || a.IsUnspecified() {
			return &ConfigError{Key: "public_ip", Msg: fmt.Sprintf("%q is not a specific IPv4 address", c.PublicIP)}
		}
	}
	if c.RelayIP != "" {
		if a, err := netip.ParseAddr(c.RelayIP); err != nil || !a.Is4() {
			return &ConfigError{Key: "relay_ip", Msg: fmt.Sprintf("%q is not an IPv4 address", c.RelayIP)}
		}
	}
	if c.RelayIPv6 != "" {
		if a, err := netip.ParseAddr(c.RelayIPv6); err != nil || !a.Is6() || a.Is4In6() || a.IsUnspecified() || a.Zone() != "" {
			return &ConfigError{Key: "relay_ipv6", Msg: fmt.Sprintf("%q is not a specific IPv6 address", c.RelayIPv6)}
		}
	}
	if bind := c.relayBindIP(); c.PublicIP == "" && (!bind.IsValid() || bind.IsUnspecified()) {
		return &ConfigError{Key: "public_ip", Msg: "required when relay sockets bind all addresses (relay_ip empty or 0.0.0.0): the IPv4 address clients reach this host at"}
	}
	switch {
	case c.RelayPortMin == 0 && c.RelayPortMax == 0:
	case c.RelayPortMin < 1024:
		return &ConfigError{Key: "relay_port_min", Msg: "must be at least 1024 (or both bounds 0 for kernel-chosen ports)"}
	case c.RelayPortMax < c.RelayPortMin:
		return &ConfigError{Key: "relay_port_max", Msg: fmt.Sprintf("%d is below relay_port_min %d", c.RelayPortMax, c.RelayPortMin)}
	}
	if c.Secret != "" && c.SecretFile != "" {
		return &ConfigError{Key: "secret", Msg: "set secret or secret_file, not both"}
	}
	if c.Secret != "" && len(c.Secret.Reveal()) < minSecretLen {
		return &ConfigError{Key: "secret", Msg: fmt.Sprintf("must be at least %d characters", minSecretLen)}
	}
	if c.SecretFile != "" {
		if err := secret.CheckFile(c.SecretFile); err != nil {
			return &ConfigError{Key: "secret_file", Msg: err.Error()}
		}
	}
	if c.CredentialTTL < time.Minute || c.CredentialTTL > MaxCredentialTTL {
		return &ConfigError{Key: "credential_ttl", Msg: fmt.Sprintf("%v must be between 1m and 1h", c.CredentialTTL)}
	}
	if c.AllocationLifetime < time.Minute || c.AllocationLifetime > maxAllocationLifetime {
		return &ConfigError{Key: "allocation_lifetime", Msg: fmt.Sprintf("%v must be between 1m and 1h", c.AllocationLifetime)}
	}
	for i, p := range c.AllowPeers {
		if _, err := parseAllowEntry(p); err != nil {
			return &ConfigError{Key: fmt.Sprintf("allow_peers[%d]", i), Msg: err.Error()}
		}
	}
	for i, p := range c.DenyPeers {
		if _, err := parsePrefix(p); err != nil {
			return &ConfigError{Key: fmt.Sprintf("deny_peers[%d]", i), Msg: err.Error()}
		}
	}
	for _, l := range []struct {
		key      string
		val, min int64
	}{
		{"max_allocations_per_user", int64(c.MaxAllocationsPerUser), 1},
		{"max_allocations", int64(c.MaxAllocations), 1},
		{"max_connections", int64(c.MaxConnections), 1},
		{"bandwidth_per_allocation", c.BandwidthPerAllocation, 16_000},
	} {
		if l.val < l.min {
			return &ConfigError{Key: l.key, Msg: fmt.Sprintf("must be at least %d", l.min)}
		}
	}
	return nil
}

// relayBindIP is the IPv4 address relay sockets bind to.
func (c *Config) relayBindIP() netip.Addr {
	if c.RelayIP != "" {
		a, _ := netip.ParseAddr(c.RelayIP)
		return a
	}
	for _, l := range []string{c.ListenUDP, c.ListenTCP} {
		if l == "" {
			continue
		}
		if ap, err := parseListen(l); err == nil {
			if a := ap.Addr().Unmap(); a.Is4() {
				return a
			}
		}
	}
	return netip.IPv4Unspecified()
}

// advertisedIP is the IPv4 address put into XOR-RELAYED-ADDRESS.
func (c *Config) advertisedIP() netip.Addr {
	if c.PublicIP != "" {
		a, _ := netip.ParseAddr(c.PublicIP)
		return a
	}
	return c.relayBindIP()
}

// parseListen parses host:port where host is an IP address or empty.
func parseListen(s string) (netip.AddrPort, error) {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("%q is not ip:port", s)
	}
	p, err := strconv.ParseUint(port, 10, 16)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("port %q must be a number from 0 to 65535", port)
	}
	a := netip.IPv4Unspecified()
	if host != "" {
		if a, err = netip.ParseAddr(host); err != nil {
			return netip.AddrPort{}, fmt.Errorf("host %q must be an IP address", host)
		}
	}
	return netip.AddrPortFrom(a, uint16(p)), nil
}

// checkICEURL accepts turn: and turns: URLs (RFC 7065): a host (name, IPv4
// or [IPv6]), an optional port, an optional transport=udp|tcp.
func checkICEURL(u string) error {
	bad := fmt.Errorf("%q is not a TURN URL such as turn:turn.example.com:3478?transport=udp or turns:turn.example.com:443?transport=tcp", u)
	rest, ok := strings.CutPrefix(u, "turn:")
	if !ok {
		if rest, ok = strings.CutPrefix(u, "turns:"); !ok {
			return bad
		}
	}
	hostport, query, _ := strings.Cut(rest, "?")
	if query != "" && query != "transport=udp" && query != "transport=tcp" {
		return bad
	}
	host := hostport
	if h, port, err := net.SplitHostPort(hostport); err == nil {
		if p, err := strconv.ParseUint(port, 10, 16); err != nil || p == 0 {
			return bad
		}
		host = h
	} else if strings.HasPrefix(hostport, "[") {
		return bad
	}
	if host == "" || strings.ContainsAny(host, "/@ ") {
		return bad
	}
	return nil
}
