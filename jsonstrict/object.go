// Package jsonstrict is the one JSON decoder of every write surface (the
// WebAPI's POST bodies, MQTT command payloads, /sim/v1/State): exactly one
// object with no key given twice and nothing after it, and values of
// exactly the JSON type a field takes — no null for false or "", no
// 1e-400 for 0, no "5000 W" for 5000. encoding/json is lenient on each of
// these (it keeps the last duplicate, reads null as "leave alone" and
// rounds numbers), which let one surface accept what another refused.
package jsonstrict

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// ErrNotObject means the input is valid JSON but not an object.
var ErrNotObject = errors.New("must be a JSON object")

// ErrEmpty means the input held nothing but white space.
var ErrEmpty = errors.New("empty; send a JSON object")

// DuplicateError names a key an object gives twice.
type DuplicateError struct{ Key string }

func (e *DuplicateError) Error() string {
	return fmt.Sprintf("object %s given twice", Quote(e.Key))
}

// SyntaxError wraps what made the input not one JSON object: malformed
// JSON, data after the object, or the reader's own error (errors.As finds
// an *http.MaxBytesError through it).
type SyntaxError struct{ Err error }

// Error bounds the message: encoding/json quotes a whole number literal
// it cannot hold ("cannot unmarshal number 7777…").
func (e *SyntaxError) Error() string { return "malformed JSON: " + cut(e.Err.Error(), 100) }
func (e *SyntaxError) Unwrap() error { return e.Err }

// Object reads exactly one JSON object of name → raw value from r. Keys
// are compared exactly; a key given twice is refused, since a map would
// silently keep the last and a command would run what the sender did not
// mean. Values are returned raw for the field's own decoder (Bool, Int,
// Float, String).
func Object(r io.Reader) (map[string]json.RawMessage, error) {
	d := json.NewDecoder(r)
	fail := func(err error) (map[string]json.RawMessage, error) {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF // the input ended inside the object
		}
		return nil, &SyntaxError{err}
	}
	tok, err := d.Token()
	if errors.Is(err, io.EOF) {
		return nil, ErrEmpty
	}
	if err != nil {
		return fail(err)
	}
	if delim, ok := tok.(json.Delim); !ok || delim != '{' {
		return nil, ErrNotObject
	}
	obj := map[string]json.RawMessage{}
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
		if _, dup := obj[k]; dup {
			return nil, &DuplicateError{k}
		}
		obj[k] = v
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
	return obj, nil
}

// ObjectBytes is Object over a byte slice.
func ObjectBytes(b []byte) (map[string]json.RawMessage, error) {
	return Object(bytes.NewReader(b))
}
