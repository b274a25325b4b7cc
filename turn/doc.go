// Package turn is Lotse's embedded TURN relay (RFC 8656, RFC 6062, RFC 6156),
// built on pion/turn. It lets browsers behind UDP-blocking firewalls reach
// the SFU, without letting the relay become an open proxy into the
// operator's networks:
//
//   - Credentials are time-limited REST credentials (username
//     "expiry:participant", password base64(HMAC-SHA1(secret, username)),
//     the scheme coturn calls use-auth-secret), at most one hour long.
//   - A peer guard decides, per peer IP at CreatePermission, ChannelBind and
//     Connect time and again per ip:port on every relayed packet and TCP
//     connection, which peers the relay may talk to: by default only the
//     SFU's own media addresses; an operator allowlist may widen that, but
//     loopback, private, link-local (cloud metadata) and other special
//     ranges stay denied unless an allow entry names them explicitly.
//   - Quotas bound allocations per participant and per node, bandwidth per
//     allocation, TCP connections and lifetimes; Prometheus metrics count
//     allocations, relayed bytes and packets, denials by reason and
//     authentication failures (never per-packet logs).
//
// The same Server runs inside `lotse serve` and alone as `lotse turn` for a
// DMZ host. docs/turn.md is the operator's guide.
package turn
