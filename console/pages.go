package console

import (
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/lotse-io/lotse/auth"
	"github.com/lotse-io/lotse/internal/web"
	"github.com/lotse-io/lotse/store"
)

func (c *Console) app(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	return c.render(w, r, http.StatusOK, "app", page{Title: "Lotse", Nav: "app", P: p})
}

// landing is Lotse's own page for customers when the bank has no page with
// the SDK: the widget fills it. The token stays in the path for the SDK;
// the page sends no referrer and is never cached.
func (c *Console) landing(w http.ResponseWriter, r *http.Request, _ *auth.Principal) error {
	lang := language(w, r)
	return c.render(w, r, http.StatusOK, "landing", page{Lang: lang, Title: translate(lang, "landing_title")})
}

type loginData struct {
	Tenant, Email, Next string
	NeedCode            bool
}

// safeNext keeps redirects after login on our own console.
func safeNext(next string) string {
	if strings.HasPrefix(next, "/console") && !strings.HasPrefix(next, "//") && !strings.ContainsAny(next, "\\\r\n") {
		return next
	}
	return "/console"
}

func (c *Console) loginPage(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	lang := language(w, r)
	return c.render(w, r, http.StatusOK, "login", page{Lang: lang, Title: translate(lang, "sign_in"),
		Data: loginData{Tenant: r.URL.Query().Get("tenant"), Next: safeNext(r.URL.Query().Get("next"))}})
}

func (c *Console) loginPost(w http.ResponseWriter, r *http.Request, _ *auth.Principal) error {
	if !auth.SameOrigin(r, c.origin) {
		return auth.ErrCSRF
	}
	if err := parseForm(r); err != nil {
		return err
	}
	lang := language(w, r)
	d := loginData{Tenant: r.PostFormValue("tenant"), Email: r.PostFormValue("email"), Next: safeNext(r.PostFormValue("next"))}
	res, err := c.auth.Login(r.Context(), auth.LoginInput{Tenant: d.Tenant, Email: d.Email, Password: r.PostFormValue("password"),
		Code: r.PostFormValue("totp"), IP: web.ClientIP(r.Context()).String(), UserAgent: r.UserAgent()})
	pg := page{Lang: lang, Title: translate(lang, "sign_in"), Data: &d}
	switch {
	case errors.Is(err, auth.ErrMFARequired):
		d.NeedCode = true
		pg.Flash = translate(lang, "mfa_needed")
		return c.render(w, r, http.StatusUnauthorized, "login", pg)
	case errors.Is(err, auth.ErrInvalidCredentials):
		d.NeedCode = r.PostFormValue("totp") != ""
		pg.Error = translate(lang, "bad_login")
		return c.render(w, r, http.StatusUnauthorized, "login", pg)
	case errors.Is(err, auth.ErrThrottled):
		pg.Error = translate(lang, "throttled")
		return c.render(w, r, http.StatusTooManyRequests, "login", pg)
	case err != nil:
		return err
	}
	auth.SetSessionCookie(w, res.Token)
	if res.Principal.Stage != auth.StageFull {
		return redirect(w, r, "/console/account")
	}
	return redirect(w, r, d.Next)
}

func (c *Console) logout(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	if err := c.auth.Logout(r.Context(), p); err != nil {
		return err
	}
	auth.ClearSessionCookie(w)
	return redirect(w, r, LoginPath)
}

func (c *Console) logoutAll(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	if err := c.auth.LogoutEverywhere(r.Context(), p); err != nil {
		return err
	}
	auth.ClearSessionCookie(w)
	return redirect(w, r, LoginPath)
}

type accountData struct {
	MFAEnabled    bool
	CodesLeft     int
	Enrolment     *auth.TOTPEnrolment
	QR            template.URL
	RecoveryCodes []string
}

func (c *Console) accountPage(w http.ResponseWriter, r *http.Request, p *auth.Principal, status int, d accountData, flash, errMsg string) error {
	on, left, err := c.auth.MFAStatus(r.Context(), p)
	if err != nil {
		return err
	}
	d.MFAEnabled, d.CodesLeft = on && d.RecoveryCodes == nil, left
	lang := language(w, r)
	return c.render(w, r, status, "account", page{Lang: lang, Title: translate(lang, "account"), Nav: "account", P: p,
		Flash: flash, Error: errMsg, Data: d})
}

