package simulcast

import (
	"slices"
	"testing"
)

var three = []Layer{
	{Width: 160, Height: 90, Bitrate: 150_000},
	{Width: 320, Height: 180, Bitrate: 500_000},
	{Width: 640, Height: 360, Bitrate: 1_500_000},
}

func TestChoose(t *testing.T) {
	unknown := []Layer{{Bitrate: 100}, {Bitrate: 200}, {Bitrate: 300}}
	onlyTopKnown := []Layer{{Bitrate: 100}, {Bitrate: 200}, {Width: 1280, Height: 720, Bitrate: 300}}
	topOff := []Layer{three[0], three[1], {Width: 640, Height: 360}}
	tests := []struct {
		name          string
		layers        []Layer
		width, height int
		budget        int
		want          int
	}{
		{"no wish takes the top", three, -1, -1, 0, 2},
		{"paused", three, 0, 0, 0, -1},
		{"thumbnail", three, 120, 68, 0, 0},
		{"half size", three, 320, 180, 0, 1},
		{"slightly larger than half still half", three, 380, 214, 0, 1},
		{"full", three, 640, 360, 0, 2},
		{"bigger than any", three, 1920, 1080, 0, 2},
		{"letterboxed in a tall box", three, 180, 320, 0, 0},
		{"budget lowers", three, 640, 360, 600_000, 1},
		{"tiny budget keeps the lowest", three, 640, 360, 10, 0},
		{"unknown sizes: top", unknown, 320, 180, 0, 2},
		{"sizes estimated from the top", onlyTopKnown, 640, 360, 0, 1},
		{"top layer off", topOff, 640, 360, 0, 1},
		{"nothing active", []Layer{{}, {}, {}}, 640, 360, 0, -1},
		{"single layer", []Layer{{Bitrate: 1}}, 100, 100, 0, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Choose(tc.layers, tc.width, tc.height, tc.budget); got != tc.want {
				t.Fatalf("Choose = %d, want %d", got, tc.want)
			}
		})
	}
}

func TestAllocate(t *testing.T) {
	screen := Request{Layers: three, Width: -1, Height: -1, Priority: 1}
	camera := Request{Layers: three, Width: -1, Height: -1}
	tests := []struct {
		name   string
		reqs   []Request
		budget int
		want   []int
	}{
		{"unlimited", []Request{camera, screen}, 0, []int{2, 2}},
		{"screen first", []Request{camera, screen}, 2_000_000, []int{1, 2}},
		{"exhausted keeps lowest", []Request{camera, screen}, 1_500_000, []int{0, 2}},
		{"paused costs nothing", []Request{{Layers: three}, screen}, 1_500_000, []int{-1, 2}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Allocate(tc.reqs, tc.budget); !slices.Equal(got, tc.want) {
				t.Fatalf("Allocate = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestIndex(t *testing.T) {
	for i, r := range RIDs {
		if got, ok := Index(r); !ok || got != i {
			t.Fatalf("Index(%q) = %d, %v", r, got, ok)
		}
	}
	if _, ok := Index("x"); ok {
		t.Fatal(`Index("x") ok`)
	}
}
