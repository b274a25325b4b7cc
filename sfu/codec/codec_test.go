package codec

import (
	"bytes"
	"testing"
)

// vp8Key is a VP8 descriptor (X, S, 15-bit picture ID 0x1234, TL0PICIDX 7)
// followed by a key frame header for 640x360.
var vp8Key = []byte{0x90, 0xc0, 0x80 | 0x12, 0x34, 0x07, 0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0x68, 0x01}

func TestParseVP8(t *testing.T) {
	tests := []struct {
		name    string
		in      []byte
		want    VP8
		wantErr bool
	}{
		{name: "empty", in: nil, wantErr: true},
		{name: "key frame with picture id and size", in: vp8Key, want: VP8{
			Start: true, KeyFrame: true, PictureID: 0x1234, PictureIDBytes: 2, PictureIDOffset: 2,
			TL0PICIDX: 7, TL0Offset: 4, HeaderSize: 5, Width: 640, Height: 360,
		}},
		{name: "inter frame start", in: []byte{0x10, 0x01, 0x00, 0x00}, want: VP8{Start: true, HeaderSize: 1}},
		{name: "continuation", in: []byte{0x00, 0x00, 0x00}, want: VP8{HeaderSize: 1}},
		{name: "non-zero partition", in: []byte{0x11, 0x00, 0x00, 0x00}, want: VP8{HeaderSize: 1}},
		{name: "7-bit picture id", in: []byte{0x90, 0x80, 0x05, 0x01, 0, 0}, want: VP8{
			Start: true, PictureID: 5, PictureIDBytes: 1, PictureIDOffset: 2, HeaderSize: 3,
		}},
		{name: "key frame without size", in: []byte{0x10, 0x00, 0x00, 0x00}, want: VP8{Start: true, KeyFrame: true, HeaderSize: 1}},
		{name: "truncated extension", in: []byte{0x80}, wantErr: true},
		{name: "truncated picture id", in: []byte{0x80, 0x80, 0x80}, wantErr: true},
		{name: "truncated frame tag", in: []byte{0x10, 0x00}, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseVP8(tc.in)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tc.wantErr)
			}
			if err == nil && got != tc.want {
				t.Fatalf("got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestSetVP8Fields(t *testing.T) {
	b := bytes.Clone(vp8Key)
	d, err := ParseVP8(b)
	if err != nil {
		t.Fatal(err)
	}
	SetVP8PictureID(b, d, 0x7abc)
	SetVP8TL0PICIDX(b, d, 42)
	got, err := ParseVP8(b)
	if err != nil {
		t.Fatal(err)
	}
	if got.PictureID != 0x7abc || got.TL0PICIDX != 42 || !got.KeyFrame || got.Width != 640 {
		t.Fatalf("after rewrite: %+v", got)
	}
}

func TestIsKeyFrameStart(t *testing.T) {
	tests := []struct {
		name string
		mime string
		in   []byte
		want bool
	}{
		{"vp8 key", MimeVP8, vp8Key, true},
		{"vp8 lower-case mime", "video/vp8", vp8Key, true},
		{"vp8 inter", MimeVP8, []byte{0x10, 0x01, 0, 0}, false},
		{"vp9 key start", MimeVP9, []byte{0x88, 0x00}, false}, // I set, truncated picture id
		{"vp9 key start no id", MimeVP9, []byte{0x08, 0xaa}, true},
		{"vp9 inter", MimeVP9, []byte{0x48, 0xaa}, false},
		{"vp9 not begin", MimeVP9, []byte{0x00, 0xaa}, false},
		{"vp9 upper spatial layer", MimeVP9, []byte{0x28, 0x02, 0x00, 0xaa}, false},
		{"vp9 base spatial layer", MimeVP9, []byte{0x28, 0x00, 0x00, 0xaa}, true},
		{"h264 idr", MimeH264, []byte{0x65, 0x88}, true},
		{"h264 sps", MimeH264, []byte{0x67, 0x42}, true},
		{"h264 non-idr", MimeH264, []byte{0x41, 0x9a}, false},
		{"h264 stap-a with sps", MimeH264, []byte{0x78, 0x00, 0x02, 0x67, 0x42, 0x00, 0x01, 0x68}, true},
		{"h264 stap-a bad size", MimeH264, []byte{0x78, 0x00, 0x09, 0x67}, false},
		{"h264 fu-a idr start", MimeH264, []byte{0x7c, 0x85, 0x00}, true},
		{"h264 fu-a idr middle", MimeH264, []byte{0x7c, 0x05, 0x00}, false},
		{"opus", MimeOpus, []byte{0xfc}, false},
		{"empty", MimeH264, nil, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := IsKeyFrameStart(tc.mime, tc.in); got != tc.want {
				t.Fatalf("IsKeyFrameStart = %v, want %v", got, tc.want)
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	f.Add(vp8Key)
	f.Add([]byte{0x78, 0x00, 0x02, 0x67, 0x42, 0x00, 0x01, 0x68})
	f.Add([]byte{0x28, 0x00, 0x00, 0xaa})
	f.Add([]byte{0x7c, 0x85, 0x00})
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, m := range []string{MimeVP8, MimeVP9, MimeH264} {
			IsKeyFrameStart(m, b)
		}
		d, err := ParseVP8(b)
		if err != nil {
			return
		}
		if d.HeaderSize > len(b) || d.PictureIDOffset+d.PictureIDBytes > len(b) || d.TL0Offset >= len(b) && d.TL0Offset != 0 {
			t.Fatalf("offsets out of range: %+v for %d bytes", d, len(b))
		}
		c := bytes.Clone(b)
		SetVP8PictureID(c, d, 0xffff)
		SetVP8TL0PICIDX(c, d, 1)
	})
}
