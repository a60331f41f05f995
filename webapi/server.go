// Package webapi serves the vendor's JSON WebAPI v1 (../shared/spec/
// webapi-v1.md) under /webapi/v1/, an extended status under /api/v1/ and
// GET /healthz. Every write goes through the command table (package
// command), the same one MQTT uses.
package webapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/evse-mqtt/evse-mqtt/charger"
	"github.com/evse-mqtt/evse-mqtt/command"
	"github.com/evse-mqtt/evse-mqtt/settings"
)

// MaxBody is the largest request body accepted (413 above).
const MaxBody = 64 << 10

// DefaultVersion is SystemVersion in a development build; release builds
// set theirs with -ldflags.
const DefaultVersion = "0.1.0"

// Controller is what the read side needs of the charger (a part of
// charger.Charger, which every backend satisfies).
type Controller interface {
	Status() charger.Status
	Settings() settings.Settings
}

// Options wire the handler to the daemon.
type Options struct {
	Config     Config
	Controller Controller
	Commands   *command.Table
	// Meter returns the whole {"MeterN":{...}} document of meter n (1 or
	// 2) at the given TimeStamp; nil serves an empty ModbusData.
	Meter func(n int, timestampMs int64) []byte
	// MeterStatus returns meter n's reading-error gauge (Status'
	// Meter1Status/Meter2Status); nil reports 0.
	MeterStatus func(n int) int
	Started     time.Time        // process start, for TimeStamp
	Now         func() time.Time // nil: time.Now
	Version     string           // Major.Minor.Build; "" means DefaultVersion
	Host        Host             // nil: the real host (/proc, net)
	Log         zerolog.Logger
	// Hostname is this machine's name, accepted in a write's Host header
	// (see Config.Hosts); "" means os.Hostname.
	Hostname string
	// StaleAfter makes /healthz fail when the control loop's latest
	// snapshot is older than this (0: 5 s).
	StaleAfter time.Duration
	// MQTT reports the broker connection for /healthz (degraded while it
	// is down) and /api/v1/status; nil: the daemon has no MQTT.
	MQTT func() MQTTState
	// OCPP reports the OCPP charge point for /api/v1/status and the MQTT
	// status; nil: OCPP is off.
	OCPP func() OCPPState
	// Session reports whether a request carries a live session of the
	// local page (a cookie it got by logging in with these same
	// credentials, see Login). It is consulted only where credentials
	// are needed, after the Host, cross-origin and network checks; nil:
	// no sessions.
	Session func(r *http.Request) bool
	// LifetimeEnergy is the charger's lifetime delivered energy in Wh
	// (energy.json's counter), published as LifetimeEnergy (kWh) in the
	// MQTT status for Home Assistant's Energy dashboard; nil: not
	// published.
	LifetimeEnergy func() float64
}

// Server is the WebAPI's http.Handler.
type Server struct {
	o     Options
	guard *guard
	hosts hostNames
	xo    *http.CrossOriginProtection
	// throttle holds the answer to wrong credentials (WebAPI writes and
	// the page's login alike).
	throttle *throttle
	routes   map[string]route
	log      zerolog.Logger

	lifeMu   sync.Mutex
	lifeLast float64 // the highest LifetimeEnergy published (kWh)
}

type route struct {
	get  http.HandlerFunc
	post func(req map[string]json.RawMessage, o command.Origin) command.Reply
}

// New checks the options and returns the handler.
func New(o Options) (*Server, error) {
	if o.Controller == nil || o.Commands == nil {
		return nil, errors.New("webapi: controller and command table are required")
	}
	if es := o.Config.Validate("webapi."); len(es) > 0 {
		return nil, fmt.Errorf("webapi: %w", es)
	}
	g, err := newGuard(o.Config)
	if err != nil {
		return nil, err
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Started.IsZero() {
		o.Started = o.Now()
	}
	if o.Version == "" {
		o.Version = DefaultVersion
	}
	if o.Host == nil {
		o.Host = NewSystemHost("/proc", o.Now)
	}
	if o.StaleAfter <= 0 {
		o.StaleAfter = 5 * time.Second
	}
	if o.Hostname == "" {
		o.Hostname = systemHostname()
	}
	s := &Server{o: o, guard: g, hosts: newHostNames(o.Config.Hosts, o.Hostname), xo: http.NewCrossOriginProtection(), throttle: newThrottle(o.Now), log: o.Log.With().Str("component", "webapi").Logger()}
	t := o.Commands
	s.routes = map[string]route{
		"/webapi/v1/Status":       {get: s.getStatus},
		"/webapi/v1/Meter1":       {get: s.getMeter(1)},
		"/webapi/v1/Meter2":       {get: s.getMeter(2)},
		"/webapi/v1/SystemConfig": {get: s.getSystemConfig, post: t.SystemConfig},
		"/webapi/v1/SystemInfo":   {get: s.getSystemInfo, post: t.SystemInfo},
		"/webapi/v1/EvseCtrl":     {post: t.EvseCtrl},
		"/api/v1/status":          {get: s.getExtended},
		"/api/v1/mode":            {post: t.Mode},
		"/api/v1/grid":            {post: t.GridObject},
		"/healthz":                {get: s.getHealth},
	}
	return s, nil
}

// ServeHTTP routes a request; every answer, errors included, is JSON.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	defer func() {
		if p := recover(); p != nil {
			s.log.Error().Interface("panic", p).Bytes("stack", debug.Stack()).Str("path", r.URL.Path).Msg("handler panicked")
			writeError(w, http.StatusInternalServerError, "internal error")
		}
	}()
	rt, ok := s.routes[r.URL.Path]
	if !ok {
		writeError(w, http.StatusNotFound, "no such endpoint: "+r.URL.Path)
		return
	}
	switch {
	case (r.Method == http.MethodGet || r.Method == http.MethodHead) && rt.get != nil:
		if why := s.o.Controller.Status().Unreachable; why != "" && strings.HasPrefix(r.URL.Path, "/webapi/") {
			// A bridged box that does not answer: its documents would be
			// stale data presented as live.
			writeError(w, http.StatusServiceUnavailable, why)
			return
		}
		rt.get(w, r)
	case r.Method == http.MethodPost && rt.post != nil:
		s.post(w, r, rt.post)
	default:
		var allow []string
		if rt.get != nil {
			allow = append(allow, http.MethodGet, http.MethodHead)
		}
		if rt.post != nil {
			allow = append(allow, http.MethodPost)
		}
		w.Header().Set("Allow", strings.Join(allow, ", "))
		writeError(w, http.StatusMethodNotAllowed, "method "+r.Method+" not allowed; use "+strings.Join(allow, ", "))
	}
}

