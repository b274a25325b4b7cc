package sfu

import (
	"fmt"
	"net/netip"
	"time"
)

// Config configures the SFU; it is the `sfu:` section of the node's YAML
// configuration. DefaultConfig holds every default.
type Config struct {
	// ListenIP is the address the media ports bind to; "" binds every
	// interface.
	ListenIP string `yaml:"listen_ip"`
	// UDPPort is the single UDP port all peers share (ICE UDP mux);
	// 0 picks a free port (tests).
	UDPPort int `yaml:"udp_port"`
	// TCPPort is the single ICE-TCP port for clients whose UDP is blocked;
	// 0 picks a free port, -1 disables ICE-TCP.
	TCPPort int `yaml:"tcp_port"`
	// PublicIPs are the addresses clients reach this node at when it runs
	// behind NAT (1:1 mapping, same ports); they replace the local
	// addresses in ICE candidates.
	PublicIPs []string `yaml:"public_ips"`
	// LoopbackCandidates offers 127.0.0.1/::1 candidates. Tests and
	// developer machines only.
	LoopbackCandidates bool `yaml:"loopback_candidates"`

	// MaxRooms bounds the rooms on this node.
	MaxRooms int `yaml:"max_rooms"`
	// MaxParticipantsPerRoom bounds the participants of one room.
	MaxParticipantsPerRoom int `yaml:"max_participants_per_room"`
	// MaxTracksPerParticipant bounds what one participant publishes.
	MaxTracksPerParticipant int `yaml:"max_tracks_per_participant"`

	// AudioQueuePackets and VideoQueuePackets bound each subscriber's
	// send queues; when full, packets are dropped (video: until the next
	// key frame) and counted.
	AudioQueuePackets int `yaml:"audio_queue_packets"`
	VideoQueuePackets int `yaml:"video_queue_packets"`
	// KeyFrameInterval is the least time between two key-frame requests
	// (PLI) the SFU sends for one published layer while the first is
	// unanswered; once a key frame answered it, a fifth of it.
	KeyFrameInterval time.Duration `yaml:"key_frame_interval"`

	// BandwidthEstimation runs send-side bandwidth estimation (GCC over
	// transport-wide congestion control feedback) per subscriber and lets
	// it choose simulcast layers. REMB from clients is honoured either way.
	BandwidthEstimation bool `yaml:"bandwidth_estimation"`
	// InitialBandwidth and MaxBandwidth (bit/s) bound the estimate per
	// subscriber.
	InitialBandwidth int `yaml:"initial_bandwidth"`
	MaxBandwidth     int `yaml:"max_bandwidth"`
	// UpgradeHold is how long after a bandwidth-caused layer drop the
	// SFU waits before it raises the layer again.
	UpgradeHold time.Duration `yaml:"upgrade_hold"`

	// SpeakerInterval is how often active speakers are computed and, when
	// they changed, sent.
	SpeakerInterval time.Duration `yaml:"speaker_interval"`
	// SpeakerThreshold is the audio level (RFC 6464, -dBov: 0 loudest,
	// 127 silence) at or below which a packet counts as speech.
	SpeakerThreshold int `yaml:"speaker_threshold"`

	// MaxDataMessageBytes bounds one data-channel message both ways.
	MaxDataMessageBytes int `yaml:"max_data_message_bytes"`
	// MaxDataBufferedBytes bounds what may wait in a peer's data channel
	// send buffer; SendData fails beyond it.
	MaxDataBufferedBytes int `yaml:"max_data_buffered_bytes"`

	// ICEDisconnectedTimeout, ICEFailedTimeout and ICEKeepalive are the
	// ICE consent timers: no traffic for the first marks a peer
	// disconnected, for the second failed (the client is then told to
	// restart ICE).
	ICEDisconnectedTimeout time.Duration `yaml:"ice_disconnected_timeout"`
	ICEFailedTimeout       time.Duration `yaml:"ice_failed_timeout"`
	ICEKeepalive           time.Duration `yaml:"ice_keepalive"`

	// AnswerTimeout bounds how long the SFU waits for the answer to its
	// offer; a client that does not answer in time is told to rejoin (a
	// lost or refused offer would otherwise stall its subscriptions).
	AnswerTimeout time.Duration `yaml:"answer_timeout"`
}

// DefaultConfig returns the defaults for every setting.
func DefaultConfig() Config {
	return Config{
		UDPPort:                 7882,
		TCPPort:                 7881,
		MaxRooms:                1000,
		MaxParticipantsPerRoom:  16,
		MaxTracksPerParticipant: 8,
		AudioQueuePackets:       128,
		VideoQueuePackets:       512,
		KeyFrameInterval:        500 * time.Millisecond,
		BandwidthEstimation:     true,
		InitialBandwidth:        2_500_000,
		MaxBandwidth:            20_000_000,
		UpgradeHold:             4 * time.Second,
		SpeakerInterval:         500 * time.Millisecond,
		SpeakerThreshold:        50,
		MaxDataMessageBytes:     64 << 10,
		MaxDataBufferedBytes:    1 << 20,
		ICEDisconnectedTimeout:  5 * time.Second,
		ICEFailedTimeout:        15 * time.Second,
		AnswerTimeout:           15 * time.Second,
		ICEKeepalive:            2 * time.Second,
	}
}

