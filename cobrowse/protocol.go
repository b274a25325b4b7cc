package cobrowse

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"strconv"
)

// The co-browse wire protocol (docs/cobrowse.md). Every transport message
// is one frame:
//
//	offset 0   'L' (0x4C)             magic
//	offset 1   1                      protocol version
//	offset 2   uint16, big endian     header length H (1..MaxHeaderBytes)
//	offset 4   H bytes                JSON header: an object with "t" (Kind)
//	offset 4+H rest                   payload (may be empty)
//
// Only "snap" and "ev" frames carry a payload: a JSON array of rrweb
// events, raw-deflated (RFC 1951) when the header says "z": true. A frame
// larger than the transport allows travels as "chunk" frames whose
// payloads, concatenated, are the original frame.
//
// web-sdk/src/cobrowse/protocol.ts mirrors these definitions; a test
// (TestTypeScriptAgrees) checks that the two agree.

// ProtocolVersion is the frame format version (byte 1 of every frame).
const ProtocolVersion = 1

const (
	frameMagic = 'L'
	// MaxHeaderBytes caps the JSON header of a frame.
	MaxHeaderBytes = 1024
	// frameOverhead is the fixed part of a frame before the header.
	frameOverhead = 4
	// DataChannelMessageBytes is the largest message sent on a WebRTC data
	// channel (the portable limit; larger ones fail in some browsers).
	DataChannelMessageBytes = 16 << 10
	// WebSocketMessageBytes is the largest message on the signalling
	// WebSocket (its read limit is 64 KiB).
	WebSocketMessageBytes = 64 << 10
)

// Kind is a frame's "t".
type Kind string

// Frame kinds. The comment says who sends each kind to whom.
const (
	// KindSnapshot: customer → relay → viewers. A full snapshot: rrweb's
	// Meta and FullSnapshot events (and the adopted style sheets that
	// follow). It starts a new base; events after it build on it.
	KindSnapshot Kind = "snap"
	// KindEvents: customer → relay → viewers. Incremental rrweb events.
	KindEvents Kind = "ev"
	// KindChunk: any direction. One piece of a frame too large for the
	// transport.
	KindChunk Kind = "chunk"
	// KindAck: relay → customer. Everything up to (Epoch, Seq) is kept.
	KindAck Kind = "ack"
	// KindNeedSnapshot: relay → customer (take a fresh snapshot), or
	// viewer → relay (send me the held state again).
	KindNeedSnapshot Kind = "need"
	// KindPointer: viewer → relay → customer. The advisor's pointer.
	KindPointer Kind = "ptr"
	// KindHighlight: viewer → relay → customer. A highlight rectangle.
	KindHighlight Kind = "hl"
	// KindControl: viewer → relay (request, release) and customer → relay
	// (grant, deny, revoke).
	KindControl Kind = "ctl"
	// KindControlState: relay → customer and viewers. The control state.
	KindControlState Kind = "ctlstate"
	// KindAction: viewer → relay → customer, only while control is granted
	// to that viewer. A node-addressed click, text input, key or scroll.
	KindAction Kind = "act"
	// KindResult: customer → relay → viewers. The outcome of an action.
	KindResult Kind = "res"
	// KindHello: relay → viewer on attach: who it is and where assets are.
	KindHello Kind = "hello"
	// KindViewers: relay → customer. Who is watching now.
	KindViewers Kind = "viewers"
	// KindBye: customer → relay (sharing stopped) and relay → viewers.
	KindBye Kind = "bye"
)

// Snapshot is the header of a "snap" frame.
type Snapshot struct {
	T       Kind   `json:"t"`
	Epoch   uint64 `json:"e"`
	Seq     uint64 `json:"s"`
	Deflate bool   `json:"z,omitempty"`
}

// Events is the header of an "ev" frame.
type Events struct {
	T       Kind   `json:"t"`
	Epoch   uint64 `json:"e"`
	Seq     uint64 `json:"s"`
	Deflate bool   `json:"z,omitempty"`
}

// Chunk is the header of a "chunk" frame: piece Index of Count of the
// frame numbered ID (per sender).
type Chunk struct {
	T     Kind   `json:"t"`
	ID    uint32 `json:"c"`
	Index int    `json:"i"`
	Count int    `json:"n"`
}

// Ack acknowledges every sequenced frame up to and including Seq of Epoch.
type Ack struct {
	T     Kind   `json:"t"`
	Epoch uint64 `json:"e"`
	Seq   uint64 `json:"s"`
}

// Reasons a snapshot is needed.
const (
	ReasonGap     = "gap"     // a sequence number was skipped
	ReasonInvalid = "invalid" // a frame failed validation and was dropped
	ReasonLog     = "log"     // the event log since the snapshot grew too large
	ReasonViewer  = "viewer"  // a viewer needs a base and none is held
	ReasonEpoch   = "epoch"   // events of an unknown epoch arrived
)

// NeedSnapshot asks for a snapshot (see the Reason constants).
type NeedSnapshot struct {
	T      Kind   `json:"t"`
	Reason string `json:"r,omitempty"`
}