func (c *Console) account(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	flash := ""
	if r.URL.Query().Get("saved") != "" {
		flash = translate(language(w, r), "saved")
	}
	return c.accountPage(w, r, p, http.StatusOK, accountData{}, flash, "")
}

func (c *Console) changePassword(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	if err := parseForm(r); err != nil {
		return err
	}
	token, err := c.auth.ChangePassword(r.Context(), p, r.PostFormValue("current"), r.PostFormValue("new"))
	if msg, ok := formError(err); ok {
		return c.accountPage(w, r, p, http.StatusBadRequest, accountData{}, "", msg)
	}
	if err != nil {
		return c.fail(w, r, p, err)
	}
	auth.SetSessionCookie(w, token)
	if p.Stage == auth.StageFull {
		return redirect(w, r, "/console?saved=1")
	}
	return redirect(w, r, "/console/account?saved=1")
}

func (c *Console) beginMFA(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	e, err := c.auth.BeginTOTP(r.Context(), p)
	if msg, ok := formError(err); ok {
		return c.accountPage(w, r, p, http.StatusBadRequest, accountData{}, "", msg)
	}
	if err != nil {
		return c.fail(w, r, p, err)
	}
	return c.accountPage(w, r, p, http.StatusOK, accountData{Enrolment: &e, QR: template.URL(e.QRPNG)}, "", "")
}

func (c *Console) confirmMFA(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	if err := parseForm(r); err != nil {
		return err
	}
	codes, token, err := c.auth.ConfirmTOTP(r.Context(), p, r.PostFormValue("code"))
	if msg, ok := formError(err); ok {
		return c.accountPage(w, r, p, http.StatusBadRequest, accountData{}, "", msg)
	}
	if err != nil {
		return c.fail(w, r, p, err)
	}
	auth.SetSessionCookie(w, token)
	return c.accountPage(w, r, p, http.StatusOK, accountData{RecoveryCodes: codes}, "", "")
}

// userRow is a user as the admin pages show it.
type userRow struct {
	ID, Email, DisplayName string
	Role                   store.Role
	Disabled, MFAEnabled   bool
	LockedUntil            *time.Time
}

func toRow(u store.UserRecord) userRow {
	row := userRow{ID: u.ID, Email: u.Email, DisplayName: u.DisplayName, Role: u.Role, Disabled: u.Disabled, MFAEnabled: u.Security.TOTPEnabled}
	if u.Security.LockedUntil.After(time.Now()) {
		t := u.Security.LockedUntil
		row.LockedUntil = &t
	}
	return row
}

func (c *Console) usersPage(w http.ResponseWriter, r *http.Request, p *auth.Principal, status int, oneTime, errMsg string) error {
	users, err := c.auth.Users(r.Context(), p)
	if err != nil {
		return c.fail(w, r, p, err)
	}
	rows := make([]userRow, 0, len(users))
	for _, u := range users {
		rows = append(rows, toRow(u))
	}
	lang := language(w, r)
	return c.render(w, r, status, "users", page{Lang: lang, Title: translate(lang, "users"), Nav: "users", P: p, Error: errMsg,
		Data: map[string]any{"Users": rows, "OneTime": oneTime}})
}

func (c *Console) users(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	return c.usersPage(w, r, p, http.StatusOK, "", "")
}

func (c *Console) createUser(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	if err := parseForm(r); err != nil {
		return err
	}
	_, temp, err := c.auth.CreateUser(r.Context(), p, auth.NewUser{Email: r.PostFormValue("email"),
		DisplayName: r.PostFormValue("display_name"), Role: store.Role(r.PostFormValue("role")), Password: r.PostFormValue("password")})
	if msg, ok := formError(err); ok {
		return c.usersPage(w, r, p, http.StatusBadRequest, "", msg)
	}
	if err != nil {
		return c.fail(w, r, p, err)
	}
	return c.usersPage(w, r, p, http.StatusCreated, temp, "")
}

