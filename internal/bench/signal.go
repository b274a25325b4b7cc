package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lotse-io/lotse/signaling/client"
	"github.com/lotse-io/lotse/signaling/wire"
)

// SignalOptions describe a signalling benchmark.
type SignalOptions struct {
	URL           string // Lotse's base URL
	Password      string // the demo admin's password
	Conversations int
	Participants  int           // in all, advisors included (one advisor per conversation)
	ChatRate      float64       // chat messages per second per participant
	Duration      time.Duration // of the chat phase
	ServerPID     int           // for RSS and CPU (0: not measured)
	// Settle is how long connections sit idle before RSS is sampled
	// (longer than the resume window, so that replay buffers are empty).
	Settle time.Duration
}

// SignalResult is what the benchmark measured.
type SignalResult struct {
	Connections      int
	SetupTime        time.Duration
	IdleRSSPerConnKB float64
	BaselineRSSMiB   float64
	SentPerSec       float64
	DeliveredPerSec  float64
	LatencyP50       time.Duration
	LatencyP99       time.Duration
	ServerCPU        float64 // share of one core during the chat phase
	Lost             int64
	ProtocolErrors   int64
	// Disconnected counts clients the server closed during the chat phase
	// (e.g. 4002: too slow to keep up; a real client would resume).
	Disconnected int64
}

type api struct {
	base string
	hc   *http.Client
	csrf string
}

func (a *api) do(method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, a.base+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Origin", a.base)
	if a.csrf != "" {
		req.Header.Set("X-CSRF-Token", a.csrf)
	}
	res, err := a.hc.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode >= 300 {
		return fmt.Errorf("%s %s: %d %s", method, path, res.StatusCode, b)
	}
	if out != nil {
		return json.Unmarshal(b, out)
	}
	return nil
}

