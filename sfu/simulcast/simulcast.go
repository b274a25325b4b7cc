// Package simulcast decides which simulcast layer each subscriber of a
// video track receives. A publisher sends up to three encodings of the same
// picture (rid q, h, f: quarter, half and full resolution); a subscriber
// should get the smallest one that still fills the size it displays the
// video at, and no more than its bandwidth estimate allows. The functions
// here are pure policy: the SFU measures the layers, collects the
// subscriber's wishes and estimate, and applies the answer.
package simulcast

import "sort"

// RIDs are the simulcast stream IDs Lotse clients use, lowest first.
var RIDs = [...]string{"q", "h", "f"}

// Index returns the layer index of a rid (q=0, h=1, f=2) and false for
// any other rid.
func Index(rid string) (int, bool) {
	for i, r := range RIDs {
		if r == rid {
			return i, true
		}
	}
	return 0, false
}

// Layer is one encoding of a published video track as last measured.
type Layer struct {
	// Width and Height are the encoded size, 0 while unknown.
	Width, Height int
	// Bitrate is the measured rate in bit/s; 0 means the layer is not
	// being sent at the moment.
	Bitrate int
}

// Active reports whether the publisher is sending the layer.
func (l Layer) Active() bool { return l.Bitrate > 0 }

// fitFraction is how much of the displayed size a layer must reach to
// count as filling it: browsers upscale a slightly smaller picture without
// visible loss, and choosing the next layer up would double the bitrate.
const fitFraction = 0.8

// Choose returns the index into layers (ordered from lowest to highest
// resolution) that a subscriber displaying the video at width×height
// should receive with budget bit/s to spend (budget <= 0: unlimited), or
// -1 when nothing should be forwarded (the size is 0×0 or no layer is
// active). width = height = -1 means "no wish": the highest layer.
//
// The layer chosen for the size is lowered until it fits the budget, but
// never below the lowest active layer: bandwidth pressure degrades the
// picture, only the subscriber pauses it.
func Choose(layers []Layer, width, height, budget int) int {
	if width == 0 && height == 0 {
		return -1
	}
	active := -1
	for i := range layers {
		if layers[i].Active() {
			active = i
			break
		}
	}
	if active < 0 {
		return -1
	}
	sizes := estimateSizes(layers)
	want := len(layers) - 1
	if width > 0 || height > 0 {
		for i := range layers {
			w, h := sizes[i][0], sizes[i][1]
			if w == 0 && h == 0 {
				continue // unknown: keep looking upwards
			}
			if float64(w) >= fitFraction*float64(width) || float64(h) >= fitFraction*float64(height) {
				want = i
				break
			}
		}
	}
	// The wanted layer may not be sent (the publisher's own bandwidth
	// estimate can switch its top layers off): take the next lower active
	// layer, else the next higher one.
	chosen := -1
	for i := want; i >= 0; i-- {
		if layers[i].Active() {
			chosen = i
			break
		}
	}
	if chosen < 0 {
		for i := want + 1; i < len(layers); i++ {
			if layers[i].Active() {
				chosen = i
				break
			}
		}
	}
	if budget <= 0 {
		return chosen
	}
	for i := chosen; i >= 0; i-- {
		if layers[i].Active() && layers[i].Bitrate <= budget {
			return i
		}
	}
	return active
}

// estimateSizes fills unknown layer sizes from known neighbours: each
// simulcast step halves width and height.
func estimateSizes(layers []Layer) [][2]int {
	s := make([][2]int, len(layers))
	known := -1
	for i, l := range layers {
		s[i] = [2]int{l.Width, l.Height}
		if l.Width > 0 && l.Height > 0 && known < 0 {
			known = i
		}
	}
	if known < 0 {
		return s
	}
	for i := range s {
		if s[i][0] > 0 && s[i][1] > 0 {
			continue
		}
		shift := i - known
		w, h := layers[known].Width, layers[known].Height
		if shift > 0 {
			w, h = w<<shift, h<<shift
		} else {
			w, h = w>>-shift, h>>-shift
		}
		s[i] = [2]int{w, h}
	}
	return s
}

// Request is one video track a subscriber receives, as the allocator
// sees it.
type Request struct {
	// Layers are the track's layers, lowest first (one for a track
	// without simulcast).
	Layers []Layer
	// Width and Height are the displayed size the subscriber asked for;
	// 0×0 pauses, -1×-1 means no wish.
	Width, Height int
	// Priority orders tracks when the budget is short: higher first
	// (screen shares before cameras).
	Priority int
}

// Allocate chooses a layer for each request within budget bit/s
// (budget <= 0: unlimited), serving requests by descending priority. The
// result holds one index per request in the order given (-1 = forward
// nothing).
func Allocate(reqs []Request, budget int) []int {
	out := make([]int, len(reqs))
	order := make([]int, len(reqs))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return reqs[order[a]].Priority > reqs[order[b]].Priority })
	remaining := budget
	for _, i := range order {
		r := reqs[i]
		b := remaining
		if budget > 0 && b <= 0 {
			b = 1 // exhausted: the lowest active layer
		}
		c := Choose(r.Layers, r.Width, r.Height, b)
		out[i] = c
		if budget > 0 && c >= 0 {
			remaining -= r.Layers[c].Bitrate
		}
	}
	return out
}
