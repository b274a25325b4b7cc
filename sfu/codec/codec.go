// Package codec reads the few bits of RTP video payloads that an SFU needs
// without decoding any media: whether a packet starts a key frame (VP8, VP9,
// H.264), the VP8 frame size carried in key frames, and where the VP8
// picture ID and TL0PICIDX sit so that a forwarder can rewrite them when it
// switches between simulcast layers. Every function takes untrusted bytes
// and answers "no" or an error for anything malformed; none panics.
package codec

import (
	"errors"
	"strings"
)

// Errors returned for payloads too short or malformed to parse.
var (
	// ErrShortPayload means the payload ends before a required field.
	ErrShortPayload = errors.New("codec: payload too short")
	// ErrMalformed means a field holds a value the format does not allow.
	ErrMalformed = errors.New("codec: malformed payload descriptor")
)

// MIME types the SFU forwards (as in SDP rtpmap, compared case-insensitively).
const (
	MimeOpus = "audio/opus"
	MimeVP8  = "video/VP8"
	MimeVP9  = "video/VP9"
	MimeH264 = "video/H264"
)

// IsKeyFrameStart reports whether payload (an RTP payload of the codec
// with the given MIME type) is the first packet of a key frame, i.e. the
// point where a receiver that has lost its references can start decoding.
// Unknown codecs and malformed payloads answer false.
func IsKeyFrameStart(mime string, payload []byte) bool {
	switch {
	case strings.EqualFold(mime, MimeVP8):
		d, err := ParseVP8(payload)
		return err == nil && d.KeyFrame
	case strings.EqualFold(mime, MimeVP9):
		return vp9KeyFrameStart(payload)
	case strings.EqualFold(mime, MimeH264):
		return h264KeyFrame(payload)
	}
	return false
}

// VP8 is what ParseVP8 learns from a VP8 RTP payload (RFC 7741 §4.2).
type VP8 struct {
	// Start is true on the first packet of a frame (S=1, PID=0).
	Start bool
	// KeyFrame is true on the first packet of a key frame.
	KeyFrame bool
	// PictureID is the picture ID; PictureIDBytes is 0 (absent), 1 (7
	// bits) or 2 (15 bits), and PictureIDOffset is where it starts.
	PictureID       uint16
	PictureIDBytes  int
	PictureIDOffset int
	// TL0PICIDX is valid when TL0Offset > 0.
	TL0PICIDX uint8
	TL0Offset int
	// HeaderSize is the length of the payload descriptor.
	HeaderSize int
	// Width and Height are the frame size, set on key frames whose first
	// packet carries the key frame header (0 otherwise).
	Width, Height int
}

// ParseVP8 parses the VP8 payload descriptor and, on the first packet of a
// frame, the start of the VP8 payload header (RFC 6386 §9.1).
func ParseVP8(b []byte) (VP8, error) {
	var d VP8
	if len(b) < 1 {
		return d, ErrShortPayload
	}
	x := b[0]&0x80 != 0
	s := b[0]&0x10 != 0
	pid := b[0] & 0x07
	i := 1
	if x {
		if len(b) < 2 {
			return d, ErrShortPayload
		}
		ext := b[1]
		i = 2
		if ext&0x80 != 0 { // I: picture ID
			if len(b) < i+1 {
				return d, ErrShortPayload
			}
			d.PictureIDOffset = i
			if b[i]&0x80 != 0 { // M: 15-bit picture ID
				if len(b) < i+2 {
					return d, ErrShortPayload
				}
				d.PictureID = uint16(b[i]&0x7f)<<8 | uint16(b[i+1])
				d.PictureIDBytes = 2
				i += 2
			} else {
				d.PictureID = uint16(b[i])
				d.PictureIDBytes = 1
				i++
			}
		}
		if ext&0x40 != 0 { // L: TL0PICIDX
			if len(b) < i+1 {
				return d, ErrShortPayload
			}
			d.TL0Offset = i
			d.TL0PICIDX = b[i]
			i++
		}
		if ext&0x30 != 0 { // T or K: TID/Y/KEYIDX
			if len(b) < i+1 {
				return d, ErrShortPayload
			}
			i++
		}
	}
	d.HeaderSize = i
	d.Start = s && pid == 0
	if !d.Start {
		return d, nil
	}
	// The VP8 payload header: a 3-byte frame tag whose lowest bit is the
	// inverse key frame flag (RFC 6386 §9.1, RFC 7741 §4.3).
	if len(b) < i+3 {
		return d, ErrShortPayload
	}
	if b[i]&0x01 != 0 {
		return d, nil
	}
	d.KeyFrame = true
	// Key frames continue with the start code and the frame size.
	if len(b) >= i+10 && b[i+3] == 0x9d && b[i+4] == 0x01 && b[i+5] == 0x2a {
		d.Width = int(uint16(b[i+6])|uint16(b[i+7])<<8) & 0x3fff
		d.Height = int(uint16(b[i+8])|uint16(b[i+9])<<8) & 0x3fff
	}
	return d, nil
}

