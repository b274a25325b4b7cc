// Package sfu is Lotse's media server: a selective forwarding unit on
// pion/webrtc. Every participant of a conversation has one PeerConnection
// to it that carries what the participant publishes (camera, microphone,
// screen) and what it receives from everyone else; the SFU forwards RTP
// without decoding it, adapting each receiver's video to the size it shows
// and the bandwidth it has (simulcast layers q/h/f), and never lets a slow
// receiver delay the publisher or the other receivers (bounded queues,
// drop to the next key frame, count).
//
// The package knows nothing of HTTP, WebSockets or co-browsing. The
// signalling layer calls Join for each participant and relays Signal
// values both ways: the SFU hands its offers, answers, ICE candidates and
// room state to a Signaler; the client's arrive through the Peer methods
// (or Dispatch). Data-channel messages go to a DataHandler. The protocol,
// negotiation scheme, layer policy and metrics are described in
// docs/media.md.
//
// Media travels over one UDP port (ICE UDP mux) and one TCP port (ICE-TCP)
// shared by all peers, with NAT 1:1 addresses for deployments behind NAT.
// The SFU contacts no STUN server; DTLS-SRTP prefers AEAD-AES-GCM.
package sfu
