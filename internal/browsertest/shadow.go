package browsertest

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/dom"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// Shadow drives elements inside the shadow root of a host element — also a
// closed one, which page scripts cannot reach but the DevTools protocol can.
// Interactions are real input events (mouse clicks at the element's centre,
// text insertion into the focused element), as a person would make them.
type Shadow struct {
	p    *Page
	host string // CSS selector of the shadow host in the document
}

// InShadow returns a scope for the shadow root of the element host matches.
func (p *Page) InShadow(host string) *Shadow { return &Shadow{p: p, host: host} }

func ptr[T any](v T) *T { return &v }

// find returns the node id of the first element matching sel inside the
// shadow root, or 0.
func (s *Shadow) find(ctx context.Context, sel string) (cdp.NodeID, error) {
	doc, err := chromedp.Call(ctx, dom.GetDocument, dom.GetDocumentParams{Depth: ptr[int64](-1), Pierce: ptr(true)})
	if err != nil {
		return 0, err
	}
	host, err := chromedp.Call(ctx, dom.QuerySelector, dom.QuerySelectorParams{NodeID: doc.Root.NodeID, Selector: s.host})
	if err != nil || host.NodeID == 0 {
		return 0, err
	}
	var root cdp.NodeID
	var walk func(n *cdp.Node)
	walk = func(n *cdp.Node) {
		if n == nil || root != 0 {
			return
		}
		if n.NodeID == host.NodeID && len(n.ShadowRoots) > 0 {
			root = n.ShadowRoots[0].NodeID
			return
		}
		for _, c := range n.Children {
			walk(c)
		}
		for _, c := range n.ShadowRoots {
			walk(c)
		}
	}
	walk(doc.Root)
	if root == 0 {
		return 0, nil
	}
	res, err := chromedp.Call(ctx, dom.QuerySelector, dom.QuerySelectorParams{NodeID: root, Selector: sel})
	if err != nil {
		return 0, nil // the root went away between the calls; retry
	}
	return res.NodeID, nil
}

// wait polls until sel exists inside the shadow root.
func (s *Shadow) wait(sel string, timeout time.Duration) (context.Context, context.CancelFunc, cdp.NodeID, error) {
	ctx, cancel := context.WithTimeout(s.p.Ctx, timeout)
	for {
		id, err := s.find(ctx, sel)
		if err == nil && id != 0 {
			return ctx, cancel, id, nil
		}
		select {
		case <-ctx.Done():
			cancel()
			return nil, nil, 0, fmt.Errorf("%s >>> %s not found: %w", s.host, sel, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Click clicks the centre of the element matching sel.
func (s *Shadow) Click(sel string, timeout time.Duration) error {
	ctx, cancel, id, err := s.wait(sel, timeout)
	if err != nil {
		return err
	}
	defer cancel()
	_, _ = chromedp.Call(ctx, dom.ScrollIntoViewIfNeeded, dom.ScrollIntoViewIfNeededParams{NodeID: id})
	// Click where the element stays: a page still laying out (a video
	// window opening above a form) would move it between measuring and
	// clicking, and the click would land elsewhere.
	var q []float64
	for i := 0; i < 20; i++ {
		box, err := chromedp.Call(ctx, dom.GetBoxModel, dom.GetBoxModelParams{NodeID: id})
		if err != nil {
			return fmt.Errorf("box of %s: %w", sel, err)
		}
		if q != nil && slices.Equal(q, box.Model.Content) {
			break
		}
		q = box.Model.Content
		time.Sleep(50 * time.Millisecond)
	}
	x, y := (q[0]+q[2]+q[4]+q[6])/4, (q[1]+q[3]+q[5]+q[7])/4
	for _, ev := range []input.DispatchMouseEventParams{
		{Type: input.DispatchMouseEventTypeMouseMoved, X: x, Y: y},
		{Type: input.DispatchMouseEventTypeMousePressed, X: x, Y: y, Button: input.MouseButtonLeft, Buttons: 1, ClickCount: 1},
		{Type: input.DispatchMouseEventTypeMouseReleased, X: x, Y: y, Button: input.MouseButtonLeft, ClickCount: 1},
	} {
		if _, err := chromedp.Call(ctx, input.DispatchMouseEvent, ev); err != nil {
			return err
		}
	}
	return nil
}

// Type focuses the element matching sel and types text into it.
func (s *Shadow) Type(sel, text string, timeout time.Duration) error {
	ctx, cancel, id, err := s.wait(sel, timeout)
	if err != nil {
		return err
	}
	defer cancel()
	if _, err := chromedp.Call(ctx, dom.Focus, dom.FocusParams{NodeID: id}); err != nil {
		return err
	}
	_, err = chromedp.Call(ctx, input.InsertText, input.InsertTextParams{Text: text})
	return err
}

// Text returns the text content of the element matching sel.
func (s *Shadow) Text(sel string, timeout time.Duration) (string, error) {
	ctx, cancel, id, err := s.wait(sel, timeout)
	if err != nil {
		return "", err
	}
	defer cancel()
	obj, err := chromedp.Call(ctx, dom.ResolveNode, dom.ResolveNodeParams{NodeID: id})
	if err != nil {
		return "", err
	}
	res, err := chromedp.Call(ctx, runtime.CallFunctionOn, runtime.CallFunctionOnParams{
		FunctionDeclaration: "function() { return this.textContent; }", ObjectID: obj.Object.ObjectID, ReturnByValue: ptr(true)})
	if err != nil || res.Result == nil {
		return "", err
	}
	var out string
	_ = json.Unmarshal(res.Result.Value, &out)
	return out, nil
}

// WaitText waits until the element matching sel contains want.
func (s *Shadow) WaitText(sel, want string, timeout time.Duration) (string, error) {
	deadline := time.Now().Add(timeout)
	last := ""
	for time.Now().Before(deadline) {
		txt, err := s.Text(sel, time.Until(deadline))
		if err == nil {
			last = txt
			if strings.Contains(txt, want) {
				return txt, nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return last, fmt.Errorf("%s >>> %s never contained %q (last: %q)", s.host, sel, want, last)
}

// Eval calls fn (a JavaScript function declaration such as
// "function() { return getComputedStyle(this).color; }") on the element
// matching sel and returns its JSON result.
func (s *Shadow) Eval(sel, fn string, timeout time.Duration) (json.RawMessage, error) {
	ctx, cancel, id, err := s.wait(sel, timeout)
	if err != nil {
		return nil, err
	}
	defer cancel()
	obj, err := chromedp.Call(ctx, dom.ResolveNode, dom.ResolveNodeParams{NodeID: id})
	if err != nil {
		return nil, err
	}
	res, err := chromedp.Call(ctx, runtime.CallFunctionOn, runtime.CallFunctionOnParams{
		FunctionDeclaration: fn, ObjectID: obj.Object.ObjectID, ReturnByValue: ptr(true)})
	if err != nil || res.Result == nil {
		return nil, err
	}
	return json.RawMessage(res.Result.Value), nil
}
