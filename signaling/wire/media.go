package wire

import "unicode/utf8"

// Media carries one message of the media plane (docs/media.md) between a
// participant and the SFU, in both directions: SDP offers and answers,
// trickled ICE candidates, ICE restarts, the room's track list, active
// speakers, and the client's publish, mute and video-size requests. Kind
// says which; the fields it uses are set.
type Media struct {
	Header
	Kind      string        `json:"kind"`
	SDP       string        `json:"sdp,omitempty"`
	Candidate *ICECandidate `json:"candidate,omitempty"`
	Tracks    []TrackInfo   `json:"tracks,omitempty"`
	Speakers  []Speaker     `json:"speakers,omitempty"`
	Publish   []Publication `json:"publish,omitempty"`
	TrackID   string        `json:"track_id,omitempty"`
	Source    string        `json:"source,omitempty"`
	Muted     bool          `json:"muted,omitempty"`
	Width     int           `json:"width,omitempty"`
	Height    int           `json:"height,omitempty"`
	Reason    string        `json:"reason,omitempty"`
}

// ICECandidate is an RTCIceCandidateInit (W3C WebRTC §4.8.1.1).
type ICECandidate struct {
	Candidate        string  `json:"candidate"`
	SDPMid           *string `json:"sdpMid,omitempty"`
	SDPMLineIndex    *uint16 `json:"sdpMLineIndex,omitempty"`
	UsernameFragment *string `json:"usernameFragment,omitempty"`
}

// TrackInfo describes one published track of the room.
type TrackInfo struct {
	ID            string `json:"id"`
	ParticipantID string `json:"participant_id"`
	Source        string `json:"source"`
	Kind          string `json:"kind"`
	Muted         bool   `json:"muted,omitempty"`
	Simulcast     bool   `json:"simulcast,omitempty"`
	StreamID      string `json:"stream_id"`
	Codec         string `json:"codec,omitempty"`
}

// Speaker is one active speaker (level 1–100).
type Speaker struct {
	ParticipantID string `json:"participant_id"`
	Level         int    `json:"level"`
}

// Publication declares the source of a track the client offers, by mid or
// by the track id of its a=msid line.
type Publication struct {
	Mid     string `json:"mid,omitempty"`
	TrackID string `json:"track_id,omitempty"`
	Source  string `json:"source"`
}

// IceServers refreshes a participant's ICE servers (new TURN credentials)
// before the old ones expire.
type IceServers struct {
	Header
	ICEServers []ICEServer `json:"ice_servers"`
}

// Media kinds a client may send.
var clientMediaKinds = map[string]bool{"offer": true, "answer": true, "candidate": true, "restart": true, "publish": true, "mute": true, "video": true}

func init() {
	registry["media"] = entry{typOf(Media{}), toServer | toClient}
	registry["ice_servers"] = entry{typOf(IceServers{}), toClient}
	validateMore = validateMedia
}

func validateMedia(m Message) *ProtocolError {
	v, ok := m.(*Media)
	if !ok {
		return nil
	}
	switch {
	case !clientMediaKinds[v.Kind]:
		return Errorf(CodeInvalid, "unknown media kind %q", truncate(v.Kind, 20))
	case len(v.SDP) > MaxSDPBytes:
		return Errorf(CodeInvalid, "SDP larger than %d bytes", MaxSDPBytes)
	case len(v.Tracks) > 0 || len(v.Speakers) > 0:
		return Errorf(CodeInvalid, "tracks and speakers come from the server")
	case len(v.Publish) > 16:
		return Errorf(CodeInvalid, "at most 16 publications at once")
	case len(v.TrackID) > 128 || len(v.Source) > 32 || len(v.Reason) > 200:
		return Errorf(CodeInvalid, "field too long")
	case v.Width > 16384 || v.Height > 16384:
		return Errorf(CodeInvalid, "video size out of range")
	}
	if c := v.Candidate; c != nil && (len(c.Candidate) > 1024 || !utf8.ValidString(c.Candidate) ||
		(c.SDPMid != nil && len(*c.SDPMid) > 64) || (c.UsernameFragment != nil && len(*c.UsernameFragment) > 256)) {
		return Errorf(CodeInvalid, "candidate too long")
	}
	for _, p := range v.Publish {
		if len(p.Mid) > 64 || len(p.TrackID) > 128 || len(p.Source) > 32 {
			return Errorf(CodeInvalid, "publication field too long")
		}
	}
	return nil
}
