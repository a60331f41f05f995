package jsonstrict

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"unicode/utf8"
)

// ShortLen is how many bytes of a rejected value an answer or a log line
// quotes.
const ShortLen = 40

// Shorten quotes the start of a rejected value in an error message or a
// log line, so a 64 KiB value does not come back whole. It cuts on a rune
// boundary so the quote stays valid UTF-8.
func Shorten(raw []byte) string {
	if len(raw) == 0 {
		return "nothing"
	}
	return cut(string(raw), ShortLen)
}

// cut keeps the first n bytes of s, on a rune boundary, marking a cut.
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// Quote is Shorten for a name or string, in Go quotes ("Bogus").
func Quote(s string) string {
	if len(s) <= ShortLen {
		return strconv.Quote(s)
	}
	return strconv.Quote(Shorten([]byte(s)))
}

// Bool reads exactly true or false.
func Bool(raw json.RawMessage) (bool, error) {
	switch string(bytes.TrimSpace(raw)) {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, fmt.Errorf("must be true or false, got %s", Shorten(bytes.TrimSpace(raw)))
}

// String reads a JSON string (not null, not a number).
func String(raw json.RawMessage) (string, error) {
	raw = bytes.TrimSpace(raw)
	var s string
	if len(raw) == 0 || raw[0] != '"' || json.Unmarshal(raw, &s) != nil {
		return "", fmt.Errorf("must be a string, got %s", Shorten(raw))
	}
	return s, nil
}

// number is a JSON number split into its parts: the value is
// ±digits × 10^exp, digits without leading or trailing zeros ("" for 0).
type number struct {
	neg    bool
	digits string
	exp    int
}

// maxExp bounds the exponents considered; beyond it any non-zero number
// is out of every field's range (and big exponents cost nothing to refuse).
const maxExp = 1000

// parseNumber splits raw when it is exactly one JSON number.
func parseNumber(raw []byte) (number, bool) {
	if len(raw) == 0 || !(raw[0] == '-' || raw[0] >= '0' && raw[0] <= '9') || !json.Valid(raw) {
		return number{}, false
	}
	var n number
	i := 0
	if raw[i] == '-' {
		n.neg = true
		i++
	}
	var digits []byte
	for ; i < len(raw) && raw[i] >= '0' && raw[i] <= '9'; i++ {
		digits = append(digits, raw[i])
	}
	frac := 0
	if i < len(raw) && raw[i] == '.' {
		for i++; i < len(raw) && raw[i] >= '0' && raw[i] <= '9'; i++ {
			digits = append(digits, raw[i])
			frac++
		}
	}
	exp := 0
	if i < len(raw) && (raw[i] == 'e' || raw[i] == 'E') {
		i++
		eneg := false
		if raw[i] == '+' || raw[i] == '-' {
			eneg = raw[i] == '-'
			i++
		}
		for ; i < len(raw); i++ {
			if exp < 10*maxExp { // saturate: the exact figure no longer matters
				exp = exp*10 + int(raw[i]-'0')
			}
		}
		if eneg {
			exp = -exp
		}
	}
	digits = bytes.TrimLeft(digits, "0")
	trailing := len(digits) - len(bytes.TrimRight(digits, "0"))
	n.digits = string(digits[:len(digits)-trailing])
	n.exp = exp - frac + trailing
	if n.digits == "" {
		n.neg, n.exp = false, 0
	}
	return n, true
}

// MaxInt bounds the magnitude Int reads: beyond any field's range, and
// well inside what an int64 and a float64 hold exactly.
const MaxInt = 1e15

// Int reads a JSON number that is exactly a whole number: 16, 16.0 and
// 1.6e1 are 16; 6.5 and 1e-400 are refused rather than rounded, and so is
// anything beyond ±MaxInt. The caller checks the field's own range.
func Int(raw json.RawMessage) (int64, error) {
	raw = bytes.TrimSpace(raw)
	n, ok := parseNumber(raw)
	if !ok {
		return 0, fmt.Errorf("must be a number, got %s", Shorten(raw))
	}
	if n.exp < 0 {
		return 0, fmt.Errorf("must be a whole number, got %s", Shorten(raw))
	}
	if len(n.digits)+n.exp > 16 {
		return 0, fmt.Errorf("must be a whole number within ±1e15, got %s", Shorten(raw))
	}
	v := int64(0)
	if n.digits != "" {
		v, _ = strconv.ParseInt(n.digits, 10, 64) // ≤ 16 digits: cannot fail
		for range n.exp {
			v *= 10
		}
	}
	if v > MaxInt {
		return 0, fmt.Errorf("must be a whole number within ±1e15, got %s", Shorten(raw))
	}
	if n.neg {
		v = -v
	}
	return v, nil
}

// Float reads a JSON number as a finite float64. A non-zero number too
// small for a float64 (1e-400) is refused rather than read as 0, and one
// too large (1e400) rather than read as infinity. -0 reads as 0. The
// caller checks the field's own range.
func Float(raw json.RawMessage) (float64, error) {
	raw = bytes.TrimSpace(raw)
	n, ok := parseNumber(raw)
	if !ok {
		return 0, fmt.Errorf("must be a number, got %s", Shorten(raw))
	}
	v, err := strconv.ParseFloat(string(raw), 64)
	if err != nil || math.IsInf(v, 0) || math.IsNaN(v) {
		return 0, fmt.Errorf("must be a finite number, got %s", Shorten(raw))
	}
	if v == 0 && n.digits != "" {
		return 0, fmt.Errorf("must be 0 or a number a float64 can hold, got %s", Shorten(raw))
	}
	if v == 0 {
		v = 0 // -0 reads as 0
	}
	return v, nil
}