func (c *Console) userPage(w http.ResponseWriter, r *http.Request, p *auth.Principal, status int, oneTime, flash, errMsg string) error {
	u, err := c.auth.User(r.Context(), p, r.PathValue("id"))
	if err != nil {
		return c.fail(w, r, p, err)
	}
	lang := language(w, r)
	return c.render(w, r, status, "user", page{Lang: lang, Title: u.Email, Nav: "users", P: p, Flash: flash, Error: errMsg,
		Data: map[string]any{"User": toRow(u), "OneTime": oneTime}})
}

func (c *Console) user(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	flash := ""
	if r.URL.Query().Get("saved") != "" {
		flash = translate(language(w, r), "saved")
	}
	return c.userPage(w, r, p, http.StatusOK, "", flash, "")
}

func (c *Console) updateUser(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	if err := parseForm(r); err != nil {
		return err
	}
	name := r.PostFormValue("display_name")
	role := store.Role(r.PostFormValue("role"))
	disabled := r.PostFormValue("disabled") == "1"
	err := c.auth.UpdateUser(r.Context(), p, r.PathValue("id"), auth.UserPatch{DisplayName: &name, Role: &role, Disabled: &disabled})
	if msg, ok := formError(err); ok {
		return c.userPage(w, r, p, http.StatusBadRequest, "", "", msg)
	}
	if err != nil {
		return c.fail(w, r, p, err)
	}
	return redirect(w, r, "/console/admin/users/"+url.PathEscape(r.PathValue("id"))+"?saved=1")
}

func (c *Console) resetPassword(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	temp, err := c.auth.ResetPassword(r.Context(), p, r.PathValue("id"))
	if err != nil {
		return c.fail(w, r, p, err)
	}
	return c.userPage(w, r, p, http.StatusOK, temp, "", "")
}

func (c *Console) resetMFA(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	if err := c.auth.ResetMFA(r.Context(), p, r.PathValue("id")); err != nil {
		return c.fail(w, r, p, err)
	}
	return redirect(w, r, "/console/admin/users/"+url.PathEscape(r.PathValue("id"))+"?saved=1")
}

func (c *Console) unlock(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	if err := c.auth.Unlock(r.Context(), p, r.PathValue("id")); err != nil {
		return c.fail(w, r, p, err)
	}
	return redirect(w, r, "/console/admin/users/"+url.PathEscape(r.PathValue("id"))+"?saved=1")
}

func (c *Console) settingsPage(w http.ResponseWriter, r *http.Request, p *auth.Principal, status int, s *store.TenantSettings, flash, errMsg string) error {
	if s == nil {
		cur, err := c.auth.Settings(r.Context(), p)
		if err != nil {
			return c.fail(w, r, p, err)
		}
		s = &cur
	}
	t, err := c.st.TenantByID(r.Context(), p.TenantID)
	if err != nil {
		return err
	}
	lang := language(w, r)
	return c.render(w, r, status, "settings", page{Lang: lang, Title: translate(lang, "settings"), Nav: "settings", P: p,
		Flash: flash, Error: errMsg, Data: map[string]any{"Settings": s, "SiteKey": t.SiteKey, "Origin": c.origin}})
}

func (c *Console) settings(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	flash := ""
	if r.URL.Query().Get("saved") != "" {
		flash = translate(language(w, r), "saved")
	}
	return c.settingsPage(w, r, p, http.StatusOK, nil, flash, "")
}

