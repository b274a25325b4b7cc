// Package node assembles one Lotse node: it opens the store, bootstraps the
// first tenant, builds the HTTP handler (API, pages, the web SDK, health and
// metrics) and runs the server until its context ends, then drains.
//
// Components that hold long-lived connections (signalling WebSockets, SFU
// rooms, the TURN relay) register shutdown hooks with OnShutdown; Run calls
// them while the HTTP server stops accepting requests.
package node

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	stdlog "log"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/rs/zerolog"

	"github.com/lotse-io/lotse/auth"
	"github.com/lotse-io/lotse/cobrowse"
	"github.com/lotse-io/lotse/cobrowse/assetproxy"
	"github.com/lotse-io/lotse/console"
	"github.com/lotse-io/lotse/internal/buildinfo"
	"github.com/lotse-io/lotse/internal/config"
	"github.com/lotse-io/lotse/internal/keyfile"
	"github.com/lotse-io/lotse/internal/route"
	"github.com/lotse-io/lotse/internal/secret"
	"github.com/lotse-io/lotse/internal/web"
	"github.com/lotse-io/lotse/sfu"
	"github.com/lotse-io/lotse/signaling"
	"github.com/lotse-io/lotse/store/sqlite"
	"github.com/lotse-io/lotse/turn"
	websdk "github.com/lotse-io/lotse/web-sdk"
)

// Deps are what a node is given rather than builds.
type Deps struct {
	Log zerolog.Logger
	// Out receives the one-time bootstrap message meant for the operator
	// (it may contain a generated password, so it never goes to the log).
	Out io.Writer
	// Now is the clock (nil: time.Now); tests move it to expire sessions.
	Now func() time.Time
	// Hasher overrides the password hasher (tests use cheap parameters).
	Hasher *auth.Hasher
}

// Node is one running Lotse process.
type Node struct {
	cfg      config.Config
	log      zerolog.Logger
	db       *sqlite.DB
	reg      *prometheus.Registry
	assets   *websdk.Assets
	hasher   *auth.Hasher
	out      io.Writer // operator messages (first-run banner, dev-mode hints)
	auth     *auth.Service
	api      *signaling.API
	console  *console.Console
	signal   *signaling.Service
	relay    *cobrowse.Relay
	turn     *turn.Server // nil when the relay is off
	sfu      *sfu.SFU
	handler  http.Handler
	draining atomic.Bool

	mu    sync.Mutex // guards hooks
	hooks []hook
}

type hook struct {
	name string
	fn   func(context.Context) error
}

