package webapi

import (
	"fmt"
	"math"
	"net/http"
	"time"

	"github.com/evse-mqtt/evse-mqtt/charger"
	"github.com/evse-mqtt/evse-mqtt/meter"
	"github.com/evse-mqtt/evse-mqtt/settings"
)

// ProductType is SystemInfo's product signature: the vendor's board
// answers "01100200"; this daemon answers its own so clients can tell the
// two apart ("EVSEMQTT" in the vendor's eight-character form).
const ProductType = "EVSEMQTT"

// OTAMsg explains why the firmware-update objects do nothing here.
const OTAMsg = "Updates are delivered as a new evse-mqtt release or container image"

// statusDoc is GET Status, in the vendor's key order and JSON types.
type statusDoc struct {
	TimeStamp                  int64
	SystemVersion              string
	WiFiInfo                   string
	EvseState                  int
	ThreePhaseCharging         bool
	ActualCurrent              float64
	PPCodedCurrent             float64
	ActualPower                float64
	ActualPowerAvailable       float64
	ActualEnergy               float64
	ActualDuration             string
	ActualDurationTotalSeconds int64
	AutoStartAllowed           bool
	StartStopAllowed           bool
	BoostAllowed               bool
	ChargerStarted             bool
	ChargeBoosted              bool
	Meter1Status               int
	Meter2Status               int
}

// timestamp is ms since the process started.
func (s *Server) timestamp() int64 { return s.o.Now().Sub(s.o.Started).Milliseconds() }

// round keeps documents readable; a non-finite value (a meter glitch)
// becomes 0 rather than making the whole document unencodable.
func round(v float64, places int) float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0
	}
	p := math.Pow10(places)
	r := math.Round(v*p) / p
	if r == 0 {
		return 0 // not -0, which JSON would write as "-0"
	}
	return r
}

// vendorDuration writes a session time as the guide does: 00h:00m:00s.
func vendorDuration(d time.Duration) string {
	sec := int64(d / time.Second)
	return fmt.Sprintf("%02dh:%02dm:%02ds", sec/3600, sec/60%60, sec%60)
}

func (s *Server) meterStatus(n int) int {
	if s.o.MeterStatus == nil {
		return 0
	}
	return s.o.MeterStatus(n)
}

func (s *Server) getStatus(w http.ResponseWriter, _ *http.Request) {
	writeRaw(w, http.StatusOK, s.StatusDocument())
}

// StatusDocument renders GET Status.
func (s *Server) StatusDocument() []byte {
	return encode(s.statusDoc(s.o.Controller.Status()))
}

func (s *Server) statusDoc(st charger.Status) statusDoc {
	avail := 0.0
	if st.LimiterActive { // meaningful only while the power limiting runs
		avail = round(float64(st.PowerAvailable), 0)
	}
	return statusDoc{
		TimeStamp:                  s.timestamp(),
		SystemVersion:              s.o.Version,
		WiFiInfo:                   wifiStatus(s.o.Host),
		EvseState:                  int(st.State),
		ThreePhaseCharging:         st.ThreePhase,
		ActualCurrent:              round(float64(st.ActualCurrent), 2),
		PPCodedCurrent:             round(float64(st.PPCodedCurrent), 0),
		ActualPower:                round(float64(st.ActualPower), 0),
		ActualPowerAvailable:       avail,
		ActualEnergy:               round(float64(st.Energy), 0),
		ActualDuration:             vendorDuration(st.Duration),
		ActualDurationTotalSeconds: int64(st.Duration / time.Second),
		AutoStartAllowed:           st.AutoStartAllowed,
		StartStopAllowed:           st.StartStopAllowed,
		BoostAllowed:               st.BoostAllowed,
		ChargerStarted:             st.ChargerStarted,
		ChargeBoosted:              st.ChargeBoosted,
		Meter1Status:               s.meterStatus(1),
		Meter2Status:               s.meterStatus(2),
	}
}

