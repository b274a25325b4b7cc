package signaling

import (
	"context"
	"strconv"
	"time"

	"github.com/lotse-io/lotse/auth"
)

// retention deletes, every RetentionInterval, the conversation records
// older than each tenant's retention period.
func (s *Service) retention(ctx context.Context) {
	t := time.NewTicker(s.cfg.RetentionInterval)
	defer t.Stop()
	for {
		if _, err := s.RunRetention(ctx); err != nil && ctx.Err() == nil {
			s.log.Error().Err(err).Msg("retention run failed")
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// RunRetention deletes expired records now and returns how many.
func (s *Service) RunRetention(ctx context.Context) (int, error) {
	tenants, err := s.st.ListTenants(ctx)
	if err != nil {
		return 0, err
	}
	total := 0
	for _, t := range tenants {
		days := t.Settings.RetentionDays
		if days <= 0 {
			continue
		}
		cutoff := s.now().Add(-time.Duration(days) * 24 * time.Hour)
		n, err := s.st.DeleteConversationsEndedBefore(ctx, t.ID, cutoff)
		if err != nil {
			return total, err
		}
		if n > 0 {
			s.auth.Audit(ctx, &auth.Principal{TenantID: t.ID, Kind: auth.KindSystem}, "records.retention_deleted", "tenant:"+t.ID,
				map[string]string{"count": strconv.Itoa(n), "older_than": cutoff.Format(time.RFC3339)})
			s.log.Info().Str("tenant", t.Slug).Int("deleted", n).Msg("retention deleted old records")
		}
		total += n
	}
	return total, nil
}
