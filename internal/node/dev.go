package node

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"slices"
	"time"

	"github.com/lotse-io/lotse/internal/demobank"
	"github.com/lotse-io/lotse/store"
)

// startDemoBank serves the Musterbank demo site on its own port (dev mode)
// and points the demo tenant at it: its origin becomes an allowed SDK
// origin and its start page the target of share links, unless an admin set
// a customer page already.
func (n *Node) startDemoBank(ctx context.Context) (*http.Server, error) {
	t, err := n.db.TenantBySlug(ctx, "demo")
	if err != nil {
		return nil, fmt.Errorf("demo tenant: %w", err)
	}
	l, err := net.Listen("tcp", n.cfg.DevBankListen)
	if err != nil {
		return nil, fmt.Errorf("demo bank: %w", err)
	}
	bankURL := "http://" + l.Addr().String()
	h, err := demobank.Handler(n.cfg.PublicURL, t.SiteKey)
	if err != nil {
		l.Close()
		return nil, err
	}
	s := t.Settings
	if !slices.Contains(s.AllowedOrigins, bankURL) {
		s.AllowedOrigins = append(s.AllowedOrigins, bankURL)
	}
	if s.CustomerPageURL == "" {
		s.CustomerPageURL = bankURL + "/"
	}
	if err := n.db.UpdateTenantSettings(ctx, t.ID, s); err != nil {
		l.Close()
		return nil, err
	}
	if _, err := n.db.AppendAudit(ctx, store.AuditEvent{TenantID: t.ID, Actor: "system:dev", Action: "policy.origins_changed",
		Target: "tenant:" + t.ID, Detail: map[string]string{"added": bankURL, "reason": "dev mode demo bank"}}); err != nil {
		n.log.Warn().Err(err).Msg("audit demo bank origin")
	}
	n.signal.InvalidateOrigins()
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(l) }()
	n.log.Info().Str("url", bankURL).Msg("demo bank (dev mode): open it with a share link to try the customer side")
	fmt.Fprintf(n.out, "\nDev mode: the demo bank Musterbank runs at %s/\n"+
		"  Share links of the demo tenant open it: the customer side of a session, with co-browsing.\n\n", bankURL)
	return srv, nil
}