// SetVP8PictureID writes id (truncated to the field's width) into the
// picture ID field found by ParseVP8. b must be writable.
func SetVP8PictureID(b []byte, d VP8, id uint16) {
	switch d.PictureIDBytes {
	case 1:
		b[d.PictureIDOffset] = byte(id & 0x7f)
	case 2:
		b[d.PictureIDOffset] = 0x80 | byte(id>>8&0x7f)
		b[d.PictureIDOffset+1] = byte(id)
	}
}

// SetVP8TL0PICIDX writes v into the TL0PICIDX field found by ParseVP8.
func SetVP8TL0PICIDX(b []byte, d VP8, v uint8) {
	if d.TL0Offset > 0 {
		b[d.TL0Offset] = v
	}
}

// vp9KeyFrameStart reads the VP9 payload descriptor
// (draft-ietf-payload-vp9-16 §4.2): a key frame starts where the picture
// is not inter-predicted (P=0), a frame begins (B=1) and, when layer
// indices are present, the spatial layer is the base layer.
func vp9KeyFrameStart(b []byte) bool {
	if len(b) < 1 {
		return false
	}
	h := b[0]
	iBit, p, l, f, bBit := h&0x80 != 0, h&0x40 != 0, h&0x20 != 0, h&0x10 != 0, h&0x08 != 0
	if p || !bBit {
		return false
	}
	i := 1
	if iBit {
		if len(b) < i+1 {
			return false
		}
		if b[i]&0x80 != 0 {
			i += 2
		} else {
			i++
		}
	}
	if l {
		if len(b) < i+1 {
			return false
		}
		sid := b[i] >> 1 & 0x07
		if sid != 0 {
			return false
		}
		i++
		if !f {
			i++ // TL0PICIDX
		}
	}
	return len(b) > i
}

// h264KeyFrame reports whether an H.264 RTP payload (RFC 6184 §5) carries
// an IDR slice start or a sequence parameter set, either of which begins
// a decodable point.
func h264KeyFrame(b []byte) bool {
	if len(b) < 1 {
		return false
	}
	isKey := func(t byte) bool { return t == 5 || t == 7 }
	switch t := b[0] & 0x1f; {
	case t >= 1 && t <= 23:
		return isKey(t)
	case t == 24: // STAP-A: 16-bit sizes, each followed by a NAL unit
		for i := 1; i+2 < len(b); {
			n := int(b[i])<<8 | int(b[i+1])
			i += 2
			if n == 0 || i+n > len(b) {
				return false
			}
			if isKey(b[i] & 0x1f) {
				return true
			}
			i += n
		}
		return false
	case t == 28: // FU-A: start bit and the fragmented NAL type
		return len(b) >= 2 && b[1]&0x80 != 0 && isKey(b[1]&0x1f)
	}
	return false
}
