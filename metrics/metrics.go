// Package metrics serves /metrics in Prometheus' text format
// (github.com/prometheus/client_golang): the charger's state, currents,
// power, energy, the limit in force and its source, the meters' health,
// the MQTT link, the control loop's step lateness and the commands by
// surface and result.
//
// Names follow Prometheus' conventions: base units (amperes, watts,
// joules, seconds), counters end in _total. Energy is in joules, the SI
// base unit Prometheus asks for: divide by 3.6e6 for kWh.
//
// The package reads the charger through a Snapshot function taken at
// each scrape, so it depends on neither the controller nor the daemon.
package metrics

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Meter is one meter's health at a scrape.
type Meter struct {
	Configured          bool
	ConsecutiveFailures int       // polls in a row that failed (MeterNStatus)
	ReadErrors          int       // register reads that failed since the meter was set up
	LastGood            time.Time // zero: never read
}

// Snapshot is what one scrape reports.
type Snapshot struct {
	State          string  // short state name, e.g. "charging"
	StateCode      int     // the vendor's EvseState number
	OfferedA       float64 // the current the EVSE advertises
	DrawnA         float64
	PowerW         float64
	SessionJ       float64 // this session's energy
	LifetimeJ      float64 // delivered since the process started (a counter)
	LimitA         float64 // the limit in force
	LimitSource    string  // configuration, boost, limiter, supervisor lease, …
	Meters         [2]Meter
	MQTTConfigured bool
	MQTTConnected  bool
}

// Options wire the metrics.
type Options struct {
	Snapshot func() Snapshot
	// States lists every state name, so the state is reported as one
	// series per state (1 for the one in force), Prometheus' enum idiom.
	States []string
	Now    func() time.Time // nil: time.Now
	// Lateness, when set, reads the control loop's own lateness
	// histogram at each scrape (the loop records every step at no cost to
	// it); without it ObserveLateness feeds the histogram.
	Lateness func() Lateness
}

// Lateness is a cumulative step-lateness histogram: Count steps, their
// summed lateness in seconds, and the steps at or below each bound of
// LatenessBuckets.
type Lateness struct {
	Count   uint64
	Sum     float64
	Buckets map[float64]uint64
}

// Metrics is the registry behind /metrics.
type Metrics struct {
	o        Options
	reg      *prometheus.Registry
	lateness prometheus.Histogram
	commands *prometheus.CounterVec
}

// LatenessBuckets are the step-lateness histogram's bounds: the loop
// ticks every 10 ms, so lateness of a few ms is normal and 100 ms is a
// missed safety deadline's scale.
var LatenessBuckets = []float64{0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 1}

// New returns the metrics; nothing is served until Handler is mounted.
func New(o Options) *Metrics {
	if o.Now == nil {
		o.Now = time.Now
	}
	m := &Metrics{o: o, reg: prometheus.NewRegistry()}
	m.lateness = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "evse_control_loop_lateness_seconds",
		Help:    "How late each control loop step ran after its tick was due.",
		Buckets: LatenessBuckets,
	})
	m.commands = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "evse_commands_total",
		Help: "Commands judged by the command table, by surface (http, mqtt) and result (applied, refused, rejected, error).",
	}, []string{"surface", "result"})
	var lateness prometheus.Collector = m.lateness
	if o.Lateness != nil {
		lateness = latenessCollector{o.Lateness}
	}
	m.reg.MustRegister(lateness, m.commands, &collector{m},
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Handler serves the registry.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{ErrorLog: nil, MaxRequestsInFlight: 4})
}

// ObserveLateness records one control loop step's lateness.
func (m *Metrics) ObserveLateness(d time.Duration) { m.lateness.Observe(max(d, 0).Seconds()) }

var descLateness = prometheus.NewDesc("evse_control_loop_lateness_seconds", "How late each control loop step ran after its tick was due.", nil, nil)

// latenessCollector serves the loop's own histogram.
type latenessCollector struct{ read func() Lateness }

