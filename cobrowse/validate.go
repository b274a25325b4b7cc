package cobrowse

import (
	"bytes"
	"compress/flate"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"
)

// The relay inflates and checks every "snap" and "ev" payload before it
// keeps or forwards it: the shape of each rrweb event (types, sources,
// ids, node trees), the inflated size, the number of nodes and the depth
// of the tree. It keeps and forwards the frame exactly as received
// (compressed), so validation costs one inflate and one parse per frame
// and nothing is re-compressed. See docs/cobrowse.md for the reasoning.

// rrweb event types (rrweb's EventType) the relay accepts.
const (
	evFullSnapshot = 2
	evIncremental  = 3
	evMeta         = 4
)

// rrweb incremental sources (rrweb's IncrementalSource).
const (
	srcMutation          = 0
	srcMouseMove         = 1
	srcMouseInteraction  = 2
	srcScroll            = 3
	srcViewportResize    = 4
	srcInput             = 5
	srcTouchMove         = 6
	srcMediaInteraction  = 7
	srcStyleSheetRule    = 8
	srcCanvasMutation    = 9
	srcFont              = 10
	srcLog               = 11
	srcDrag              = 12
	srcStyleDeclaration  = 13
	srcSelection         = 14
	srcAdoptedStyleSheet = 15
	srcCustomElement     = 16
)

// rrweb-snapshot node types.
const (
	nodeDocument = iota
	nodeDocumentType
	nodeElement
	nodeText
	nodeCDATA
	nodeComment
)

// InvalidError says why a payload was refused; Reason is a short metric
// label.
type InvalidError struct {
	Reason string
	Detail string
}

func (e *InvalidError) Error() string {
	return "cobrowse: invalid event: " + e.Reason + ": " + e.Detail
}

// Is makes errors.Is(err, ErrInvalidEvent) true.
func (e *InvalidError) Is(target error) bool { return target == ErrInvalidEvent }

func invalid(reason, format string, args ...any) error {
	return &InvalidError{Reason: reason, Detail: fmt.Sprintf(format, args...)}
}

// inflate returns payload inflated (when deflated) and refuses anything
// over limit bytes, compressed or not. pool, if not nil, recycles the
// inflaters (each holds a 32 KiB window).
func inflate(payload []byte, deflated bool, limit int, pool *sync.Pool) ([]byte, error) {
	if len(payload) > limit {
		return nil, invalid("size", "%d bytes over the limit of %d", len(payload), limit)
	}
	if !deflated {
		return payload, nil
	}
	var zr io.ReadCloser
	if pool != nil {
		if v, ok := pool.Get().(io.ReadCloser); ok {
			if err := v.(flate.Resetter).Reset(bytes.NewReader(payload), nil); err == nil {
				zr = v
			}
		}
	}
	if zr == nil {
		zr = flate.NewReader(bytes.NewReader(payload))
	}
	defer func() {
		_ = zr.Close()
		if pool != nil {
			pool.Put(zr)
		}
	}()
	var out bytes.Buffer
	out.Grow(min(len(payload)*4, limit))
	n, err := io.Copy(&out, io.LimitReader(zr, int64(limit)+1))
	if err != nil {
		return nil, invalid("deflate", "%v", err)
	}
	if n > int64(limit) {
		return nil, invalid("size", "inflates past the limit of %d bytes", limit)
	}
	return out.Bytes(), nil
}

// limits are what one payload may hold.
type limits struct {
	maxNodes int
	maxDepth int
}

// checker walks one payload, counting nodes.
type checker struct {
	limits
	nodes int
}

type rrEvent struct {
	Type      *int            `json:"type"`
	Timestamp *float64        `json:"timestamp"`
	Data      json.RawMessage `json:"data"`
}

