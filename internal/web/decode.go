package web

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
)

// DecodeJSON reads one JSON object from the request body into v. It accepts
// only application/json (so that an HTML form cannot post to a JSON API),
// refuses unknown fields and trailing data, and maps every problem to a 4xx
// *HTTPError. The body size is bounded by the BodyLimit middleware.
func DecodeJSON(r *http.Request, v any) error {
	ct, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || ct != "application/json" {
		return Errorf(http.StatusUnsupportedMediaType, "unsupported_media_type", "send the body as application/json")
	}
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return jsonError(err)
		}
		return Errorf(http.StatusBadRequest, "bad_json", "the body must hold exactly one JSON object")
	}
	return nil
}

func jsonError(err error) *HTTPError {
	var mbe *http.MaxBytesError
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &mbe):
		return &HTTPError{Status: http.StatusRequestEntityTooLarge, Code: "body_too_large",
			Msg: fmt.Sprintf("the body must not exceed %d bytes", mbe.Limit)}
	case errors.Is(err, io.EOF):
		return Errorf(http.StatusBadRequest, "bad_json", "the body is empty")
	case errors.Is(err, io.ErrUnexpectedEOF), errors.As(err, &se):
		return Errorf(http.StatusBadRequest, "bad_json", "the body is not valid JSON")
	case errors.As(err, &te):
		field := te.Field
		if field == "" {
			return Errorf(http.StatusBadRequest, "bad_json", "the body must be a JSON object")
		}
		return Errorf(http.StatusBadRequest, "bad_field", fmt.Sprintf("field %q has the wrong type", field))
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return Errorf(http.StatusBadRequest, "unknown_field",
			"unknown field "+strings.TrimPrefix(err.Error(), "json: unknown field "))
	}
	return &HTTPError{Status: http.StatusBadRequest, Code: "bad_json", Msg: "the body is not valid JSON", Err: err}
}