// Pointer is the advisor's pointer in the customer's viewport, in CSS
// pixels. The relay sets Participant; a viewer's own value is ignored.
type Pointer struct {
	T           Kind    `json:"t"`
	Participant string  `json:"p,omitempty"`
	X           float64 `json:"x"`
	Y           float64 `json:"y"`
	Hidden      bool    `json:"h,omitempty"`
}

// Highlight is a rectangle the advisor draws, in the customer's viewport
// (CSS pixels). W = H = 0 clears it.
type Highlight struct {
	T           Kind    `json:"t"`
	Participant string  `json:"p,omitempty"`
	X           float64 `json:"x"`
	Y           float64 `json:"y"`
	W           float64 `json:"w"`
	H           float64 `json:"h"`
}

// Control operations.
const (
	OpRequest = "request" // viewer asks for control
	OpRelease = "release" // viewer gives control back
	OpGrant   = "grant"   // customer grants the requester control
	OpDeny    = "deny"    // customer refuses the request
	OpRevoke  = "revoke"  // customer takes control back
)

// Control is a control operation (see the Op constants). Participant
// names the viewer a customer grants or denies.
type Control struct {
	T           Kind   `json:"t"`
	Op          string `json:"op"`
	Participant string `json:"p,omitempty"`
}

// Control states.
const (
	StateNone      = "none"
	StateRequested = "requested"
	StateGranted   = "granted"
)

// ControlState tells everyone the control state and whom it concerns
// (the requester or the holder).
type ControlState struct {
	T           Kind   `json:"t"`
	State       string `json:"st"`
	Participant string `json:"p,omitempty"`
}

// Action kinds.
const (
	ActClick  = "click"  // click the node
	ActType   = "type"   // insert Text into the node (an input or textarea)
	ActKey    = "key"    // press Text (Backspace, Enter, Tab, Escape) on the node
	ActScroll = "scroll" // scroll the node (or the document) to X, Y
)

// Action is something the advisor does on the customer's page, addressed
// by rrweb node id. The relay sets Participant.
type Action struct {
	T           Kind    `json:"t"`
	ID          uint32  `json:"a"`
	Op          string  `json:"k"`
	Node        int64   `json:"n"`
	Text        string  `json:"v,omitempty"`
	X           float64 `json:"x,omitempty"`
	Y           float64 `json:"y,omitempty"`
	Participant string  `json:"p,omitempty"`
}

// Result error codes the SDK reports.
const (
	ErrCodeNotGranted  = "not_granted" // control is not granted to the sender
	ErrCodeMasked      = "masked"      // the node is masked or blocked
	ErrCodeNotFound    = "not_found"   // no such node on the page
	ErrCodeUnsupported = "unsupported" // the action does not fit the node
)

// Result is the outcome of an action; Participant is who sent it.
type Result struct {
	T           Kind   `json:"t"`
	ID          uint32 `json:"a"`
	OK          bool   `json:"ok"`
	Err         string `json:"err,omitempty"`
	Participant string `json:"p,omitempty"`
}

// Hello greets a viewer: its own participant id and the URL prefix under
// which it fetches the page's assets (the asset proxy), if any.
type Hello struct {
	T           Kind   `json:"t"`
	Participant string `json:"p"`
	Assets      string `json:"assets,omitempty"`
	MaxMessage  int    `json:"max"`
}

// Viewers lists the participants watching.
type Viewers struct {
	T            Kind     `json:"t"`
	Participants []string `json:"ps"`
}

// Bye ends sharing.
type Bye struct {
	T      Kind   `json:"t"`
	Reason string `json:"r,omitempty"`
}

// headerTypes maps each kind to its header type, for decoding and for the
// test that compares these definitions with protocol.ts.
var headerTypes = map[Kind]func() any{
	KindSnapshot:     func() any { return new(Snapshot) },
	KindEvents:       func() any { return new(Events) },
	KindChunk:        func() any { return new(Chunk) },
	KindAck:          func() any { return new(Ack) },
	KindNeedSnapshot: func() any { return new(NeedSnapshot) },
	KindPointer:      func() any { return new(Pointer) },
	KindHighlight:    func() any { return new(Highlight) },
	KindControl:      func() any { return new(Control) },
	KindControlState: func() any { return new(ControlState) },
	KindAction:       func() any { return new(Action) },
	KindResult:       func() any { return new(Result) },
	KindHello:        func() any { return new(Hello) },
	KindViewers:      func() any { return new(Viewers) },
	KindBye:          func() any { return new(Bye) },
}

// Frame is a decoded frame: its kind, its raw JSON header, its payload.
type Frame struct {
	Kind    Kind
	Header  []byte
	Payload []byte
}

