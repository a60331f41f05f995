package pspbox

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Bounds on what a decoder accepts from the box.
const (
	// MaxBody is the largest answer read from the box; more is an error.
	MaxBody = 64 << 10
	// maxMembers bounds the objects of a document (the guide's largest
	// has 19).
	maxMembers = 128
	// maxString bounds any string value the box sends.
	maxString = 256
	// maxMessage bounds the text of a decoding error.
	maxMessage = 300
)

// member is one name → value pair of a JSON object, in document order.
type member struct {
	Key string
	Raw json.RawMessage
}

// readObject reads b as exactly one JSON object and returns its members in
// order. A key given twice (case-insensitively, as encoding/json would
// merge them) is an error: which one the box meant is unknown.
func readObject(b []byte, limit int) ([]member, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	tok, err := d.Token()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("empty answer")
		}
		return nil, syntaxError(err)
	}
	if delim, ok := tok.(json.Delim); !ok || delim != '{' {
		return nil, fmt.Errorf("answer is not a JSON object: starts with %s", shorten(b))
	}
	var ms []member
	for d.More() {
		tok, err := d.Token()
		if err != nil {
			return nil, syntaxError(err)
		}
		k, ok := tok.(string)
		if !ok {
			return nil, errors.New("object key expected")
		}
		var raw json.RawMessage
		if err := d.Decode(&raw); err != nil {
			return nil, syntaxError(err)
		}
		for _, m := range ms {
			if strings.EqualFold(m.Key, k) {
				return nil, fmt.Errorf("object %s given twice", quote(k))
			}
		}
		if len(ms) == limit {
			return nil, fmt.Errorf("more than %d objects", limit)
		}
		ms = append(ms, member{k, raw})
	}
	if _, err := d.Token(); err != nil {
		return nil, syntaxError(err)
	}
	if _, err := d.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("data after the JSON object")
	}
	return ms, nil
}

func syntaxError(err error) error {
	if errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	return fmt.Errorf("malformed JSON: %s", clip(err.Error(), 120))
}

// fieldSet matches members against the names a document defines,
// case-insensitively, and remembers which were present.
type fieldSet struct {
	doc  string
	seen map[string]bool
	errs []string
}

func newFieldSet(doc string) *fieldSet { return &fieldSet{doc: doc, seen: map[string]bool{}} }

// canonical returns the defined name k stands for, or "" for an unknown
// field (ignored: newer firmware may add some).
func canonical(k string, names []string) string {
	for _, n := range names {
		if strings.EqualFold(n, k) {
			return n
		}
	}
	return ""
}

// fail records a problem with field name; decoding goes on so the error
// names every bad field (up to a few).
func (f *fieldSet) fail(name string, err error) {
	if len(f.errs) < 4 {
		f.errs = append(f.errs, name+": "+err.Error())
	}
}

// require records every name of names that was not present.
func (f *fieldSet) require(names ...string) {
	for _, n := range names {
		if !f.seen[n] {
			f.fail(n, errors.New("missing"))
		}
	}
}

// err returns the recorded problems as one bounded error.
func (f *fieldSet) err() error {
	if len(f.errs) == 0 {
		return nil
	}
	return &DecodeError{Doc: f.doc, Msg: clip(strings.Join(f.errs, "; "), maxMessage)}
}

// DecodeError says why an answer of the box was refused. Its message is
// bounded, whatever the box sent.
type DecodeError struct {
	Doc string // which answer: "Status", "SystemConfig", ...
	Msg string
}

func (e *DecodeError) Error() string { return "box answer " + e.Doc + ": " + e.Msg }

// Is makes every DecodeError match ErrBadAnswer.
func (e *DecodeError) Is(target error) bool { return target == ErrBadAnswer }

func docError(doc string, err error) error {
	return &DecodeError{Doc: doc, Msg: clip(err.Error(), maxMessage)}
}

// number reads a JSON number (an integer or a float, never a string) that
// is finite and within [lo, hi].
func number(raw json.RawMessage, lo, hi float64) (float64, error) {
	raw = bytes.TrimSpace(raw)
	// JSON's number syntax, also for text that did not come through the
	// JSON decoder ("Set=>4600"): ParseFloat alone would take 0x1p4.
	if len(raw) == 0 || !(raw[0] == '-' || raw[0] >= '0' && raw[0] <= '9') || !json.Valid(raw) {
		return 0, fmt.Errorf("must be a number, got %s", shorten(raw))
	}
	v, err := strconv.ParseFloat(string(raw), 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, fmt.Errorf("must be a finite number, got %s", shorten(raw))
	}
	if v < lo || v > hi {
		return 0, fmt.Errorf("must be %s…%s, got %s", fmtNum(lo), fmtNum(hi), shorten(raw))
	}
	if v == 0 {
		v = 0 // not -0
	}
	return v, nil
}

// whole reads a number that must be whole (16 or 16.0, not 16.5): an
// enumeration or a count, which a float firmware may write as 4.0.
func whole(raw json.RawMessage, lo, hi int64) (int64, error) {
	v, err := number(raw, float64(lo), float64(hi))
	if err != nil {
		return 0, err
	}
	if v != math.Trunc(v) {
		return 0, fmt.Errorf("must be a whole number, got %s", shorten(raw))
	}
	return int64(v), nil
}

// boolean reads true or false.
func boolean(raw json.RawMessage) (bool, error) {
	switch string(bytes.TrimSpace(raw)) {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, fmt.Errorf("must be true or false, got %s", shorten(raw))
}

// text reads a JSON string of at most max bytes without control
// characters (the values go on to MQTT topics, logs and Home Assistant).
func text(raw json.RawMessage, max int) (string, error) {
	raw = bytes.TrimSpace(raw)
	var s string
	if len(raw) == 0 || raw[0] != '"' || json.Unmarshal(raw, &s) != nil {
		return "", fmt.Errorf("must be a string, got %s", shorten(raw))
	}
	if len(s) > max {
		return "", fmt.Errorf("string longer than %d bytes", max)
	}
	if !utf8.ValidString(s) {
		return "", errors.New("string is not valid UTF-8")
	}
	for _, r := range s {
		if unicode.IsControl(r) || r == utf8.RuneError {
			return "", fmt.Errorf("string holds control or invalid character %U", r)
		}
	}
	return s, nil
}

// shorten quotes the start of raw for an error message: at most 40 bytes,
// escaped, so neither size nor control characters travel on.
func shorten(raw []byte) string {
	if len(raw) == 0 {
		return "nothing"
	}
	if len(raw) > 40 {
		return strconv.QuoteToASCII(string(raw[:40])) + "…"
	}
	return strconv.QuoteToASCII(string(raw))
}

// quote escapes a key for an error message, bounded like shorten.
func quote(s string) string { return shorten([]byte(s)) }

// clip bounds a message to n bytes, on a rune boundary.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	i := n
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i] + "…"
}

func fmtNum(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