// RunSignal sets up the conversations, measures idle memory per connection,
// then runs the chat phase.
func RunSignal(ctx context.Context, o SignalOptions, progress io.Writer) (*SignalResult, error) {
	jar, _ := cookiejar.New(nil)
	a := &api{base: o.URL, hc: &http.Client{Jar: jar, Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}}
	var sess struct {
		CSRFToken string `json:"csrf_token"`
	}
	// Secure cookies over plain HTTP on loopback: carry the cookie by hand.
	if err := loginWithCookie(a, o.Password, &sess); err != nil {
		return nil, err
	}
	a.csrf = sess.CSRFToken
	wsURL := "ws" + strings.TrimPrefix(o.URL, "http") + "/api/v1/signal"
	anonHC := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	perConv := o.Participants / o.Conversations
	if perConv < 2 {
		return nil, fmt.Errorf("need at least 2 participants per conversation")
	}
	type member struct {
		c  *client.Client
		id string
	}
	rooms := make([][]member, o.Conversations)
	start := time.Now()
	// Memory per idle connection is the marginal cost: RSS with the second
	// half of the connections minus RSS with the first half, divided by the
	// connections in between (the first half absorbs start-up effects such
	// as argon2 buffers from the login).
	var half ProcSample
	halfConns := 0
	dial := func(token string) (*client.Client, *wire.Joined, error) {
		c, _, err := client.Dial(ctx, wsURL, o.URL)
		if err != nil {
			return nil, nil, err
		}
		jctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		defer cancel()
		j, err := c.Join(jctx, token, nil)
		return c, j, err
	}
	for i := range rooms {
		var conv struct {
			ID       string `json:"id"`
			ShareURL string `json:"share_url"`
		}
		if err := a.do("POST", "/api/v1/conversations", map[string]any{"subject": "bench " + strconv.Itoa(i), "share_max_uses": 1000}, &conv); err != nil {
			return nil, err
		}
		var tok struct {
			JoinToken string `json:"join_token"`
		}
		if err := a.do("POST", "/api/v1/conversations/"+conv.ID+"/token", nil, &tok); err != nil {
			return nil, err
		}
		adv, aj, err := dial(tok.JoinToken)
		if err != nil {
			return nil, fmt.Errorf("advisor join: %w", err)
		}
		rooms[i] = append(rooms[i], member{adv, aj.Self.ID})
		share := conv.ShareURL[strings.LastIndex(conv.ShareURL, "/j/")+3:]
		for k := 1; k < perConv; k++ {
			var jr struct {
				JoinToken     string `json:"join_token"`
				ParticipantID string `json:"participant_id"`
			}
			anon := &api{base: o.URL, hc: anonHC}
			if err := anon.do("POST", "/api/v1/join", map[string]any{"token": share, "display_name": "Kunde " + strconv.Itoa(k),
				"consent": map[string]bool{"terms": true}}, &jr); err != nil {
				return nil, err
			}
			c, _, err := dial(jr.JoinToken)
			if err != nil {
				return nil, fmt.Errorf("customer join: %w", err)
			}
			if err := adv.Send(&wire.Admit{Header: wire.Header{Type: "admit"}, ParticipantID: jr.ParticipantID}); err != nil {
				return nil, err
			}
			rooms[i] = append(rooms[i], member{c, jr.ParticipantID})
		}
		if i+1 == o.Conversations/2 && o.ServerPID > 0 {
			fmt.Fprintf(progress, "idle for %v before sampling memory\n", o.Settle)
			time.Sleep(o.Settle)
			half, _ = ReadProc(o.ServerPID)
			halfConns = (i + 1) * perConv
		}
		if (i+1)%max(1, o.Conversations/10) == 0 {
			fmt.Fprintf(progress, "set up %d/%d conversations\n", i+1, o.Conversations)
		}
	}
	res := &SignalResult{Connections: o.Conversations * perConv, SetupTime: time.Since(start)}
	// Let admissions settle, drain what arrived, then measure idle memory.
	if o.ServerPID > 0 {
		fmt.Fprintf(progress, "idle for %v before sampling memory\n", o.Settle)
		time.Sleep(o.Settle)
	} else {
		time.Sleep(3 * time.Second)
	}
	var all []member
	for _, r := range rooms {
		all = append(all, r...)
	}
	drain := func(c *client.Client) {
		for {
			select {
			case _, ok := <-c.Pending():
				if !ok {
					return
				}
			default:
				return
			}
		}
	}
	for _, m := range all {
		drain(m.c)
	}
	if o.ServerPID > 0 && halfConns > 0 && res.Connections > halfConns {
		idle, _ := ReadProc(o.ServerPID)
		res.BaselineRSSMiB = float64(idle.RSSByte) / (1 << 20)
		res.IdleRSSPerConnKB = float64(idle.RSSByte-half.RSSByte) / 1024 / float64(res.Connections-halfConns)
	}

	// Chat phase: every participant sends at ChatRate; every receiver
	// measures the delay from the send time carried in the text.
	var sent, delivered, perr, disc atomic.Int64
	var mu sync.Mutex
	var lat []time.Duration
	cctx, cancel := context.WithTimeout(ctx, o.Duration+5*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	for _, m := range all {
		wg.Add(1)
		go func(m member) {
			defer wg.Done()
			local := make([]time.Duration, 0, 1024)
			for {
				msg, err := m.c.Next(cctx)
				if err != nil {
					if cctx.Err() == nil {
						disc.Add(1)
					}
					break
				}
				switch v := msg.(type) {
				case *wire.ChatDelivered:
					if v.Message.From == m.id {
						continue
					}
					if ns, err := strconv.ParseInt(strings.TrimPrefix(v.Message.Text, "t="), 10, 64); err == nil {
						local = append(local, time.Since(time.Unix(0, ns)))
						delivered.Add(1)
					}
				case *wire.Error:
					perr.Add(1)
				}
			}
			mu.Lock()
			lat = append(lat, local...)
			mu.Unlock()
		}(m)
	}
	var cpu0 ProcSample
	if o.ServerPID > 0 {
		cpu0, _ = ReadProc(o.ServerPID)
	}
	phase := time.Now()
	var senders sync.WaitGroup
	interval := time.Duration(float64(time.Second) / o.ChatRate)
	for i, m := range all {
		senders.Add(1)
		go func(i int, m member) {
			defer senders.Done()
			time.Sleep(time.Duration(i) * interval / time.Duration(len(all))) // spread the sends
			t := time.NewTicker(interval)
			defer t.Stop()
			for time.Since(phase) < o.Duration {
				if m.c.Send(&wire.Chat{Header: wire.Header{Type: "chat"}, Text: "t=" + strconv.FormatInt(time.Now().UnixNano(), 10)}) == nil {
					sent.Add(1)
				}
				<-t.C
			}
		}(i, m)
	}
	senders.Wait()
	elapsed := time.Since(phase)
	if o.ServerPID > 0 {
		cpu1, _ := ReadProc(o.ServerPID)
		res.ServerCPU = CPUShare(cpu0, cpu1)
	}
	time.Sleep(2 * time.Second) // let the last deliveries arrive
	cancel()
	wg.Wait()
	for _, m := range all {
		m.c.Close()
	}
	res.SentPerSec = float64(sent.Load()) / elapsed.Seconds()
	res.DeliveredPerSec = float64(delivered.Load()) / elapsed.Seconds()
	ps := Percentiles(lat, 50, 99)
	res.LatencyP50, res.LatencyP99 = ps[0], ps[1]
	res.Lost = sent.Load()*int64(perConv-1) - delivered.Load()
	res.ProtocolErrors = perr.Load()
	res.Disconnected = disc.Load()
	return res, nil
}

func loginWithCookie(a *api, password string, out any) error {
	b, _ := json.Marshal(map[string]string{"tenant": "demo", "email": "admin@demo.local", "password": password})
	req, _ := http.NewRequest("POST", a.base+"/api/v1/auth/login", bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Origin", a.base)
	res, err := a.hc.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != 200 {
		return fmt.Errorf("login: %d %s", res.StatusCode, body)
	}
	var cookie *http.Cookie
	for _, c := range res.Cookies() {
		if strings.Contains(c.Name, "lotse_session") {
			cookie = c
		}
	}
	if cookie == nil {
		return fmt.Errorf("login: no session cookie")
	}
	a.hc.Transport = &cookieTransport{base: a.hc.Transport, cookie: cookie}
	return json.Unmarshal(body, out)
}

// cookieTransport adds the session cookie (Secure cookies are not sent
// over http:// by Go's cookie jar, even on loopback).
type cookieTransport struct {
	base   http.RoundTripper
	cookie *http.Cookie
}

func (t *cookieTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.AddCookie(t.cookie)
	return t.base.RoundTrip(r)
}
