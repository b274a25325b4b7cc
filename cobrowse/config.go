package cobrowse

import (
	"fmt"
	"time"

	"github.com/lotse-io/lotse/cobrowse/assetproxy"
)

// Config holds the co-browse relay's limits. Every limit has a default
// (DefaultConfig); Validate says what to fix.
type Config struct {
	// MaxEventBytes caps one "ev" frame's payload after inflating.
	MaxEventBytes int `yaml:"max_event_bytes"`
	// MaxSnapshotBytes caps one "snap" frame's payload after inflating.
	MaxSnapshotBytes int `yaml:"max_snapshot_bytes"`
	// MaxNodes caps the DOM nodes in one snapshot or event frame.
	MaxNodes int `yaml:"max_nodes"`
	// MaxDepth caps the nesting depth of the DOM tree in a frame.
	MaxDepth int `yaml:"max_depth"`
	// MaxLogBytes and MaxLogFrames bound the events held since the last
	// snapshot (as received, compressed). Past either, the relay asks the
	// customer for a fresh snapshot; past twice either, it stops holding
	// events until the snapshot comes (viewers already attached still get
	// them live).
	MaxLogBytes  int `yaml:"max_log_bytes"`
	MaxLogFrames int `yaml:"max_log_frames"`
	// SnapshotRequestInterval is the least time between two snapshot
	// requests to a customer (unless a snapshot came in between).
	SnapshotRequestInterval time.Duration `yaml:"snapshot_request_interval"`
	// ViewerQueueFrames and ViewerQueueBytes bound what waits for one
	// viewer. A viewer past either is reset to the held snapshot and the
	// events since: it skips ahead instead of holding anyone up.
	ViewerQueueFrames int `yaml:"viewer_queue_frames"`
	ViewerQueueBytes  int `yaml:"viewer_queue_bytes"`
	// CustomerQueueFrames bounds what waits for the customer (acks,
	// pointer, actions); past it frames are dropped and counted.
	CustomerQueueFrames int `yaml:"customer_queue_frames"`
	// ChunkBytes is the largest frame the relay sends; larger ones go as
	// chunks. 16 KiB suits data channels and WebSockets alike.
	ChunkBytes int `yaml:"chunk_bytes"`
	// MaxActionText caps the text of one "type" action.
	MaxActionText int `yaml:"max_action_text"`

	// Assets configures the asset proxy.
	Assets assetproxy.Config `yaml:"assets"`
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{
		MaxEventBytes:           1 << 20,
		MaxSnapshotBytes:        16 << 20,
		MaxNodes:                200_000,
		MaxDepth:                400,
		MaxLogBytes:             4 << 20,
		MaxLogFrames:            10_000,
		SnapshotRequestInterval: 2 * time.Second,
		ViewerQueueFrames:       2048,
		ViewerQueueBytes:        8 << 20,
		CustomerQueueFrames:     256,
		ChunkBytes:              DataChannelMessageBytes,
		MaxActionText:           1024,
		Assets:                  assetproxy.DefaultConfig(),
	}
}

// Validate reports the first setting that cannot work, naming it.
func (c *Config) Validate() error {
	check := []struct {
		name string
		v    int
		min  int
	}{
		{"max_event_bytes", c.MaxEventBytes, 1 << 10},
		{"max_snapshot_bytes", c.MaxSnapshotBytes, 16 << 10},
		{"max_nodes", c.MaxNodes, 100},
		{"max_depth", c.MaxDepth, 16},
		{"max_log_bytes", c.MaxLogBytes, 16 << 10},
		{"max_log_frames", c.MaxLogFrames, 10},
		{"viewer_queue_frames", c.ViewerQueueFrames, 16},
		{"viewer_queue_bytes", c.ViewerQueueBytes, 64 << 10},
		{"customer_queue_frames", c.CustomerQueueFrames, 8},
		{"chunk_bytes", c.ChunkBytes, 2 << 10},
		{"max_action_text", c.MaxActionText, 1},
	}
	for _, k := range check {
		if k.v < k.min {
			return fmt.Errorf("cobrowse.%s: %d is below the minimum %d", k.name, k.v, k.min)
		}
	}
	if c.ChunkBytes > WebSocketMessageBytes {
		return fmt.Errorf("cobrowse.chunk_bytes: %d is above %d (the WebSocket message limit)", c.ChunkBytes, WebSocketMessageBytes)
	}
	if c.MaxDepth > 5000 {
		return fmt.Errorf("cobrowse.max_depth: %d is above 5000", c.MaxDepth)
	}
	if c.SnapshotRequestInterval < 100*time.Millisecond {
		return fmt.Errorf("cobrowse.snapshot_request_interval: %s is below 100ms", c.SnapshotRequestInterval)
	}
	if err := c.Assets.Validate(); err != nil {
		return fmt.Errorf("cobrowse.assets.%w", err)
	}
	return nil
}
