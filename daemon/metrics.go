package daemon

import (
	"github.com/evse-mqtt/evse-mqtt/controller"
	"github.com/evse-mqtt/evse-mqtt/metrics"
)

// newMetrics builds /metrics on the controller's snapshot; the registry
// reads it only when scraped.
func (d *Daemon) newMetrics() *metrics.Metrics {
	return metrics.New(metrics.Options{States: controller.StateNames(), Snapshot: d.metricsSnapshot})
}

func (d *Daemon) metricsSnapshot() metrics.Snapshot {
	st := d.ctrl.Status()
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