// checkWrite applies the write guard: the Host must be a name of this
// charger (DNS rebinding), a browser's cross-site request is refused (a
// page on the Internet must not start charging through the user's
// browser; curl and scripts send no Origin or Sec-Fetch-Site and pass),
// then the client network, then the credentials unless the network
// writes without them (loopback by default). It answers the refusal
// itself and reports whether the write may go on.
func (s *Server) checkWrite(w http.ResponseWriter, r *http.Request) (netip.Addr, bool) {
	remote := remoteAddr(r)
	if why := s.hosts.check(r.Host); why != "" {
		s.log.Warn().Str("remote", r.RemoteAddr).Str("path", r.URL.Path).Str("host", clipHost(r.Host)).Msg("write refused: unknown Host (DNS rebinding?)")
		writeError(w, http.StatusForbidden, why)
		return remote, false
	}
	if err := s.xo.Check(r); err != nil {
		s.log.Warn().Str("remote", r.RemoteAddr).Str("path", r.URL.Path).Str("origin", r.Header.Get("Origin")).Msg("write refused: cross-origin request")
		writeError(w, http.StatusForbidden, "cross-origin write refused")
		return remote, false
	}
	if !s.guard.allowed(remote) {
		s.log.Warn().Str("remote", r.RemoteAddr).Str("path", r.URL.Path).Msg("write refused: client network not allowed")
		writeError(w, http.StatusForbidden, "writes are not allowed from "+remote.String())
		return remote, false
	}
	if s.guard.trusted(remote) {
		return remote, true
	}
	if s.o.Session != nil && s.o.Session(r) {
		return remote, true
	}
	// Credentials that were sent are judged through the throttle: the
	// right ones pass at once, the answer to wrong ones is held. A request
	// without any is no guess and is answered at once.
	var ok, busy bool
	if r.Header.Get("Authorization") != "" {
		ok, busy = s.throttle.judge(r.Context(), remote, func() bool { return s.guard.authorised(r) })
	}
	switch {
	case busy:
		w.Header().Set("Retry-After", strconv.Itoa(int(MaxBackoff/time.Second)))
		writeError(w, http.StatusTooManyRequests, ErrBusy.Error())
		return remote, false
	case !ok:
		if r.Header.Get("Authorization") != "" {
			s.log.Warn().Str("remote", r.RemoteAddr).Str("path", r.URL.Path).Msg("write refused: wrong credentials")
		}
		w.Header().Set("WWW-Authenticate", s.guard.challenge())
		writeError(w, http.StatusUnauthorized, "authentication required: writes from "+remote.String()+
			` need "Authorization: Bearer <token>" (the daemon logs at start where its token file is) or the configured Basic credentials`)
		return remote, false
	}
	return remote, true
}

// GuardWrites protects another handler's writes (every method but GET and
// HEAD) exactly as the WebAPI's POSTs are protected; the daemon wraps
// /sim/v1/State with it.
func (s *Server) GuardWrites(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			if _, ok := s.checkWrite(w, r); !ok {
				return
			}
		}
		h.ServeHTTP(w, r)
	})
}

// post guards, decodes and runs a write.
func (s *Server) post(w http.ResponseWriter, r *http.Request, run func(map[string]json.RawMessage, command.Origin) command.Reply) {
	remote, ok := s.checkWrite(w, r)
	if !ok {
		return
	}
	req, status, err := DecodeRequest(w, r)
	if err != nil {
		writeError(w, status, err.Error())
		return
	}
	rep := run(req, command.Origin{Surface: "http", Remote: remote})
	writeRaw(w, rep.Status, rep.JSON())
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	writeRaw(w, status, encode(v))
}

// encode writes v as JSON without HTML escaping (an answer reads "=>" as
// the vendor's does). Our documents are plain structs of strings,
// numbers and booleans, so encoding cannot fail.
func encode(v any) []byte {
	var b bytes.Buffer
	e := json.NewEncoder(&b)
	e.SetEscapeHTML(false)
	if err := e.Encode(v); err != nil {
		return []byte(`{"error":"encoding the answer failed"}`)
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
}

func writeRaw(w http.ResponseWriter, status int, b []byte) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(b)
}

// errorBody is the JSON body of every error answer that has no objects to
// answer.
type errorBody struct {
	Error string `json:"error"`
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, errorBody{msg})
}
