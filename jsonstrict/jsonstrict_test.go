package jsonstrict

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestObject(t *testing.T) {
	for _, c := range []struct {
		in   string
		keys int
		err  string // substring; "" = accepted
	}{
		{`{"a":1,"b":[1,{"c":null}]}`, 2, ""},
		{` {} `, 0, ""},
		{`{"SCode":"Reset","SCode":"FactoryDefault"}`, 0, `object "SCode" given twice`},
		{`{"a":1,"A":2}`, 2, ""}, // case-folded twins are the command table's to judge
		{`{"a":1} {"a":2}`, 0, "data after the object"},
		{`{"a":1}x`, 0, "malformed JSON"},
		{`{"a":1`, 0, "unexpected EOF"},
		{``, 0, "empty"},
		{"  \n", 0, "empty"},
		{`null`, 0, "must be a JSON object"},
		{`[1]`, 0, "must be a JSON object"},
		{`"x"`, 0, "must be a JSON object"},
		{`{1:2}`, 0, "malformed JSON"},
	} {
		m, err := ObjectBytes([]byte(c.in))
		switch {
		case c.err == "" && err != nil:
			t.Errorf("%s: %v", c.in, err)
		case c.err == "" && len(m) != c.keys:
			t.Errorf("%s: %d keys, want %d", c.in, len(m), c.keys)
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
			t.Errorf("%s: error %v, want %q", c.in, err, c.err)
		case c.err != "" && m != nil:
			t.Errorf("%s: refused but returned %v", c.in, m)
		}
	}
	// A duplicate's name is shortened in the error.
	long := strings.Repeat("k", 70000)
	_, err := ObjectBytes([]byte(`{"` + long + `":1,"` + long + `":2}`))
	var dup *DuplicateError
	if !errors.As(err, &dup) || len(err.Error()) > 100 {
		t.Fatalf("long duplicate: %d bytes of error", len(err.Error()))
	}
	// The reader's own error stays reachable (the WebAPI answers 413).
	rec := httptest.NewRecorder()
	body := http.MaxBytesReader(rec, ioNopCloser{strings.NewReader(`{"a":"` + strings.Repeat("x", 100) + `"}`)}, 10)
	_, err = Object(body)
	var mbe *http.MaxBytesError
	if !errors.As(err, &mbe) {
		t.Fatalf("MaxBytesError lost: %v", err)
	}
}

type ioNopCloser struct{ *strings.Reader }

func (ioNopCloser) Close() error { return nil }

func TestBoolAndString(t *testing.T) {
	for in, want := range map[string]any{
		"true": true, " false ": false, "null": nil, "0": nil, `"true"`: nil, "True": nil, "": nil, "true x": nil,
	} {
		b, err := Bool(json.RawMessage(in))
		if (err == nil) != (want != nil) || (err == nil && b != want) {
			t.Errorf("Bool(%q) = %v, %v; want %v", in, b, err, want)
		}
	}
	for in, want := range map[string]any{
		`""`: "", `"a b"`: "a b", `"\u00e9"`: "é", "null": nil, "5": nil, "true": nil, `"x" "y"`: nil, "": nil,
	} {
		s, err := String(json.RawMessage(in))
		if (err == nil) != (want != nil) || (err == nil && s != want) {
			t.Errorf("String(%q) = %q, %v; want %v", in, s, err, want)
		}
	}
	if _, err := Bool(json.RawMessage("null")); err == nil || !strings.Contains(err.Error(), "got null") {
		t.Errorf("null: %v", err)
	}
}

func TestInt(t *testing.T) {
	for in, want := range map[string]any{
		"16": int64(16), "16.0": int64(16), "1.6e1": int64(16), "160e-1": int64(16), "-0": int64(0), "0e999999999999": int64(0),
		"-7": int64(-7), "1e15": int64(1e15), "-1e15": int64(-1e15), "0.0": int64(0),
		"6.5": "whole number", "1e-400": "whole number", "1e400": "within", "1e16": "within", "1000000000000001": "within",
		"5000 W": "must be a number", `"16"`: "must be a number", "null": "must be a number", "true": "must be a number",
		"": "must be a number", "01": "must be a number", "+1": "must be a number", "0x10": "must be a number", "NaN": "must be a number",
		"16 16": "must be a number",
	} {
		v, err := Int(json.RawMessage(in))
		if w, ok := want.(int64); ok {
			if err != nil || v != w {
				t.Errorf("Int(%q) = %d, %v; want %d", in, v, err, w)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), want.(string)) {
			t.Errorf("Int(%q) = %d, %v; want an error with %q", in, v, err, want)
		}
	}
}

func TestFloat(t *testing.T) {
	for in, want := range map[string]any{
		"4140.5": 4140.5, "0": 0.0, "-0": 0.0, "0e-999": 0.0, "1e-300": 1e-300, "1e308": 1e308,
		"1e-400": "float64 can hold", "1e400": "finite", "5000 W": "must be a number", "null": "must be a number",
		`"5"`: "must be a number", "5000,": "must be a number",
	} {
		v, err := Float(json.RawMessage(in))
		if w, ok := want.(float64); ok {
			if err != nil || v != w || math.Signbit(v) {
				t.Errorf("Float(%q) = %v, %v; want %v", in, v, err, w)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), want.(string)) {
			t.Errorf("Float(%q) = %v, %v; want an error with %q", in, v, err, want)
		}
	}
}