// New opens the node's store (applying migrations), bootstraps the first
// tenant on an empty database, and builds the HTTP handler.
func New(ctx context.Context, cfg config.Config, deps Deps) (*Node, error) {
	if deps.Out == nil {
		deps.Out = io.Discard
	}
	n := &Node{
		cfg:    cfg,
		log:    deps.Log.With().Str("component", "node").Logger(),
		reg:    prometheus.NewRegistry(),
		assets: websdk.Load(),
		hasher: deps.Hasher,
		out:    deps.Out,
	}
	if n.hasher == nil {
		n.hasher = auth.NewHasher(auth.DefaultArgon2Params, cfg.Auth.HashConcurrency)
	}
	db, err := sqlite.Open(ctx, sqlite.Config{Path: cfg.Store.SQLitePath, BusyTimeout: cfg.Store.BusyTimeout})
	if err != nil {
		return nil, err
	}
	n.db = db
	if err := n.bootstrap(ctx, deps.Out); err != nil {
		db.Close()
		return nil, err
	}
	totpKey, err := keyfile.Load(cfg.DataDir, "totp.key", 32)
	if err != nil {
		db.Close()
		return nil, err
	}
	n.auth, err = auth.New(cfg.Auth, auth.Deps{Store: db, Hasher: n.hasher, Log: deps.Log, TOTPKey: totpKey, Now: deps.Now})
	if err != nil {
		db.Close()
		return nil, err
	}
	origin := route.Origin(cfg.PublicURL)
	n.api = signaling.NewAPI(origin, signaling.APIDeps{Log: deps.Log, Auth: n.auth, Store: db})
	keys := map[string][]byte{}
	for _, name := range []string{"join-token.key", "code.key", "secret.key"} {
		if keys[name], err = keyfile.Load(cfg.DataDir, name, 32); err != nil {
			db.Close()
			return nil, err
		}
	}
	if err := n.startSFU(deps); err != nil {
		db.Close()
		return nil, err
	}
	if err := n.startTURN(deps); err != nil {
		n.sfu.Close()
		db.Close()
		return nil, err
	}
	n.signal, err = signaling.New(cfg.Signaling, signaling.Deps{Log: deps.Log, Auth: n.auth, Store: db, Registerer: n.reg,
		JoinKey: keys["join-token.key"], CodeKey: keys["code.key"], SecretKey: keys["secret.key"], PublicURL: origin, Now: deps.Now,
		ICEServers: n.iceServers})
	if err != nil {
		db.Close()
		return nil, err
	}
	n.auth.OnSettingsChanged(func(string) { n.signal.InvalidateOrigins() })
	n.relay = cobrowse.New(cfg.Cobrowse, cobrowse.Deps{Log: deps.Log, Registerer: n.reg, Record: n.signal.RecordCobrowse,
		AssetPath: cobrowseAssetPath, Now: deps.Now,
		Assets: assetproxy.Deps{Origins: n.assetOrigins, Authorize: n.authorizeAssets, AllowLoopback: cfg.Dev}})
	n.signal.SetCobrowse(n.relay)
	n.signal.SetMedia(n.sfu)
	n.OnShutdown("signaling", n.signal.Shutdown)
	n.console, err = console.New(origin, n.auth, db, deps.Log)
	if err != nil {
		db.Close()
		return nil, err
	}
	if !n.assets.Built() {
		n.log.Warn().Str("fix", websdk.BuildCommand).Msg("web SDK not built into this binary; /sdk/v1/ and /console answer 503")
	}
	n.reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name:        "lotse_build_info",
			Help:        "Build information of this Lotse binary (always 1).",
			ConstLabels: prometheus.Labels{"version": buildinfo.Version(), "commit": buildinfo.Commit(), "goversion": buildinfo.GoVersion()},
		}, func() float64 { return 1 }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "lotse_draining",
			Help: "1 while the node drains after SIGTERM.",
		}, func() float64 {
			if n.draining.Load() {
				return 1
			}
			return 0
		}),
	)
	var trusted []netip.Prefix
	for _, c := range cfg.HTTP.TrustedProxies {
		trusted = append(trusted, netip.MustParsePrefix(c)) // validated by config
	}
	n.handler = web.Wrap(jsonErrors(n.routes()), web.Options{
		Log:            deps.Log.With().Str("component", "http").Logger(),
		Metrics:        web.NewMetrics(n.reg),
		MaxBodyBytes:   cfg.HTTP.MaxBodyBytes,
		TrustedProxies: trusted,
		HSTS:           strings.HasPrefix(cfg.PublicURL, "https://"),
	})
	return n, nil
}

func (n *Node) bootstrap(ctx context.Context, out io.Writer) error {
	password := n.cfg.Bootstrap.AdminPassword
	if password == "" && n.cfg.Bootstrap.AdminPasswordFile != "" {
		s, err := secret.ReadFile(n.cfg.Bootstrap.AdminPasswordFile)
		if err != nil {
			return &config.Error{Key: "bootstrap.admin_password_file", Msg: err.Error()}
		}
		password = s
	}
	res, err := auth.Bootstrap(ctx, n.db, n.hasher, auth.BootstrapOptions{
		Email:    n.cfg.Bootstrap.AdminEmail,
		Password: password.Reveal(),
	})
	var pe *auth.PolicyError
	switch {
	case errors.As(err, &pe):
		return &config.Error{Key: "LOTSE_BOOTSTRAP_ADMIN_PASSWORD", Msg: pe.Msg}
	case errors.Is(err, auth.ErrBadEmail):
		return &config.Error{Key: "bootstrap.admin_email", Msg: fmt.Sprintf("%q is not a plain e-mail address", n.cfg.Bootstrap.AdminEmail)}
	case err != nil:
		return fmt.Errorf("bootstrap: %w", err)
	}
	if !res.Created {
		return nil
	}
	n.log.Info().Str("tenant", res.Tenant.Slug).Msg("first run: created tenant and admin")
	pw := res.Password
	note := "shown once; change it after your first login"
	if !res.Generated {
		pw, note = "(as given in the environment or password file)", "the password you configured"
	}
	fmt.Fprintf(out, "\nLotse first run: created tenant %q and its administrator.\n\n"+
		"  Console:   %s/console\n  Tenant:    %s\n  E-mail:    %s\n  Password:  %s\n             (%s)\n\n",
		res.Tenant.Slug, n.cfg.PublicURL, res.Tenant.Slug, res.Email, pw, note)
	return nil
}

// Handler returns the node's HTTP handler.
func (n *Node) Handler() http.Handler { return n.handler }

// Registry returns the node's Prometheus registry, for components to add
// their metrics to.
func (n *Node) Registry() *prometheus.Registry { return n.reg }

// OnShutdown registers fn to run when the node drains, concurrently with the
// HTTP server's shutdown; fn must return when ctx ends.
func (n *Node) OnShutdown(name string, fn func(ctx context.Context) error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.hooks = append(n.hooks, hook{name, fn})
}

