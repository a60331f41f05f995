// Package openapi serves /api/openapi.json: an OpenAPI 3.1 description of
// the vendor's WebAPI (/webapi/v1), the daemon's extensions (/api/v1,
// /healthz, /metrics) and the page's event stream. The document is kept
// by hand and kept true by this package's tests: every golden answer of
// the WebAPI and every answer of the page's endpoints validates against
// it.
package openapi

import (
	_ "embed"
	"net/http"
)

//go:embed openapi.json
var document []byte

// Document returns the description (a copy).
func Document() []byte { return append([]byte(nil), document...) }

// Handler serves the description.
func Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-cache")
		w.Write(document)
	})
}

// Paths lists, one a line, every path the daemon serves apart from the
// page's files (/, /app.js, /app.css) and the simulator's /sim/v1/State:
// the description must describe exactly these (a test checks).
const Paths = `
/webapi/v1/Status
/webapi/v1/Meter1
/webapi/v1/Meter2
/webapi/v1/SystemConfig
/webapi/v1/SystemInfo
/webapi/v1/EvseCtrl
/api/v1/status
/api/v1/mode
/api/v1/grid
/api/v1/events
/api/v1/history
/api/v1/log
/api/v1/session
/api/v1/login
/api/v1/logout
/healthz
/metrics
/api/openapi.json
`