func (c *Console) saveSettings(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	if err := parseForm(r); err != nil {
		return err
	}
	cur, err := c.auth.Settings(r.Context(), p)
	if err != nil {
		return c.fail(w, r, p, err)
	}
	num := func(name string) int { n, _ := strconv.Atoi(r.PostFormValue(name)); return n }
	on := func(name string) bool { return r.PostFormValue(name) == "1" }
	s := cur
	s.Password = store.PasswordPolicy{MinLength: num("min_length"), MaxLength: num("max_length"), RequireLetter: on("require_letter"),
		RequireDigit: on("require_digit"), RequireSpecial: on("require_special"), RejectCommon: on("reject_common")}
	s.SessionIdleSeconds = num("idle_minutes") * 60
	s.SessionAbsoluteSeconds = num("absolute_hours") * 3600
	s.MFARequiredAdmin, s.MFARequiredAdvisor = on("mfa_admin"), on("mfa_advisor")
	s.AllowedOrigins = strings.Fields(r.PostFormValue("allowed_origins"))
	s.RetentionDays = num("retention_days")
	s.DataRegion = r.PostFormValue("data_region")
	s.CustomerPageURL = strings.TrimSpace(r.PostFormValue("customer_page_url"))
	lines := func(name string) []string {
		var out []string
		for _, l := range strings.Split(r.PostFormValue(name), "\n") {
			if l = strings.TrimSpace(l); l != "" {
				out = append(out, l)
			}
		}
		return out
	}
	s.Masking.Mask, s.Masking.MaskText, s.Masking.Block = lines("mask"), lines("mask_text"), lines("block")
	err = c.auth.UpdateSettings(r.Context(), p, s)
	if msg, ok := formError(err); ok {
		return c.settingsPage(w, r, p, http.StatusBadRequest, &s, "", msg)
	}
	if err != nil {
		return c.fail(w, r, p, err)
	}
	return redirect(w, r, "/console/admin/settings?saved=1")
}

func (c *Console) apiKeysPage(w http.ResponseWriter, r *http.Request, p *auth.Principal, status int, newKey, errMsg string) error {
	keys, err := c.auth.APIKeys(r.Context(), p)
	if err != nil {
		return c.fail(w, r, p, err)
	}
	type keyRow struct {
		ID, Name, Prefix      string
		Permissions           []string
		CreatedAt             time.Time
		LastUsedAt, RevokedAt *time.Time
	}
	opt := func(t time.Time) *time.Time {
		if t.IsZero() {
			return nil
		}
		return &t
	}
	rows := make([]keyRow, 0, len(keys))
	for _, k := range keys {
		rows = append(rows, keyRow{k.ID, k.Name, k.Prefix, k.Permissions, k.CreatedAt, opt(k.LastUsedAt), opt(k.RevokedAt)})
	}
	lang := language(w, r)
	return c.render(w, r, status, "apikeys", page{Lang: lang, Title: translate(lang, "api_keys"), Nav: "api_keys", P: p, Error: errMsg,
		Data: map[string]any{"Keys": rows, "NewKey": newKey, "AllPermissions": auth.AllPermissions}})
}

func (c *Console) apiKeys(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	return c.apiKeysPage(w, r, p, http.StatusOK, "", "")
}

func (c *Console) createAPIKey(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	if err := parseForm(r); err != nil {
		return err
	}
	_, secret, err := c.auth.CreateAPIKey(r.Context(), p, r.PostFormValue("name"), r.PostForm["permissions"])
	if msg, ok := formError(err); ok {
		return c.apiKeysPage(w, r, p, http.StatusBadRequest, "", msg)
	}
	if err != nil {
		return c.fail(w, r, p, err)
	}
	return c.apiKeysPage(w, r, p, http.StatusCreated, secret, "")
}

func (c *Console) revokeAPIKey(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	if err := c.auth.RevokeAPIKey(r.Context(), p, r.PathValue("id")); err != nil {
		return c.fail(w, r, p, err)
	}
	return redirect(w, r, "/console/admin/api-keys")
}

func (c *Console) audit(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	after, _ := strconv.ParseInt(r.URL.Query().Get("after"), 10, 64)
	events, err := c.auth.AuditEvents(r.Context(), p, max(after, 0), 200)
	if err != nil {
		return c.fail(w, r, p, err)
	}
	broken, n, err := auth.VerifyAudit(r.Context(), c.st, p.TenantID)
	if err != nil {
		return err
	}
	var next int64
	if len(events) == 200 {
		next = events[len(events)-1].Seq
	}
	lang := language(w, r)
	return c.render(w, r, http.StatusOK, "audit", page{Lang: lang, Title: translate(lang, "audit_log"), Nav: "audit", P: p,
		Data: map[string]any{"Events": events, "Broken": broken, "Checked": n, "Next": next}})
}
