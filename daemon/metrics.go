package daemon

import (
	"time"

	"github.com/evse-mqtt/evse-mqtt/controller"
	"github.com/evse-mqtt/evse-mqtt/metrics"
)

// newMetrics builds /metrics on the controller's snapshot; the registry
// reads it only when scraped.
func (d *Daemon) newMetrics() *metrics.Metrics {
	o := metrics.Options{States: controller.StateNames(), Snapshot: d.metricsSnapshot}
	if d.ctrl != nil {
		o.Lateness = func() metrics.Lateness { return latenessHistogram(d.ctrl.LoopStats()) }
	}
	return metrics.New(o)
}

// latenessHistogram folds the loop's fine buckets (LatenessBucket wide)
// into the coarse bounds of /metrics. A step is counted at its bucket's
// upper edge, so the sum errs high by at most one bucket a step.
func latenessHistogram(s controller.LoopSnapshot) metrics.Lateness {
	h := metrics.Lateness{Buckets: make(map[float64]uint64, len(metrics.LatenessBuckets))}
	for i, n := range s.Buckets {
		if n == 0 {
			continue
		}
		upper := (time.Duration(i+1) * controller.LatenessBucket).Seconds()
		if i == len(s.Buckets)-1 {
			upper = s.Max.Seconds() // the last bucket holds everything later
		}
		h.Count += n
		h.Sum += float64(n) * upper
		for _, b := range metrics.LatenessBuckets {
			if upper <= b {
				h.Buckets[b] += n
			}
		}
	}
	return h
}

func (d *Daemon) metricsSnapshot() metrics.Snapshot {
	st := d.ch.Status()
	s := metrics.Snapshot{
		State: st.State.String(), StateCode: int(st.State),
		OfferedA: float64(st.CurrentLimit), DrawnA: float64(st.ActualCurrent), PowerW: float64(st.ActualPower),
		SessionJ: float64(st.Energy), LifetimeJ: float64(st.LifetimeEnergy),
		LimitA: float64(st.CurrentLimit), LimitSource: st.LimitSource.String(),
		MQTTConfigured: d.cfg.MQTT.URL != "",
	}
	if s.MQTTConfigured {
		s.MQTTConnected = d.mqttState().Connected
	}
	if d.meters != nil {
		for i := range s.Meters {
			d.meters.mu.Lock()
			p := d.meters.pollers[i]
			d.meters.mu.Unlock()
			if p != nil {
				s.Meters[i] = metrics.Meter{Configured: true, ConsecutiveFailures: p.ErrorGauge(), ReadErrors: p.ReadErrors(), LastGood: p.LastGood()}
			}
		}
	}
	return s
}
