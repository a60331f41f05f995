package openapi

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
)

// load parses and validates the description as the OpenAPI version it
// names (kin-openapi v0.153.0 validates 3.1 documents as 3.1: type
// arrays, JSON Schema 2020-12 keywords).
func load(t testing.TB) (*openapi3.T, routers.Router) {
	t.Helper()
	l := openapi3.NewLoader()
	doc, err := l.LoadFromData(Document())
	if err != nil {
		t.Fatalf("loading openapi.json: %v", err)
	}
	if !doc.IsOpenAPI31OrLater() || doc.OpenAPI != "3.1.0" {
		t.Fatalf("openapi %q, want 3.1.0", doc.OpenAPI)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("openapi.json is not a valid OpenAPI 3.1 description: %v", err)
	}
	r, err := legacy.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	return doc, r
}

func TestDescriptionIsValid31(t *testing.T) { load(t) }

// goldenRequests names the request behind each golden answer of the
// WebAPI's contract test (webapi/contract_test.go). A new golden file
// must be added here, so the description cannot fall behind.
var goldenRequests = map[string]string{
	"status_idle": "GET /webapi/v1/Status", "status_wifi": "GET /webapi/v1/Status", "status_charging": "GET /webapi/v1/Status",
	"systemconfig": "GET /webapi/v1/SystemConfig", "systemconfig_set": "POST /webapi/v1/SystemConfig",
	"systeminfo_wired": "GET /webapi/v1/SystemInfo", "systeminfo_wifi": "GET /webapi/v1/SystemInfo",
	"systeminfo_reset": "POST /webapi/v1/SystemInfo",
	"meter1_none":      "GET /webapi/v1/Meter1", "meter2_none": "GET /webapi/v1/Meter2",
	"healthz": "GET /healthz", "extended_idle": "GET /api/v1/status", "extended_charging": "GET /api/v1/status",
	"evsectrl_guide": "POST /webapi/v1/EvseCtrl", "err_malformed": "POST /webapi/v1/SystemConfig",
	// No operation: an unknown path and a wrong method answer the Error schema.
	"err_404": "Error", "err_405": "Error",
}

// readGolden splits a golden file into status, content type and body.
func readGolden(t *testing.T, path string) (int, string, []byte) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	head, body, _ := bytes.Cut(data, []byte("\n"))
	f := strings.Fields(string(head)) // HTTP 200 application/json
	if len(f) != 3 || f[0] != "HTTP" {
		t.Fatalf("%s: first line %q", path, head)
	}
	code, err := strconv.Atoi(f[1])
	if err != nil {
		t.Fatal(err)
	}
	return code, f[2], body
}

// Validate checks one answer against the operation of method and path.
func validate(t *testing.T, doc *openapi3.T, r routers.Router, method, path string, code int, ctype string, body []byte) error {
	t.Helper()
	req := httptest.NewRequest(method, path, nil)
	route, params, err := r.FindRoute(req)
	if err != nil {
		t.Fatalf("%s %s: no operation in the description: %v", method, path, err)
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route,
			Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}},
		Status: code, Header: http.Header{"Content-Type": {ctype}},
		Options: &openapi3filter.Options{IncludeResponseStatus: true},
	}
	in.SetBodyBytes(body)
	return openapi3filter.ValidateResponse(context.Background(), in)
}

func schemaCheck(doc *openapi3.T, name string, body []byte) error {
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		return err
	}
	return doc.Components.Schemas[name].Value.VisitJSON(v, openapi3.EnableJSONSchema2020())
}

// TestGoldenAnswersValidate: every golden answer of the WebAPI and of
// /api/v1/status validates against the description.
func TestGoldenAnswersValidate(t *testing.T) {
	doc, router := load(t)
	files, err := filepath.Glob("../webapi/testdata/*.golden")
	if err != nil || len(files) < len(goldenRequests) {
		t.Fatalf("golden files: %v (%d)", err, len(files))
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".golden")
		req, ok := goldenRequests[name]
		if !ok {
			t.Errorf("%s: a new golden answer; name its request in goldenRequests", name)
			continue
		}
		code, ctype, body := readGolden(t, f)
		if req == "Error" {
			if err := schemaCheck(doc, "Error", body); err != nil {
				t.Errorf("%s: %v", name, err)
			}
			continue
		}
		method, path, _ := strings.Cut(req, " ")
		if err := validate(t, doc, router, method, path, code, ctype, body); err != nil {
			t.Errorf("%s (%s): %v", name, req, err)
		}
	}
}

// TestValidationBites: the check is not vacuous. An answer with a field
// the description does not know, a wrong type, or a missing field fails.
func TestValidationBites(t *testing.T) {
	doc, router := load(t)
	code, ctype, body := readGolden(t, "../webapi/testdata/extended_charging.golden")
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatal(err)
	}
	for name, mutate := range map[string]func(map[string]any){
		"extra field":   func(m map[string]any) { m["surprise"] = 1 },
		"wrong type":    func(m map[string]any) { m["actual_power_w"] = "11 kW" },
		"missing field": func(m map[string]any) { delete(m, "limit_source") },
		"null time":     func(m map[string]any) { m["at"] = nil },
	} {
		c := map[string]any{}
		for k, v := range m {
			c[k] = v
		}
		mutate(c)
		b, _ := json.Marshal(c)
		if err := validate(t, doc, router, "GET", "/api/v1/status", code, ctype, b); err == nil {
			t.Errorf("%s: a broken /api/v1/status answer validated", name)
		}
	}
}

// TestEveryRouteDescribed: the description names exactly the daemon's
// paths (the list the guard audit also enumerates, see e2e).
func TestEveryRouteDescribed(t *testing.T) {
	doc, _ := load(t)
	want := map[string]bool{}
	sc := bufio.NewScanner(strings.NewReader(Paths))
	for sc.Scan() {
		if p := strings.TrimSpace(sc.Text()); p != "" {
			want[p] = true
		}
	}
	for p := range doc.Paths.Map() {
		if !want[p] {
			t.Errorf("described but not served: %s", p)
		}
		delete(want, p)
	}
	for p := range want {
		t.Errorf("served but not described: %s", p)
	}
}
