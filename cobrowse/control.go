package cobrowse

import "fmt"

// The control state machine of a conversation:
//
//	none ──request(viewer)──▶ requested ──grant(customer)──▶ granted
//	  ▲                          │  deny(customer)             │ revoke(customer)
//	  │                          │  release(viewer)            │ release(viewer), viewer left
//	  └──────────────────────────┴─────────────────────────────┘
//
// One viewer at a time requests or holds control. Every transition is
// recorded (Deps.Record) and announced to the customer and every viewer.
// Actions pass only in "granted", only from the holder; the customer's
// SDK checks its own grant again before it acts.

// setControlLocked moves to state (who is the requester or holder) and
// tells everyone.
func (c *conversation) setControlLocked(state, who string, kind EventKind, actor, subject string, events *[]Event) {
	from := c.control
	c.control, c.controlWho = state, who
	*events = append(*events, c.eventLocked(kind, actor, subject, from, state))
	b := mustEncode(ControlState{T: KindControlState, State: state, Participant: who}, nil)
	c.pushCustomerLocked("", b)
	for _, v := range c.viewers {
		c.pushViewerLocked(v, false, b)
	}
}

func (c *conversation) customerControlLocked(h Control, events *[]Event) error {
	switch {
	case h.Op == OpGrant && c.control == StateRequested && h.Participant == c.controlWho:
		c.setControlLocked(StateGranted, c.controlWho, EventControlGranted, c.customer, c.controlWho, events)
	case h.Op == OpDeny && c.control == StateRequested && (h.Participant == "" || h.Participant == c.controlWho):
		c.setControlLocked(StateNone, "", EventControlDenied, c.customer, c.controlWho, events)
	case h.Op == OpRevoke && c.control == StateGranted:
		c.setControlLocked(StateNone, "", EventControlRevoked, c.customer, c.controlWho, events)
	case h.Op == OpRevoke && c.control == StateNone:
		// The SDK revokes on every new page unless it had granted:
		// nothing to do, and nothing to record.
	default:
		c.r.m.invalid.WithLabelValues("control").Inc()
		// Tell the customer how things stand so its UI agrees.
		c.pushCustomerLocked("", mustEncode(ControlState{T: KindControlState, State: c.control, Participant: c.controlWho}, nil))
		return fmt.Errorf("%w: customer %q in state %s", ErrNotAllowed, h.Op, c.control)
	}
	return nil
}

func (c *conversation) fromViewerLocked(participant string, msg []byte, events *[]Event) error {
	m := c.r.m
	v := c.viewers[participant]
	if v == nil {
		m.invalid.WithLabelValues("sender").Inc()
		return ErrNotAttached
	}
	f, err := DecodeFrame(msg)
	if err != nil {
		m.invalid.WithLabelValues("frame").Inc()
		return err
	}
	m.frames.WithLabelValues("viewer", string(f.Kind)).Inc()
	bad := func(err error) error {
		m.invalid.WithLabelValues("viewer").Inc()
		return err
	}
	switch f.Kind {
	case KindPointer:
		var h Pointer
		if err := f.DecodeHeader(&h); err != nil {
			return bad(err)
		}
		if !finite(h.X, h.Y) {
			return bad(fmt.Errorf("%w: pointer out of range", ErrBadFrame))
		}
		c.pushCustomerLocked("ptr:"+participant, mustEncode(Pointer{T: KindPointer, Participant: participant, X: h.X, Y: h.Y, Hidden: h.Hidden}, nil))
		return nil
	case KindHighlight:
		var h Highlight
		if err := f.DecodeHeader(&h); err != nil {
			return bad(err)
		}
		if !finite(h.X, h.Y, h.W, h.H) || h.W < 0 || h.H < 0 {
			return bad(fmt.Errorf("%w: highlight out of range", ErrBadFrame))
		}
		c.pushCustomerLocked("hl:"+participant, mustEncode(Highlight{T: KindHighlight, Participant: participant, X: h.X, Y: h.Y, W: h.W, H: h.H}, nil))
		return nil
	case KindControl:
		var h Control
		if err := f.DecodeHeader(&h); err != nil {
			return bad(err)
		}
		switch {
		case h.Op == OpRequest && c.control == StateNone && c.sharing:
			c.setControlLocked(StateRequested, participant, EventControlRequested, participant, participant, events)
		case h.Op == OpRequest && c.controlWho == participant:
			// Already requested or held: say so again.
			c.pushViewerLocked(v, false, mustEncode(ControlState{T: KindControlState, State: c.control, Participant: c.controlWho}, nil))
		case h.Op == OpRelease && c.controlWho == participant && c.control != StateNone:
			c.setControlLocked(StateNone, "", EventControlReleased, participant, participant, events)
		default:
			c.pushViewerLocked(v, false, mustEncode(ControlState{T: KindControlState, State: c.control, Participant: c.controlWho}, nil))
			return bad(fmt.Errorf("%w: viewer %q in state %s", ErrNotAllowed, h.Op, c.control))
		}
		return nil
	case KindAction:
		var h Action
		if err := f.DecodeHeader(&h); err != nil {
			return bad(err)
		}
		if err := c.checkAction(h); err != nil {
			c.pushViewerLocked(v, false, mustEncode(Result{T: KindResult, ID: h.ID, Err: ErrCodeUnsupported, Participant: participant}, nil))
			return bad(err)
		}
		if c.control != StateGranted || c.controlWho != participant {
			m.invalid.WithLabelValues("not_granted").Inc()
			c.pushViewerLocked(v, false, mustEncode(Result{T: KindResult, ID: h.ID, Err: ErrCodeNotGranted, Participant: participant}, nil))
			return fmt.Errorf("%w: action without control", ErrNotAllowed)
		}
		c.pushCustomerLocked("", mustEncode(Action{T: KindAction, ID: h.ID, Op: h.Op, Node: h.Node, Text: h.Text, X: h.X, Y: h.Y, Participant: participant}, nil))
		return nil
	case KindNeedSnapshot:
		c.resetViewerLocked(v)
		return nil
	}
	return bad(fmt.Errorf("%w: %s from a viewer", ErrNotAllowed, f.Kind))
}

func (c *conversation) checkAction(h Action) error {
	switch h.Op {
	case ActClick, ActType, ActKey, ActScroll:
	default:
		return fmt.Errorf("%w: action %q", ErrBadFrame, truncate(h.Op, 16))
	}
	if !validID(h.Node) || h.Node < 0 {
		return fmt.Errorf("%w: action node %d", ErrBadFrame, h.Node)
	}
	if len(h.Text) > c.r.cfg.MaxActionText {
		return fmt.Errorf("%w: action text of %d bytes", ErrTooLarge, len(h.Text))
	}
	if !finite(h.X, h.Y) {
		return fmt.Errorf("%w: action coordinates", ErrBadFrame)
	}
	return nil
}