// Validate checks every setting and says in one line what to fix.
func (c *Config) Validate() error {
	if c.ListenIP != "" {
		if _, err := netip.ParseAddr(c.ListenIP); err != nil {
			return &ConfigError{"listen_ip", fmt.Sprintf("%q is not an IP address (leave empty for all interfaces)", c.ListenIP)}
		}
	}
	if c.UDPPort < 0 || c.UDPPort > 65535 {
		return &ConfigError{"udp_port", fmt.Sprintf("%d must be from 0 to 65535", c.UDPPort)}
	}
	if c.TCPPort < -1 || c.TCPPort > 65535 {
		return &ConfigError{"tcp_port", fmt.Sprintf("%d must be from 0 to 65535, or -1 to turn ICE-TCP off", c.TCPPort)}
	}
	for _, ip := range c.PublicIPs {
		a, err := netip.ParseAddr(ip)
		if err != nil || a.IsUnspecified() || a.IsMulticast() {
			return &ConfigError{"public_ips", fmt.Sprintf("%q is not a unicast IP address", ip)}
		}
	}
	positive := []struct {
		key string
		v   int
	}{
		{"max_rooms", c.MaxRooms},
		{"max_participants_per_room", c.MaxParticipantsPerRoom},
		{"max_tracks_per_participant", c.MaxTracksPerParticipant},
		{"initial_bandwidth", c.InitialBandwidth},
		{"max_bandwidth", c.MaxBandwidth},
		{"max_data_message_bytes", c.MaxDataMessageBytes},
		{"max_data_buffered_bytes", c.MaxDataBufferedBytes},
	}
	for _, p := range positive {
		if p.v <= 0 {
			return &ConfigError{p.key, fmt.Sprintf("%d must be positive", p.v)}
		}
	}
	if c.AudioQueuePackets < 8 || c.AudioQueuePackets > 1<<16 {
		return &ConfigError{"audio_queue_packets", fmt.Sprintf("%d must be from 8 to 65536", c.AudioQueuePackets)}
	}
	if c.VideoQueuePackets < 8 || c.VideoQueuePackets > 1<<16 {
		return &ConfigError{"video_queue_packets", fmt.Sprintf("%d must be from 8 to 65536", c.VideoQueuePackets)}
	}
	if c.MaxBandwidth < c.InitialBandwidth {
		return &ConfigError{"max_bandwidth", fmt.Sprintf("%d is below initial_bandwidth %d", c.MaxBandwidth, c.InitialBandwidth)}
	}
	if c.MaxDataMessageBytes > 1<<20 {
		return &ConfigError{"max_data_message_bytes", fmt.Sprintf("%d exceeds 1048576", c.MaxDataMessageBytes)}
	}
	if c.SpeakerThreshold < 0 || c.SpeakerThreshold > 127 {
		return &ConfigError{"speaker_threshold", fmt.Sprintf("%d must be from 0 (loudest) to 127 (silence)", c.SpeakerThreshold)}
	}
	durations := []struct {
		key string
		v   time.Duration
	}{
		{"key_frame_interval", c.KeyFrameInterval},
		{"upgrade_hold", c.UpgradeHold},
		{"speaker_interval", c.SpeakerInterval},
		{"ice_disconnected_timeout", c.ICEDisconnectedTimeout},
		{"ice_failed_timeout", c.ICEFailedTimeout},
		{"ice_keepalive", c.ICEKeepalive},
		{"answer_timeout", c.AnswerTimeout},
	}
	for _, d := range durations {
		if d.v <= 0 {
			return &ConfigError{d.key, fmt.Sprintf("%s must be positive", d.v)}
		}
	}
	if c.SpeakerInterval < 50*time.Millisecond {
		return &ConfigError{"speaker_interval", fmt.Sprintf("%s is below 50ms", c.SpeakerInterval)}
	}
	if c.ICEKeepalive >= c.ICEDisconnectedTimeout {
		return &ConfigError{"ice_keepalive", fmt.Sprintf("%s must be shorter than ice_disconnected_timeout %s", c.ICEKeepalive, c.ICEDisconnectedTimeout)}
	}
	if c.ICEFailedTimeout <= c.ICEDisconnectedTimeout {
		return &ConfigError{"ice_failed_timeout", fmt.Sprintf("%s must be longer than ice_disconnected_timeout %s", c.ICEFailedTimeout, c.ICEDisconnectedTimeout)}
	}
	return nil
}