func (l latenessCollector) Describe(ch chan<- *prometheus.Desc) { ch <- descLateness }

func (l latenessCollector) Collect(ch chan<- prometheus.Metric) {
	h := l.read()
	ch <- prometheus.MustNewConstHistogram(descLateness, h.Count, h.Sum, h.Buckets)
}

// Command counts one command by its surface and result (see
// command.Result).
func (m *Metrics) Command(surface, result string) { m.commands.WithLabelValues(surface, result).Inc() }

var (
	descState     = prometheus.NewDesc("evse_state", "The charger's state: 1 for the state in force, 0 for the others.", []string{"state"}, nil)
	descStateCode = prometheus.NewDesc("evse_state_code", "The charger's state as the vendor's EvseState number.", nil, nil)
	descOffered   = prometheus.NewDesc("evse_offered_current_amperes", "The current the EVSE advertises on the control pilot.", nil, nil)
	descDrawn     = prometheus.NewDesc("evse_drawn_current_amperes", "The current the vehicle draws.", nil, nil)
	descPower     = prometheus.NewDesc("evse_power_watts", "The power delivered to the vehicle.", nil, nil)
	descSession   = prometheus.NewDesc("evse_session_energy_joules", "Energy delivered in the current (or last) session.", nil, nil)
	descEnergy    = prometheus.NewDesc("evse_energy_delivered_joules_total", "Energy delivered since the process started.", nil, nil)
	descLimit     = prometheus.NewDesc("evse_current_limit_amperes", "The current limit in force, labelled with its source.", []string{"source"}, nil)
	descMeterFail = prometheus.NewDesc("evse_meter_consecutive_failures", "Polls in a row that failed (the vendor's MeterNStatus); 0 while the meter reads cleanly.", []string{"meter"}, nil)
	descMeterErrs = prometheus.NewDesc("evse_meter_read_errors_total", "Register reads that failed since the meter was set up.", []string{"meter"}, nil)
	descMeterAge  = prometheus.NewDesc("evse_meter_last_good_reading_age_seconds", "Time since the meter was last read successfully (absent until it was).", []string{"meter"}, nil)
	descMQTT      = prometheus.NewDesc("evse_mqtt_connected", "1 while the MQTT bridge is connected to its broker (absent without MQTT).", nil, nil)
)

// collector turns a Snapshot into metrics at each scrape.
type collector struct{ m *Metrics }

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descState, descStateCode, descOffered, descDrawn, descPower, descSession,
		descEnergy, descLimit, descMeterFail, descMeterErrs, descMeterAge, descMQTT} {
		ch <- d
	}
}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	s := c.m.o.Snapshot()
	now := c.m.o.Now()
	g := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	known := false
	for _, name := range c.m.o.States {
		v := 0.0
		if name == s.State {
			v, known = 1, true
		}
		g(descState, v, name)
	}
	if !known {
		g(descState, 1, s.State)
	}
	g(descStateCode, float64(s.StateCode))
	g(descOffered, s.OfferedA)
	g(descDrawn, s.DrawnA)
	g(descPower, s.PowerW)
	g(descSession, s.SessionJ)
	ch <- prometheus.MustNewConstMetric(descEnergy, prometheus.CounterValue, s.LifetimeJ)
	g(descLimit, s.LimitA, s.LimitSource)
	for i, mt := range s.Meters {
		if !mt.Configured {
			continue
		}
		n := strconv.Itoa(i + 1)
		g(descMeterFail, float64(mt.ConsecutiveFailures), n)
		ch <- prometheus.MustNewConstMetric(descMeterErrs, prometheus.CounterValue, float64(mt.ReadErrors), n)
		if !mt.LastGood.IsZero() {
			g(descMeterAge, max(now.Sub(mt.LastGood), 0).Seconds(), n)
		}
	}
	if s.MQTTConfigured {
		v := 0.0
		if s.MQTTConnected {
			v = 1
		}
		g(descMQTT, v)
	}
}
