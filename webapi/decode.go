package webapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
)

// decodeObject reads one JSON object of name → raw value from r and
// nothing else. An object that names a key twice is refused: a map
// would silently keep the last. It returns the HTTP status for an error.
func decodeObject(r io.Reader) (map[string]json.RawMessage, int, error) {
	d := json.NewDecoder(r)
	fail := func(err error) (map[string]json.RawMessage, int, error) {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, http.StatusRequestEntityTooLarge, fmt.Errorf("request body larger than %d bytes", MaxBody)
		}
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF // the body ended inside the object
		}
		return nil, http.StatusBadRequest, fmt.Errorf("malformed JSON: %w", err)
	}
	tok, err := d.Token()
	if errors.Is(err, io.EOF) {
		return nil, http.StatusBadRequest, errors.New("empty request body; send a JSON object")
	}
	if err != nil {
		return fail(err)
	}
	if delim, ok := tok.(json.Delim); !ok || delim != '{' {
		return nil, http.StatusBadRequest, errors.New("request must be a JSON object")
	}
	req := map[string]json.RawMessage{}
	for d.More() {
		tok, err := d.Token()
		if err != nil {
			return fail(err)
		}
		k, ok := tok.(string)
		if !ok {
			return fail(errors.New("object key expected"))
		}
		var v json.RawMessage
		if err := d.Decode(&v); err != nil {
			return fail(err)
		}
		if _, dup := req[k]; dup {
			return nil, http.StatusBadRequest, fmt.Errorf("object %q given twice", k)
		}
		req[k] = v
	}
	if _, err := d.Token(); err != nil { // the closing brace
		return fail(err)
	}
	if _, err := d.Token(); err != io.EOF {
		if err == nil {
			err = errors.New("data after the object")
		}
		return fail(err)
	}
	return req, 0, nil
}
