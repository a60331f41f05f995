package webapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/evse-mqtt/evse-mqtt/jsonstrict"
)

// DecodeRequest reads the JSON object of a write request the way every
// HTTP write surface does (the WebAPI's POSTs and /sim/v1/State): a
// content type that can carry JSON, at most MaxBody bytes, and exactly one
// object under jsonstrict's rules. On error it returns the HTTP status to
// answer with and a size-bounded message.
func DecodeRequest(w http.ResponseWriter, r *http.Request) (map[string]json.RawMessage, int, error) {
	if msg := checkContentType(r.Header.Get("Content-Type")); msg != "" {
		return nil, http.StatusUnsupportedMediaType, errors.New(msg)
	}
	return decodeObject(http.MaxBytesReader(w, r.Body, MaxBody))
}

// decodeObject reads one JSON object of name → raw value from r and
// nothing else. An object that names a key twice is refused: a map
// would silently keep the last. It returns the HTTP status for an error.
func decodeObject(r io.Reader) (map[string]json.RawMessage, int, error) {
	req, err := jsonstrict.Object(r)
	var mbe *http.MaxBytesError
	switch {
	case err == nil:
		return req, 0, nil
	case errors.As(err, &mbe):
		return nil, http.StatusRequestEntityTooLarge, fmt.Errorf("request body larger than %d bytes", MaxBody)
	case errors.Is(err, jsonstrict.ErrEmpty):
		return nil, http.StatusBadRequest, errors.New("empty request body; send a JSON object")
	case errors.Is(err, jsonstrict.ErrNotObject):
		return nil, http.StatusBadRequest, errors.New("request must be a JSON object")
	}
	return nil, http.StatusBadRequest, err
}

// checkContentType accepts JSON and what curl -d and simple clients send
// (the vendor's clients do not all set a type); it refuses forms and
// anything else that cannot be a JSON object.
func checkContentType(ct string) string {
	if ct == "" {
		return ""
	}
	mt, _, _ := strings.Cut(strings.ToLower(ct), ";")
	switch strings.TrimSpace(mt) {
	case "application/json", "text/json", "text/plain", "application/x-www-form-urlencoded":
		return ""
	}
	return "content type " + jsonstrict.Quote(ct) + " not supported; send a JSON object (application/json)"
}