// validatePayload checks the inflated JSON of a "snap" (snapshot true) or
// "ev" frame. It returns the number of events.
func validatePayload(raw []byte, snapshot bool, lim limits) (int, error) {
	var events []rrEvent
	if err := json.Unmarshal(raw, &events); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return 0, invalid("json", "offset %d", se.Offset)
		}
		return 0, invalid("shape", "not an array of events")
	}
	if len(events) == 0 {
		return 0, invalid("shape", "no events")
	}
	c := &checker{limits: lim}
	for i, ev := range events {
		if ev.Type == nil || ev.Timestamp == nil || len(ev.Data) == 0 || ev.Data[0] != '{' {
			return 0, invalid("shape", "event %d lacks type, timestamp or data", i)
		}
		t := *ev.Type
		switch {
		case snapshot && i == 0:
			if t != evMeta {
				return 0, invalid("type", "snapshot starts with event type %d, not Meta", t)
			}
		case snapshot && i == 1:
			if t != evFullSnapshot {
				return 0, invalid("type", "snapshot's second event has type %d, not FullSnapshot", t)
			}
		default:
			if t != evIncremental {
				return 0, invalid("type", "event %d has type %d", i, t)
			}
		}
		var err error
		switch t {
		case evMeta:
			err = checkMeta(ev.Data)
		case evFullSnapshot:
			err = c.checkFullSnapshot(ev.Data)
		case evIncremental:
			err = c.checkIncremental(ev.Data)
		}
		if err != nil {
			return 0, err
		}
	}
	if snapshot && len(events) < 2 {
		return 0, invalid("shape", "snapshot without FullSnapshot")
	}
	return len(events), nil
}

func checkMeta(data json.RawMessage) error {
	var m struct {
		Href   *string  `json:"href"`
		Width  *float64 `json:"width"`
		Height *float64 `json:"height"`
	}
	if err := json.Unmarshal(data, &m); err != nil || m.Href == nil || m.Width == nil || m.Height == nil {
		return invalid("shape", "Meta needs href, width, height")
	}
	if len(*m.Href) > 8192 || *m.Width < 0 || *m.Height < 0 || *m.Width > 1e5 || *m.Height > 1e5 {
		return invalid("shape", "Meta out of range")
	}
	return nil
}

// snNode is rrweb-snapshot's serialized node.
type snNode struct {
	Type        *int                       `json:"type"`
	ID          *int64                     `json:"id"`
	TagName     *string                    `json:"tagName"`
	Attributes  map[string]json.RawMessage `json:"attributes"`
	ChildNodes  []snNode                   `json:"childNodes"`
	TextContent *string                    `json:"textContent"`
	Name        *string                    `json:"name"`
}

func (c *checker) checkFullSnapshot(data json.RawMessage) error {
	var fs struct {
		Node          *snNode `json:"node"`
		InitialOffset *struct {
			Top  *float64 `json:"top"`
			Left *float64 `json:"left"`
		} `json:"initialOffset"`
	}
	if err := json.Unmarshal(data, &fs); err != nil || fs.Node == nil {
		return invalid("shape", "FullSnapshot needs node")
	}
	if fs.InitialOffset == nil || fs.InitialOffset.Top == nil || fs.InitialOffset.Left == nil {
		return invalid("shape", "FullSnapshot needs initialOffset")
	}
	if fs.Node.Type == nil || *fs.Node.Type != nodeDocument {
		return invalid("shape", "FullSnapshot's root is not a document")
	}
	return c.checkNode(fs.Node, 0)
}

func (c *checker) checkNode(n *snNode, depth int) error {
	if depth > c.maxDepth {
		return invalid("depth", "deeper than %d", c.maxDepth)
	}
	c.nodes++
	if c.nodes > c.maxNodes {
		return invalid("nodes", "more than %d nodes", c.maxNodes)
	}
	if n.Type == nil || n.ID == nil || !validID(*n.ID) {
		return invalid("shape", "node without type or valid id")
	}
	switch *n.Type {
	case nodeDocument:
	case nodeDocumentType:
		if n.Name == nil {
			return invalid("shape", "doctype without name")
		}
	case nodeElement:
		if n.TagName == nil || !validTagName(*n.TagName) {
			return invalid("shape", "element with a bad tag name")
		}
		for k, v := range n.Attributes {
			if !validAttrName(k) {
				return invalid("shape", "bad attribute name")
			}
			if !scalarJSON(v) {
				return invalid("shape", "attribute %s is not a scalar", truncate(k, 32))
			}
		}
	case nodeText, nodeCDATA, nodeComment:
		if n.TextContent == nil {
			return invalid("shape", "text node without textContent")
		}
		if len(n.ChildNodes) > 0 {
			return invalid("shape", "text node with children")
		}
	default:
		return invalid("shape", "node type %d", *n.Type)
	}
	for i := range n.ChildNodes {
		if err := c.checkNode(&n.ChildNodes[i], depth+1); err != nil {
			return err
		}
	}
	return nil
}

