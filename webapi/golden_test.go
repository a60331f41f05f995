package webapi

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

// golden compares an answer (status line and indented body, key order
// kept) with testdata/name.golden.
func golden(t *testing.T, name string, x response) {
	t.Helper()
	var body bytes.Buffer
	if err := json.Indent(&body, x.body, "", "  "); err != nil {
		t.Fatalf("%s: body is not JSON: %v: %s", name, err, x.body)
	}
	got := fmt.Sprintf("HTTP %d %s\n%s\n", x.code, x.hdr.Get("Content-Type"), body.String())
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%s: %v (run go test -update to create it)", name, err)
	}
	if got != string(want) {
		t.Errorf("%s: answer differs from %s (go test -update rewrites it)\n--- got\n%s\n--- want\n%s", name, path, got, want)
	}
}

// field is one top-level key of a JSON object with its JSON type.
type field struct {
	Key, Type string
}

// shape lists an object's keys in document order with their JSON types;
// nested objects are listed as "object".
func shape(t *testing.T, doc []byte) []field {
	t.Helper()
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(doc, &raw); err != nil {
		t.Fatalf("not a JSON object: %v: %s", err, doc)
	}
	d := json.NewDecoder(bytes.NewReader(doc))
	if _, err := d.Token(); err != nil {
		t.Fatal(err)
	}
	var fs []field
	for d.More() {
		k, err := d.Token()
		if err != nil {
			t.Fatal(err)
		}
		var v json.RawMessage
		if err := d.Decode(&v); err != nil {
			t.Fatal(err)
		}
		fs = append(fs, field{k.(string), jsonType(v)})
	}
	return fs
}

func jsonType(v json.RawMessage) string {
	switch s := strings.TrimSpace(string(v)); {
	case s == "true" || s == "false":
		return "boolean"
	case s == "null":
		return "null"
	case strings.HasPrefix(s, `"`):
		return "string"
	case strings.HasPrefix(s, "{"):
		return "object"
	case strings.HasPrefix(s, "["):
		return "array"
	default:
		return "number"
	}
}