// DecodeFrame splits a frame into header and payload. It checks the
// framing only; Header.Decode checks the header's fields.
func DecodeFrame(b []byte) (Frame, error) {
	if len(b) < frameOverhead+2 {
		return Frame{}, fmt.Errorf("%w: %d bytes", ErrShortFrame, len(b))
	}
	if b[0] != frameMagic || b[1] != ProtocolVersion {
		return Frame{}, fmt.Errorf("%w: magic %#x version %d", ErrBadFrame, b[0], b[1])
	}
	h := int(binary.BigEndian.Uint16(b[2:4]))
	if h < 2 || h > MaxHeaderBytes || frameOverhead+h > len(b) {
		return Frame{}, fmt.Errorf("%w: header length %d", ErrBadFrame, h)
	}
	hdr := b[frameOverhead : frameOverhead+h]
	var k struct {
		T Kind `json:"t"`
	}
	if err := json.Unmarshal(hdr, &k); err != nil {
		return Frame{}, fmt.Errorf("%w: header: %v", ErrBadFrame, err)
	}
	if headerTypes[k.T] == nil {
		return Frame{}, fmt.Errorf("%w: %s", ErrUnknownKind, truncate(string(k.T), 32))
	}
	return Frame{Kind: k.T, Header: hdr, Payload: b[frameOverhead+h:]}, nil
}

// DecodeHeader decodes f's header into v, which must be the pointer type
// for f.Kind.
func (f Frame) DecodeHeader(v any) error {
	if err := json.Unmarshal(f.Header, v); err != nil {
		return fmt.Errorf("%w: %s header: %v", ErrBadFrame, f.Kind, err)
	}
	return nil
}

// EncodeFrame builds a frame from a header value and a payload.
func EncodeFrame(header any, payload []byte) ([]byte, error) {
	hdr, err := json.Marshal(header)
	if err != nil {
		return nil, err
	}
	if len(hdr) > MaxHeaderBytes {
		return nil, fmt.Errorf("%w: header of %d bytes", ErrBadFrame, len(hdr))
	}
	out := make([]byte, frameOverhead, frameOverhead+len(hdr)+len(payload))
	out[0] = frameMagic
	out[1] = ProtocolVersion
	binary.BigEndian.PutUint16(out[2:4], uint16(len(hdr)))
	out = append(out, hdr...)
	return append(out, payload...), nil
}

// mustEncode encodes a header we built ourselves; it cannot fail.
func mustEncode(header any, payload []byte) []byte {
	b, err := EncodeFrame(header, payload)
	if err != nil {
		panic("cobrowse: encoding our own header: " + err.Error())
	}
	return b
}

// SplitFrame returns frame itself when it fits in limit bytes, or the
// chunk frames that carry it. id numbers the chunked frame.
func SplitFrame(frame []byte, limit int, id uint32) [][]byte {
	if len(frame) <= limit {
		return [][]byte{frame}
	}
	// The header's size depends on the numbers in it; reserve for the
	// largest it can be.
	maxHdr := len(`{"t":"chunk","c":4294967295,"i":99999999,"n":99999999}`)
	part := limit - frameOverhead - maxHdr
	if part < 256 {
		part = 256
	}
	n := (len(frame) + part - 1) / part
	out := make([][]byte, 0, n)
	for i := 0; i < n; i++ {
		end := min((i+1)*part, len(frame))
		out = append(out, mustEncode(Chunk{T: KindChunk, ID: id, Index: i, Count: n}, frame[i*part:end]))
	}
	return out
}

// reassembler joins the chunks of one sender. Chunks of a frame arrive in
// order and are not interleaved with other frames of the same sender (the
// transports are reliable and ordered, and senders send a chunked frame
// whole).
type reassembler struct {
	max   int // largest reassembled frame
	id    uint32
	next  int
	count int
	buf   bytes.Buffer
}

// add takes one chunk; it returns the whole frame once the last chunk is
// in, nil while more are expected.
func (r *reassembler) add(c Chunk, payload []byte) ([]byte, error) {
	if c.Count < 2 || c.Index < 0 || c.Index >= c.Count {
		r.reset()
		return nil, fmt.Errorf("%w: chunk %d of %d", ErrBadChunk, c.Index, c.Count)
	}
	if c.Index == 0 {
		if r.count != 0 {
			// A new frame began before the last one ended: the old one
			// is lost (the sender restarted). Start afresh.
			r.reset()
		}
		r.id, r.count, r.next = c.ID, c.Count, 0
	}
	if r.count == 0 || c.ID != r.id || c.Index != r.next || c.Count != r.count {
		r.reset()
		return nil, fmt.Errorf("%w: chunk %d/%d of frame %d out of order", ErrBadChunk, c.Index, c.Count, c.ID)
	}
	if r.buf.Len()+len(payload) > r.max {
		r.reset()
		return nil, fmt.Errorf("%w: chunked frame over %d bytes", ErrTooLarge, r.max)
	}
	r.buf.Write(payload)
	r.next++
	if r.next < r.count {
		return nil, nil
	}
	out := bytes.Clone(r.buf.Bytes())
	r.reset()
	return out, nil
}

func (r *reassembler) reset() {
	r.buf.Reset()
	r.count, r.next = 0, 0
	if r.buf.Cap() > 1<<20 {
		r.buf = bytes.Buffer{}
	}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return strconv.Quote(s)
	}
	return strconv.Quote(s[:n]) + "…"
}
