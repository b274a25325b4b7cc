package turn

import "errors"

// Errors returned by this package. Callers use errors.Is.
var (
	// ErrNoSecret means neither a secret nor a secret file was configured.
	ErrNoSecret = errors.New("turn: no shared secret configured")
	// ErrStarted is returned by Start when the server already runs.
	ErrStarted = errors.New("turn: server already started")
	// ErrClosed is returned by Start after Close.
	ErrClosed = errors.New("turn: server closed")
	// ErrQuota means an allocation was refused by a quota (per participant,
	// per node, or because the relay drains).
	ErrQuota = errors.New("turn: allocation quota reached")
	// ErrPeerDenied means the peer guard refused a peer address.
	ErrPeerDenied = errors.New("turn: peer address denied")
	// ErrNoRelayPort means no free port was found in the relay port range.
	ErrNoRelayPort = errors.New("turn: no free relay port")
	// ErrAddressFamily means a relay address of the requested family is
	// not configured (e.g. IPv6 without relay_ipv6).
	ErrAddressFamily = errors.New("turn: address family not configured")
)

// ConfigError is a configuration problem. Key names the setting relative to
// the turn section ("relay_port_min", "allow_peers[2]"); Msg says what is
// wrong in words a person can act on.
type ConfigError struct {
	Key string
	Msg string
}

func (e *ConfigError) Error() string { return "turn." + e.Key + ": " + e.Msg }
