package daemon

import (
	"encoding/json"
	"net/http"

	"github.com/evse-mqtt/evse-mqtt/hw/sim"
	"github.com/evse-mqtt/evse-mqtt/webapi"
)

// simHandler serves GET and POST /sim/v1/State: the simulated vehicle,
// building and faults, for people and tests driving a scenario from
// outside the process. A POST body is read by the WebAPI's decoder, so
// the same content types, size limit and strict JSON rules apply.
func simHandler(s *sim.Sim) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodGet:
			writeJSON(w, http.StatusOK, s.State())
		case http.MethodPost:
			req, status, err := webapi.DecodeRequest(w, r)
			if err != nil {
				writeJSON(w, status, map[string]string{"error": err.Error()})
				return
			}
			if bad := s.Apply(req); bad != nil {
				if msg, ok := bad[""]; ok {
					writeJSON(w, http.StatusBadRequest, map[string]string{"error": msg})
					return
				}
				writeJSON(w, http.StatusBadRequest, map[string]any{"error": "nothing applied", "fields": bad})
				return
			}
			writeJSON(w, http.StatusOK, s.State())
		default:
			w.Header().Set("Allow", "GET, POST")
			writeJSON(w, http.StatusMethodNotAllowed, map[string]string{"error": "method not allowed"})
		}
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}