func (s *Server) getMeter(n int) http.HandlerFunc {
	name := fmt.Sprintf("Meter%d", n)
	return func(w http.ResponseWriter, _ *http.Request) {
		ts := s.timestamp()
		var doc []byte
		if s.o.Meter != nil {
			doc = s.o.Meter(n, ts)
		}
		if doc == nil { // no meter data yet: the shape, never invented values
			doc = meter.RenderWebAPI(name, ts, nil)
		}
		writeRaw(w, http.StatusOK, doc)
	}
}

// systemConfigDoc is GET SystemConfig: the settings' JSON names follow the
// vendor's order after the two common keys.
type systemConfigDoc struct {
	TimeStamp     int64
	SystemVersion string
	settings.Settings
}

func (s *Server) getSystemConfig(w http.ResponseWriter, _ *http.Request) {
	writeRaw(w, http.StatusOK, s.ConfigDocument())
}

// ConfigDocument renders GET SystemConfig.
func (s *Server) ConfigDocument() []byte {
	return encode(systemConfigDoc{s.timestamp(), s.o.Version, s.o.Controller.Settings()})
}

// systemInfoDoc is GET SystemInfo.
type systemInfoDoc struct {
	TimeStamp        int64
	SystemVersion    string
	ProductType      string
	MAC              string
	WiFiInfo         string
	HeapInfo         string
	GeneralInfo      string
	OTAMsg           string
	OTACheckAllowed  bool
	OTAUpdateAllowed bool
}

// generalInfo lists the active fault, as the vendor's "System: ..." line.
func generalInfo(st charger.Status) string {
	if !st.Problem() {
		return "System: Failure free"
	}
	return "System: " + st.Fault.String()
}

func (s *Server) getSystemInfo(w http.ResponseWriter, _ *http.Request) {
	writeRaw(w, http.StatusOK, s.InfoDocument())
}

// InfoDocument renders GET SystemInfo.
func (s *Server) InfoDocument() []byte {
	d := systemInfoDoc{
		TimeStamp:     s.timestamp(),
		SystemVersion: s.o.Version,
		ProductType:   ProductType,
		MAC:           s.o.Host.MAC(),
		WiFiInfo:      wifiSystemInfo(s.o.Host),
		HeapInfo:      heapInfo(s.o.Host),
		GeneralInfo:   generalInfo(s.o.Controller.Status()),
		OTAMsg:        OTAMsg,
	}
	if b, ok := s.o.Controller.(charger.Box); ok {
		// A bridged box is the charger: its firmware, product and MAC.
		id := b.Identity()
		d.SystemVersion, d.ProductType, d.MAC = id.SystemVersion, id.ProductType, id.MAC
	}
	return encode(d)
}

// healthDoc is GET /healthz.
type healthDoc struct {
	Status string `json:"status"`
	Reason string `json:"reason,omitempty"`
	// MQTT says why the broker connection is down; the charger still
	// works (status "degraded"), but Home Assistant sees none of it.
	MQTT string `json:"mqtt,omitempty"`
}

// getHealth fails (503) only when the control loop has stopped producing
// snapshots: that is the charger itself. A broker that is unreachable
// or refuses us is "degraded" with 200, so a container runtime does not
// restart a charger that works, but people and monitors can see it.
func (s *Server) getHealth(w http.ResponseWriter, _ *http.Request) {
	st := s.o.Controller.Status()
	age := s.o.Now().Sub(st.At)
	if st.At.IsZero() || age > s.o.StaleAfter {
		writeJSON(w, http.StatusServiceUnavailable, healthDoc{Status: "unhealthy", Reason: "control loop has not stepped recently", MQTT: s.degradedReason()})
		return
	}
	if r := s.degradedReason(); r != "" {
		writeJSON(w, http.StatusOK, healthDoc{Status: "degraded", MQTT: r})
		return
	}
	writeJSON(w, http.StatusOK, healthDoc{Status: "ok"})
}
