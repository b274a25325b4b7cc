// Package web is the HTTP plumbing shared by every Lotse endpoint: the one
// edge function that turns errors into {"error":{"code","message"}}, strict
// JSON decoding, request ids, access logs, metrics, panic recovery, body
// limits and security headers.
package web

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"

	"github.com/rs/zerolog"
)

// HTTPError separates what the client is told (Status, Code, Msg) from what
// is logged (Err). Code is a stable machine-readable string; Msg is a short
// sentence safe to show to anyone.
type HTTPError struct {
	Status int
	Code   string
	Msg    string
	Err    error // internal detail; never sent to the client
}

func (e *HTTPError) Error() string {
	if e.Err != nil {
		return e.Code + ": " + e.Msg + ": " + e.Err.Error()
	}
	return e.Code + ": " + e.Msg
}

func (e *HTTPError) Unwrap() error { return e.Err }

// Errorf returns an *HTTPError with the given status, code and message.
func Errorf(status int, code, msg string) *HTTPError {
	return &HTTPError{Status: status, Code: code, Msg: msg}
}

// Common errors.
var (
	ErrNotFound         = Errorf(http.StatusNotFound, "not_found", "not found")
	ErrMethodNotAllowed = Errorf(http.StatusMethodNotAllowed, "method_not_allowed", "method not allowed")
)

// ErrorBody is the JSON shape of every error response.
type ErrorBody struct {
	Error ErrorDetail `json:"error"`
}

// ErrorDetail is the inside of ErrorBody.
type ErrorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// WriteError is the edge function: it writes err to the client as JSON with
// the right status and logs the detail. Errors that are not *HTTPError are
// internal: the client sees 500 "internal" and nothing more.
func WriteError(w http.ResponseWriter, r *http.Request, err error) {
	var he *HTTPError
	if !errors.As(err, &he) {
		switch {
		case errors.Is(err, context.Canceled):
			// The client went away; 499 is nginx's convention for the log.
			he = &HTTPError{Status: 499, Code: "canceled", Msg: "request canceled", Err: err}
		case errors.Is(err, context.DeadlineExceeded):
			he = &HTTPError{Status: http.StatusServiceUnavailable, Code: "timeout", Msg: "the server took too long", Err: err}
		default:
			he = &HTTPError{Status: http.StatusInternalServerError, Code: "internal", Msg: "internal error", Err: err}
		}
	}
	log := zerolog.Ctx(r.Context())
	ev := log.Debug()
	if he.Status >= 500 {
		ev = log.Error()
	}
	ev.Int("status", he.Status).Str("code", he.Code).AnErr("error", he.Err).Msg("request failed")
	WriteJSON(w, he.Status, ErrorBody{ErrorDetail{Code: he.Code, Message: he.Msg}})
}

// WriteJSON writes v as JSON with status.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(true)
	_ = enc.Encode(v)
}
