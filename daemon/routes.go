package daemon

import "net/http"

func (d *Daemon) routes() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/sim/v1/State", simHandler(d.sim))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	return mux
}
