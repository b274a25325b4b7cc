package node

import (
	"bufio"
	"context"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/lotse-io/lotse/auth"
	"github.com/lotse-io/lotse/console"
	"github.com/lotse-io/lotse/internal/buildinfo"
	"github.com/lotse-io/lotse/internal/route"
	"github.com/lotse-io/lotse/internal/web"
	"github.com/lotse-io/lotse/signaling"
)

// healthBody is the body of /healthz and a ready /readyz.
type healthBody struct {
	Status  string `json:"status"`
	Version string `json:"version"`
}

func (n *Node) routes() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", n.healthz)
	mux.HandleFunc("GET /readyz", n.readyz)
	mux.Handle("GET /metrics", promhttp.HandlerFor(n.reg, promhttp.HandlerOpts{Registry: n.reg}))
	mux.Handle("GET /sdk/v1/", n.assets.Handler("/sdk/v1/"))
	mux.HandleFunc("GET /api/v1/signal", n.signal.ServeWS)
	mux.Handle("GET "+cobrowseAssetPath, n.relay.AssetHandler())
	route.Mount(mux, n.Routes(), route.Options{Auth: n.auth, PublicOrigin: route.Origin(n.cfg.PublicURL), LoginPath: console.LoginPath})
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/console", http.StatusFound)
	})
	// Unknown paths and wrong methods get http.ServeMux's 404 and 405,
	// which jsonErrors turns into JSON.
	return mux
}

// Routes lists every authenticated-or-public application route of the node
// (REST API and console pages), the same list the router is built from.
func (n *Node) Routes() []route.Route {
	rs := append(n.api.Routes(), n.signal.Routes()...)
	return append(rs, n.console.Routes()...)
}

// Signaling returns the node's signalling service.
func (n *Node) Signaling() *signaling.Service { return n.signal }

// Auth returns the node's auth service.
func (n *Node) Auth() *auth.Service { return n.auth }

// healthz answers as long as the process serves HTTP.
func (n *Node) healthz(w http.ResponseWriter, r *http.Request) {
	web.WriteJSON(w, http.StatusOK, healthBody{Status: "ok", Version: buildinfo.Version()})
}

// readyz answers 200 when the node should get traffic: not draining and the
// database answers within a second.
func (n *Node) readyz(w http.ResponseWriter, r *http.Request) {
	if n.draining.Load() {
		web.WriteError(w, r, web.Errorf(http.StatusServiceUnavailable, "draining", "the node is shutting down"))
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), time.Second)
	defer cancel()
	if err := n.db.Ping(ctx); err != nil {
		web.WriteError(w, r, &web.HTTPError{Status: http.StatusServiceUnavailable, Code: "unavailable", Msg: "the database does not answer", Err: err})
		return
	}
	web.WriteJSON(w, http.StatusOK, healthBody{Status: "ok", Version: buildinfo.Version()})
}

// jsonErrors turns the plain-text 404 and 405 answers of http.ServeMux
// into Lotse's JSON error shape, so that every error a client sees has one
// form. Responses our handlers write are passed through untouched.
func jsonErrors(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(&errorRewriter{ResponseWriter: w, r: r}, r)
	})
}

type errorRewriter struct {
	http.ResponseWriter
	r       *http.Request
	swallow bool
}

func (e *errorRewriter) WriteHeader(code int) {
	if code >= 400 && strings.HasPrefix(e.Header().Get("Content-Type"), "text/plain") {
		e.swallow = true
		e.Header().Del("Content-Length")
		var he *web.HTTPError
		switch code {
		case http.StatusMethodNotAllowed:
			he = web.ErrMethodNotAllowed
		case http.StatusNotFound:
			he = web.ErrNotFound
		default:
			he = web.Errorf(code, "bad_request", http.StatusText(code))
		}
		web.WriteError(e.ResponseWriter, e.r, he)
		return
	}
	e.ResponseWriter.WriteHeader(code)
}

func (e *errorRewriter) Write(b []byte) (int, error) {
	if e.swallow {
		return len(b), nil
	}
	return e.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController and WebSocket upgrades reach the
// underlying writer.
func (e *errorRewriter) Unwrap() http.ResponseWriter { return e.ResponseWriter }

// Hijack passes WebSocket upgrades through.
func (e *errorRewriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	return http.NewResponseController(e.ResponseWriter).Hijack()
}

// Flush passes streaming through.
func (e *errorRewriter) Flush() { _ = http.NewResponseController(e.ResponseWriter).Flush() }

// cobrowseAssetPath is where the co-browse asset proxy serves the page's
// stylesheets, images and fonts to advisors.
const cobrowseAssetPath = "/api/v1/cobrowse/assets/"

// assetOrigins returns the origins a conversation's tenant allows assets
// from: the bank's allowed SDK origins.
func (n *Node) assetOrigins(ctx context.Context, conv string) ([]string, error) {
	tenantID, ok := n.signal.TenantOf(ctx, conv)
	if !ok {
		return nil, nil
	}
	t, err := n.db.TenantByID(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	return t.Settings.AllowedOrigins, nil
}

// authorizeAssets lets only signed-in staff of the conversation's tenant
// fetch its assets.
func (n *Node) authorizeAssets(r *http.Request, conv string) error {
	p, err := n.auth.FromRequest(r.Context(), r, web.ClientIP(r.Context()).String())
	if err != nil || p == nil || p.Kind != auth.KindStaff || p.Stage != auth.StageFull {
		return web.Errorf(http.StatusUnauthorized, "unauthenticated", "sign in first")
	}
	tenantID, ok := n.signal.TenantOf(r.Context(), conv)
	if !ok || tenantID != p.TenantID {
		return web.ErrNotFound
	}
	return nil
}