func TestShorten(t *testing.T) {
	if Shorten(nil) != "nothing" || Shorten([]byte("abc")) != "abc" {
		t.Fatal("short values stay whole")
	}
	long := []byte(strings.Repeat("é", 40000)) // 80 KB of 2-byte runes
	s := Shorten(long)
	if len(s) > ShortLen+len("…") || !utf8.ValidString(s) || !strings.HasSuffix(s, "…") {
		t.Fatalf("Shorten: %d bytes, valid UTF-8 %v: %q", len(s), utf8.ValidString(s), s)
	}
	if q := Quote(strings.Repeat("k", 5000)); len(q) > 60 {
		t.Fatalf("Quote: %d bytes", len(q))
	}
}

// FuzzNumbers checks Int and Float against exact rational arithmetic: an
// accepted Int is exactly the number written, within ±MaxInt; a refused
// one is not a whole number within that range (or not a JSON number); an
// accepted Float is the float64 nearest the number written, finite, and
// round-trips through the encoder.
func FuzzNumbers(f *testing.F) {
	for _, s := range []string{"16", "16.0", "1.6e1", "6.5", "1e-400", "1e400", "-0", "5000 W", "null", "1e15", "1e16",
		"0.000000000000000000001e21", "123456789012345.0000", "-9.99e14", "2.5e-1", "4140.5", "1E+2", "0e-99999999", "5e99999999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		raw := json.RawMessage(in)
		exact, isNum := rat(in) // exact is nil for an exponent beyond ±5000
		huge := isNum && exact == nil
		v, err := Int(raw)
		switch {
		case err == nil && !isNum:
			t.Fatalf("Int(%q) accepted a non-number: %d", in, v)
		case err == nil && huge && v != 0:
			t.Fatalf("Int(%q) = %d from a huge exponent", in, v)
		case err == nil && !huge && (exact.Cmp(new(big.Rat).SetInt64(v)) != 0 || v > MaxInt || v < -MaxInt):
			t.Fatalf("Int(%q) = %d, not exact", in, v)
		case err != nil && !huge && isNum && exact.IsInt() && exact.Num().IsInt64() && abs(exact.Num().Int64()) <= MaxInt:
			t.Fatalf("Int(%q) refused a whole number in range: %v", in, err)
		case err != nil && len(err.Error()) > 120:
			t.Fatalf("Int(%q): error of %d bytes", in, len(err.Error()))
		}
		x, err := Float(raw)
		switch {
		case err == nil && !isNum:
			t.Fatalf("Float(%q) accepted a non-number: %v", in, x)
		case err == nil && (math.IsInf(x, 0) || math.IsNaN(x) || math.Signbit(x) && x == 0):
			t.Fatalf("Float(%q) = %v", in, x)
		case err == nil && huge && x != 0:
			t.Fatalf("Float(%q) = %v from a huge exponent", in, x)
		case err == nil && !huge:
			if want, _ := exact.Float64(); want != x && !(want == 0 && x == 0) {
				t.Fatalf("Float(%q) = %v, nearest float64 is %v", in, x, want)
			}
			if x == 0 && exact.Sign() != 0 {
				t.Fatalf("Float(%q) read a non-zero number as 0", in)
			}
			b, _ := json.Marshal(x)
			if y, err := Float(b); err != nil || y != x {
				t.Fatalf("Float(%q) = %v does not round-trip (%s → %v, %v)", in, x, b, y, err)
			}
		case err != nil && len(err.Error()) > 120:
			t.Fatalf("Float(%q): error of %d bytes", in, len(err.Error()))
		}
	})
}

// rat is the exact value of in when it is one JSON number; nil (with
// true) when its exponent is beyond ±5000, where big.Rat would build a
// huge power of ten — unless the mantissa is 0.
func rat(in string) (*big.Rat, bool) {
	s := strings.TrimSpace(in)
	if s == "" || !json.Valid([]byte(s)) || !(s[0] == '-' || s[0] >= '0' && s[0] <= '9') {
		return nil, false
	}
	if i := strings.IndexAny(s, "eE"); i >= 0 {
		e, err := strconv.Atoi(strings.TrimPrefix(s[i+1:], "+"))
		if err != nil || e > 5000 || e < -5000 {
			m, _ := new(big.Rat).SetString(s[:i])
			if m.Sign() == 0 {
				return m, true
			}
			return nil, true
		}
	}
	r, ok := new(big.Rat).SetString(s)
	return r, ok
}

func abs(v int64) int64 {
	if v < 0 {
		return -v
	}
	return v
}

// TestErrorsAreShort: no error quotes its input whole, whatever part of
// the input the problem is in (encoding/json's own messages included).
func TestErrorsAreShort(t *testing.T) {
	long := strings.Repeat("7", 5000)
	for _, in := range []string{long, `{"a":` + long + `}x`, `{"` + long + `":1,"` + long + `":2}`, `{"a":1}` + long, `[` + long} {
		_, err := ObjectBytes([]byte(in))
		if err == nil || len(err.Error()) > 200 {
			t.Errorf("%.20s…: %d-byte error %.200v", in, len(fmt.Sprint(err)), err)
		}
	}
	for _, f := range []func(json.RawMessage) error{
		func(r json.RawMessage) error { _, err := Int(r); return err },
		func(r json.RawMessage) error { _, err := Float(r); return err },
		func(r json.RawMessage) error { _, err := Bool(r); return err },
		func(r json.RawMessage) error { _, err := String(r); return err },
	} {
		if err := f(json.RawMessage(long + "x")); err == nil || len(err.Error()) > 200 {
			t.Errorf("value error of %d bytes", len(fmt.Sprint(err)))
		}
	}
}