// validID accepts rrweb's positive node ids (and -1, "unknown", where
// rrweb uses it for nodes it could not serialize).
func validID(id int64) bool { return id > 0 && id < 1<<31 || id == -1 }

func validTagName(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		b := s[i]
		alpha := b|0x20 >= 'a' && b|0x20 <= 'z'
		if i == 0 && !alpha {
			return false
		}
		if !alpha && (b < '0' || b > '9') && b != '-' && b != '_' && b != '.' && b != ':' {
			return false
		}
	}
	return true
}

func validAttrName(s string) bool {
	if s == "" || len(s) > 256 {
		return false
	}
	for i := 0; i < len(s); i++ {
		switch b := s[i]; {
		case b <= ' ', b == '"', b == '\'', b == '>', b == '/', b == '=', b == 0x7f:
			return false
		}
	}
	return true
}

// scalarJSON reports whether v is a JSON string, number, boolean or null.
func scalarJSON(v json.RawMessage) bool {
	v = bytes.TrimLeft(v, " \t\r\n")
	return len(v) > 0 && v[0] != '{' && v[0] != '['
}

type incremental struct {
	Source *int `json:"source"`
}

func (c *checker) checkIncremental(data json.RawMessage) error {
	var in incremental
	if err := json.Unmarshal(data, &in); err != nil || in.Source == nil {
		return invalid("shape", "incremental event without source")
	}
	var err error
	switch *in.Source {
	case srcMutation:
		err = c.checkMutation(data)
	case srcMouseMove, srcTouchMove, srcDrag:
		err = checkPositions(data)
	case srcMouseInteraction:
		err = checkShape(data, &struct {
			Type *int   `json:"type"`
			ID   *int64 `json:"id"`
		}{}, "type", "id")
	case srcScroll:
		err = checkShape(data, &struct {
			ID *int64   `json:"id"`
			X  *float64 `json:"x"`
			Y  *float64 `json:"y"`
		}{}, "id", "x", "y")
	case srcViewportResize:
		err = checkShape(data, &struct {
			Width  *float64 `json:"width"`
			Height *float64 `json:"height"`
		}{}, "width", "height")
	case srcInput:
		err = checkShape(data, &struct {
			ID        *int64  `json:"id"`
			Text      *string `json:"text"`
			IsChecked *bool   `json:"isChecked"`
		}{}, "id", "text", "isChecked")
	case srcMediaInteraction:
		err = checkShape(data, &struct {
			Type *int   `json:"type"`
			ID   *int64 `json:"id"`
		}{}, "type", "id")
	case srcStyleSheetRule:
		err = checkStyleSheetRule(data)
	case srcStyleDeclaration:
		err = checkShape(data, &struct {
			Index *[]int `json:"index"`
		}{}, "index")
	case srcSelection:
		err = checkShape(data, &struct {
			Ranges *[]struct {
				Start       int64 `json:"start"`
				StartOffset int   `json:"startOffset"`
				End         int64 `json:"end"`
				EndOffset   int   `json:"endOffset"`
			} `json:"ranges"`
		}{}, "ranges")
	case srcAdoptedStyleSheet:
		err = checkShape(data, &struct {
			ID       *int64 `json:"id"`
			StyleIDs *[]int `json:"styleIds"`
			Styles   []struct {
				StyleID int `json:"styleId"`
				Rules   []struct {
					Rule string `json:"rule"`
				} `json:"rules"`
			} `json:"styles"`
		}{}, "id", "styleIds")
	case srcCustomElement:
		err = checkShape(data, &struct {
			Define *struct {
				Name string `json:"name"`
			} `json:"define"`
		}{})
	case srcCanvasMutation, srcFont, srcLog:
		// Lotse records neither canvases, fonts nor console logs: a
		// customer sending them is not our SDK.
		return invalid("source", "source %d is not recorded by Lotse", *in.Source)
	default:
		return invalid("source", "unknown source %d", *in.Source)
	}
	return err
}