// Draining reports whether the node has begun to shut down.
func (n *Node) Draining() bool { return n.draining.Load() }

// Run serves HTTP on l until ctx ends, then drains: /readyz answers 503 for
// the drain delay, the listener closes, in-flight requests and shutdown
// hooks get up to the shutdown timeout, and the store is closed. It returns
// nil after a clean drain.
func (n *Node) Run(ctx context.Context, l net.Listener) error {
	srv := &http.Server{
		Handler:           n.handler,
		ReadHeaderTimeout: n.cfg.HTTP.ReadHeaderTimeout,
		ReadTimeout:       n.cfg.HTTP.ReadTimeout,
		IdleTimeout:       n.cfg.HTTP.IdleTimeout,
		MaxHeaderBytes:    n.cfg.HTTP.MaxHeaderBytes,
		ErrorLog:          stdlog.New(zerologWriter{n.log}, "", 0),
	}
	conns := &connTracker{state: map[net.Conn]http.ConnState{}}
	srv.ConnState = conns.track
	if n.cfg.TLS.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(n.cfg.TLS.CertFile, n.cfg.TLS.KeyFile)
		if err != nil {
			return fmt.Errorf("load TLS certificate: %w", err)
		}
		srv.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}}
		l = tls.NewListener(l, srv.TLSConfig)
	}
	bg, stopBG := context.WithCancel(context.Background())
	stopBackground := func() { stopBG(); n.signal.Wait() }
	n.signal.Start(bg)

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(l) }()
	var bank *http.Server
	if n.cfg.Dev {
		var err error
		if bank, err = n.startDemoBank(ctx); err != nil {
			n.log.Warn().Err(err).Msg("demo bank not started")
		}
	}
	n.log.Info().Str("addr", l.Addr().String()).Str("console", n.cfg.PublicURL+"/console").Msg("listening")

	select {
	case err := <-errc:
		stopBackground()
		n.db.Close()
		return fmt.Errorf("http server: %w", err)
	case <-ctx.Done():
	}

	n.draining.Store(true)
	n.log.Info().Dur("drain_delay", n.cfg.HTTP.DrainDelay).Msg("draining")
	time.Sleep(n.cfg.HTTP.DrainDelay)

	sctx, cancel := context.WithTimeout(context.Background(), n.cfg.HTTP.ShutdownTimeout)
	defer cancel()
	var wg sync.WaitGroup
	n.mu.Lock()
	hooks := append([]hook(nil), n.hooks...)
	n.mu.Unlock()
	for _, h := range hooks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := h.fn(sctx); err != nil {
				n.log.Warn().Str("hook", h.name).Err(err).Msg("shutdown hook failed")
			}
		}()
	}
	// Connections that have not sent a request yet (a browser's or HTTP
	// client's spare connection) would hold Shutdown for 5 s; nothing is
	// in flight on them, so close them once the listener is closed.
	go func() {
		time.Sleep(50 * time.Millisecond)
		conns.closeNew()
	}()
	if bank != nil {
		_ = bank.Shutdown(sctx)
	}
	err := srv.Shutdown(sctx)
	if err != nil {
		n.log.Warn().Err(err).Msg("in-flight requests did not finish in time; closing them")
		srv.Close()
	}
	wg.Wait()
	<-errc // http.ErrServerClosed
	n.relay.Close()
	stopBackground()
	if cerr := n.db.Close(); cerr != nil && err == nil {
		err = cerr
	}
	n.log.Info().Msg("stopped")
	if errors.Is(err, context.DeadlineExceeded) {
		return nil // drained as far as we could; not a failure of the node
	}
	return err
}

// Close releases the node's resources without serving (for a node whose
// Run was never called).
func (n *Node) Close() error { return n.db.Close() }

// zerologWriter sends net/http's own error log (TLS handshake errors and
// the like) to zerolog at debug level.
type zerologWriter struct{ log zerolog.Logger }

func (w zerologWriter) Write(p []byte) (int, error) {
	w.log.Debug().Str("detail", strings.TrimSpace(string(p))).Msg("net/http server error")
	return len(p), nil
}

// connTracker remembers each connection's state so that the drain can close
// connections on which no request has started.
type connTracker struct {
	mu    sync.Mutex // guards state
	state map[net.Conn]http.ConnState
}

func (c *connTracker) track(conn net.Conn, st http.ConnState) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch st {
	case http.StateClosed, http.StateHijacked:
		delete(c.state, conn)
	default:
		c.state[conn] = st
	}
}

func (c *connTracker) closeNew() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for conn, st := range c.state {
		if st == http.StateNew {
			conn.Close()
		}
	}
}
