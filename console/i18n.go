package console

import (
	"net/http"
	"strings"
)

// Languages the console speaks; German is the default.
const (
	langDE = "de"
	langEN = "en"
)

// langCookie remembers a user's explicit language choice.
const langCookie = "lotse_lang"

// language picks the page language: ?lang=, then the cookie, then the
// browser's Accept-Language (first of de/en), then German.
func language(w http.ResponseWriter, r *http.Request) string {
	if q := r.URL.Query().Get("lang"); q == langDE || q == langEN {
		http.SetCookie(w, &http.Cookie{Name: langCookie, Value: q, Path: "/", MaxAge: 365 * 24 * 3600,
			HttpOnly: true, Secure: true, SameSite: http.SameSiteLaxMode})
		return q
	}
	if c, err := r.Cookie(langCookie); err == nil && (c.Value == langDE || c.Value == langEN) {
		return c.Value
	}
	for _, part := range strings.Split(r.Header.Get("Accept-Language"), ",") {
		tag := strings.ToLower(strings.TrimSpace(strings.SplitN(part, ";", 2)[0]))
		switch {
		case strings.HasPrefix(tag, "de"):
			return langDE
		case strings.HasPrefix(tag, "en"):
			return langEN
		}
	}
	return langDE
}

// messages holds every string of the console pages in both languages.
var messages = map[string][2]string{ // [de, en]
	"console":           {"Konsole", "Console"},
	"sign_in":           {"Anmelden", "Sign in"},
	"sign_out":          {"Abmelden", "Sign out"},
	"sign_out_all":      {"Überall abmelden", "Sign out everywhere"},
	"tenant":            {"Mandant", "Tenant"},
	"email":             {"E-Mail", "E-mail"},
	"password":          {"Passwort", "Password"},
	"code":              {"Code aus der Authenticator-App oder Wiederherstellungscode", "Code from your authenticator app, or a recovery code"},
	"bad_login":         {"Mandant, E-Mail, Passwort oder Code sind falsch.", "Tenant, e-mail, password or code is wrong."},
	"throttled":         {"Zu viele Fehlversuche. Bitte später erneut versuchen.", "Too many failed attempts. Please try again later."},
	"mfa_needed":        {"Bitte den Code aus Ihrer Authenticator-App eingeben.", "Please enter the code from your authenticator app."},
	"account":           {"Mein Konto", "My account"},
	"change_password":   {"Passwort ändern", "Change password"},
	"must_change":       {"Bitte vergeben Sie ein neues Passwort, bevor Sie fortfahren.", "Please choose a new password before you continue."},
	"current_password":  {"Aktuelles Passwort", "Current password"},
	"new_password":      {"Neues Passwort", "New password"},
	"save":              {"Speichern", "Save"},
	"saved":             {"Gespeichert.", "Saved."},
	"mfa":               {"Zwei-Faktor-Authentifizierung", "Two-factor authentication"},
	"mfa_on":            {"Aktiv", "On"},
	"mfa_off":           {"Nicht eingerichtet", "Not set up"},
	"mfa_required":      {"Ihr Mandant verlangt Zwei-Faktor-Authentifizierung. Richten Sie sie jetzt ein.", "Your tenant requires two-factor authentication. Set it up now."},
	"mfa_setup":         {"Einrichten", "Set up"},
	"mfa_scan":          {"Scannen Sie den QR-Code mit Ihrer Authenticator-App oder geben Sie den Schlüssel ein, dann bestätigen Sie mit dem angezeigten Code.", "Scan the QR code with your authenticator app or enter the key, then confirm with the code it shows."},
	"confirm":           {"Bestätigen", "Confirm"},
	"recovery_codes":    {"Wiederherstellungscodes", "Recovery codes"},
	"recovery_note":     {"Bewahren Sie diese Codes sicher auf. Jeder funktioniert genau einmal. Sie werden nur jetzt angezeigt.", "Keep these codes safe. Each works exactly once. They are shown only now."},
	"codes_left":        {"Verbleibende Wiederherstellungscodes", "Recovery codes left"},
	"admin":             {"Verwaltung", "Administration"},
	"users":             {"Benutzer", "Users"},
	"new_user":          {"Neuer Benutzer", "New user"},
	"display_name":      {"Anzeigename", "Display name"},
	"role":              {"Rolle", "Role"},
	"role_admin":        {"Administrator", "Administrator"},
	"role_advisor":      {"Berater", "Advisor"},
	"status":            {"Status", "Status"},
	"active":            {"Aktiv", "Active"},
	"disabled":          {"Deaktiviert", "Disabled"},
	"locked":            {"Gesperrt bis", "Locked until"},
	"create":            {"Anlegen", "Create"},
	"edit":              {"Bearbeiten", "Edit"},
	"disable":           {"Deaktivieren", "Disable"},
	"enable":            {"Aktivieren", "Enable"},
	"unlock":            {"Entsperren", "Unlock"},
	"reset_password":    {"Passwort zurücksetzen", "Reset password"},
	"reset_mfa":         {"Zwei-Faktor zurücksetzen", "Reset two-factor"},
	"one_time_password": {"Einmalpasswort (nur jetzt sichtbar; muss bei der ersten Anmeldung geändert werden)", "One-time password (shown only now; must be changed at first sign-in)"},
	"password_optional": {"Passwort (leer lassen für ein Einmalpasswort)", "Password (leave empty for a one-time password)"},
	"settings":          {"Einstellungen", "Settings"},
	"password_policy":   {"Passwortrichtlinie", "Password policy"},
	"min_length":        {"Mindestlänge", "Minimum length"},
	"max_length":        {"Maximallänge", "Maximum length"},
	"require_letter":    {"Buchstabe erforderlich", "Require a letter"},
	"require_digit":     {"Ziffer erforderlich", "Require a digit"},
	"require_special":   {"Sonderzeichen erforderlich", "Require a special character"},
	"reject_common":     {"Häufige Passwörter ablehnen", "Reject common passwords"},
	"sessions":          {"Sitzungen", "Sessions"},
	"idle_minutes":      {"Inaktivitäts-Timeout (Minuten)", "Idle timeout (minutes)"},
	"absolute_hours":    {"Maximale Sitzungsdauer (Stunden)", "Absolute timeout (hours)"},
	"mfa_admins":        {"Zwei-Faktor für Administratoren verlangen", "Require two-factor for administrators"},
	"mfa_advisors":      {"Zwei-Faktor für Berater verlangen", "Require two-factor for advisors"},
	"allowed_origins":   {"Erlaubte Website-Ursprünge für das SDK (einer pro Zeile)", "Allowed website origins for the SDK (one per line)"},
	"retention_days":    {"Aufbewahrung der Gesprächsprotokolle (Tage)", "Conversation record retention (days)"},
	"data_region":       {"Datenregion", "Data region"},
	"api_keys":          {"API-Schlüssel", "API keys"},
	"new_api_key":       {"Neuer API-Schlüssel", "New API key"},
	"name":              {"Name", "Name"},
	"permissions":       {"Berechtigungen", "Permissions"},
	"created":           {"Erstellt", "Created"},
	"last_used":         {"Zuletzt benutzt", "Last used"},
	"revoke":            {"Widerrufen", "Revoke"},
	"revoked":           {"Widerrufen", "Revoked"},
	"key_once":          {"Der Schlüssel wird nur jetzt angezeigt. Speichern Sie ihn im Backend der Bank.", "The key is shown only now. Store it in the bank's backend."},
	"audit_log":         {"Audit-Protokoll", "Audit log"},
	"chain_ok":          {"Hash-Kette intakt", "Hash chain intact"},
	"chain_broken":      {"Hash-Kette unterbrochen bei Eintrag", "Hash chain broken at entry"},
	"time":              {"Zeit", "Time"},
	"actor":             {"Akteur", "Actor"},
	"action":            {"Aktion", "Action"},
	"target":            {"Ziel", "Target"},
	"ip":                {"IP", "IP"},
	"details":           {"Details", "Details"},
	"older":             {"Weitere", "More"},
	"forbidden":         {"Dafür fehlen Ihnen die Rechte.", "You may not do this."},
	"not_found":         {"Nicht gefunden.", "Not found."},
	"error":             {"Es ist ein Fehler aufgetreten.", "Something went wrong."},
	"language":          {"English", "Deutsch"},
	"conversations":     {"Gespräche", "Conversations"},
	"never":             {"nie", "never"},
	"customer_page_url": {"Kundenseite mit dem SDK (Ziel der Einladungslinks; leer: Lotse-Seite)", "Customer page with the SDK (target of invitation links; empty: Lotse's page)"},
	"masking":           {"Maskierung beim Co-Browsing", "Co-browse masking"},
	"masking_help":      {"CSS-Selektoren, einer pro Zeile. Passwörter, Kartennummern, IBANs und data-lotse-mask sind immer maskiert.", "CSS selectors, one per line. Passwords, card numbers, IBANs and data-lotse-mask are always masked."},
	"mask_inputs":       {"Eingaben maskieren", "Mask input values"},
	"mask_text":         {"Text maskieren", "Mask text"},
	"block":             {"Elemente ausblenden (Platzhalter)", "Block elements (placeholder)"},
	"embed":             {"Einbindung auf der Bank-Website", "Embedding on the bank's website"},
	"embed_help":        {"Diese Zeile auf jeder Seite einfügen, auf der Kunden eine Beratung starten können:", "Add this line to every page where customers can start a session:"},
	"landing_title":     {"Ihre Beratung", "Your advice session"},
	"landing_noscript":  {"Für die Beratung wird JavaScript benötigt.", "The session needs JavaScript."},
}

// translate returns the text for key in lang (the key itself if unknown,
// which a test catches).
func translate(lang, key string) string {
	m, ok := messages[key]
	if !ok {
		return key
	}
	if lang == langEN {
		return m[1]
	}
	return m[0]
}