// checkShape decodes data into v (a pointer to a struct of pointers) and
// requires the named fields to be present.
func checkShape(data json.RawMessage, v any, required ...string) error {
	if err := json.Unmarshal(data, v); err != nil {
		return invalid("shape", "%v", err)
	}
	if len(required) == 0 {
		return nil
	}
	// Re-read presence from a map: cheaper to write than reflection,
	// and these events are small.
	var m map[string]json.RawMessage
	if err := json.Unmarshal(data, &m); err != nil {
		return invalid("shape", "%v", err)
	}
	for _, k := range required {
		if v, ok := m[k]; !ok || string(v) == "null" {
			return invalid("shape", "missing %s", k)
		}
	}
	return nil
}

func checkPositions(data json.RawMessage) error {
	var d struct {
		Positions *[]struct {
			X          *float64 `json:"x"`
			Y          *float64 `json:"y"`
			ID         *int64   `json:"id"`
			TimeOffset *float64 `json:"timeOffset"`
		} `json:"positions"`
	}
	if err := json.Unmarshal(data, &d); err != nil || d.Positions == nil {
		return invalid("shape", "positions missing")
	}
	if len(*d.Positions) > 10_000 {
		return invalid("size", "too many positions")
	}
	for _, p := range *d.Positions {
		if p.X == nil || p.Y == nil || p.ID == nil || p.TimeOffset == nil {
			return invalid("shape", "position lacks x, y, id or timeOffset")
		}
	}
	return nil
}

func checkStyleSheetRule(data json.RawMessage) error {
	var d struct {
		ID      *int64 `json:"id"`
		StyleID *int   `json:"styleId"`
		Adds    []struct {
			Rule *string `json:"rule"`
		} `json:"adds"`
		Removes []struct {
			Index json.RawMessage `json:"index"`
		} `json:"removes"`
	}
	if err := json.Unmarshal(data, &d); err != nil {
		return invalid("shape", "%v", err)
	}
	if d.ID == nil && d.StyleID == nil {
		return invalid("shape", "style sheet rule without id or styleId")
	}
	for _, a := range d.Adds {
		if a.Rule == nil {
			return invalid("shape", "added rule without text")
		}
	}
	return nil
}

func (c *checker) checkMutation(data json.RawMessage) error {
	var m struct {
		Texts *[]struct {
			ID    *int64          `json:"id"`
			Value json.RawMessage `json:"value"`
		} `json:"texts"`
		Attributes *[]struct {
			ID         *int64                     `json:"id"`
			Attributes map[string]json.RawMessage `json:"attributes"`
		} `json:"attributes"`
		Removes *[]struct {
			ParentID *int64 `json:"parentId"`
			ID       *int64 `json:"id"`
		} `json:"removes"`
		Adds *[]struct {
			ParentID *int64  `json:"parentId"`
			Node     *snNode `json:"node"`
		} `json:"adds"`
	}
	if err := json.Unmarshal(data, &m); err != nil {
		return invalid("shape", "mutation: %v", err)
	}
	if m.Texts == nil || m.Attributes == nil || m.Removes == nil || m.Adds == nil {
		return invalid("shape", "mutation lacks texts, attributes, removes or adds")
	}
	for _, t := range *m.Texts {
		if t.ID == nil || !validID(*t.ID) || len(t.Value) == 0 || (t.Value[0] != '"' && string(t.Value) != "null") {
			return invalid("shape", "text mutation")
		}
	}
	for _, a := range *m.Attributes {
		if a.ID == nil || !validID(*a.ID) || a.Attributes == nil {
			return invalid("shape", "attribute mutation")
		}
		for k, v := range a.Attributes {
			if !validAttrName(k) {
				return invalid("shape", "bad attribute name")
			}
			// "style" may be rrweb's style diff object; every other
			// attribute is a scalar.
			if !scalarJSON(v) && (k != "style" || bytes.TrimLeft(v, " \t\r\n")[0] != '{') {
				return invalid("shape", "attribute %s is not a scalar", truncate(k, 32))
			}
		}
	}
	for _, r := range *m.Removes {
		if r.ParentID == nil || r.ID == nil || !validID(*r.ID) || !validID(*r.ParentID) {
			return invalid("shape", "remove mutation")
		}
	}
	for _, a := range *m.Adds {
		if a.ParentID == nil || a.Node == nil || !validID(*a.ParentID) {
			return invalid("shape", "add mutation")
		}
		if err := c.checkNode(a.Node, 0); err != nil {
			return err
		}
	}
	return nil
}
