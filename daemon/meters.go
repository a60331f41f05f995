package daemon

import (
	"context"
	"sync"

	"github.com/rs/zerolog"

	"github.com/evse-mqtt/evse-mqtt/config"
	"github.com/evse-mqtt/evse-mqtt/controller"
	"github.com/evse-mqtt/evse-mqtt/hw"
	"github.com/evse-mqtt/evse-mqtt/meter"
	"github.com/evse-mqtt/evse-mqtt/settings"
)

// meters runs one poller per configured Modbus meter and restarts it when
// the meter's type or address changes at run time.
type meters struct {
	ctx   context.Context
	log   zerolog.Logger
	ctrl  *controller.Controller
	links *meter.Links

	mu      sync.Mutex
	cfg     config.Meters
	typ     [2]int
	addr    [2]string
	pollers [2]*meter.Poller
	cancel  [2]context.CancelFunc
	latest  chan settings.Settings
}

func newMeters(ctx context.Context, cfg config.Meters, ctrl *controller.Controller, log zerolog.Logger) *meters {
	ms := &meters{ctx: ctx, cfg: cfg, ctrl: ctrl, log: log, links: meter.NewLinks(log), typ: [2]int{-1, -1},
		latest: make(chan settings.Settings, 1)}
	go ms.follow()
	return ms
}

// post hands new settings to the meters without waiting: it may be called
// from the control loop (settings hooks), which must never block on a
// meter link. The newest settings replace any not yet taken.
func (ms *meters) post(s settings.Settings) {
	for {
		select {
		case ms.latest <- s:
			return
		default:
			select {
			case <-ms.latest:
			default:
			}
		}
	}
}

func (ms *meters) follow() {
	for {
		select {
		case <-ms.ctx.Done():
			return
		case s := <-ms.latest:
			ms.apply(s)
		}
	}
}

// reconfigure takes new wiring details; every poller restarts on the next
// apply.
func (ms *meters) reconfigure(cfg config.Meters) {
	ms.mu.Lock()
	defer ms.mu.Unlock()
	ms.cfg = cfg
	ms.typ = [2]int{-1, -1}
}

// apply starts, stops or restarts pollers to match the settings.
func (ms *meters) apply(s settings.Settings) {
	ms.mu.Lock()
	defer ms.mu.Unlock()
	want := [2]struct {
		typ  int
		addr string
		cfg  meter.Config
	}{{s.Meter1Type, s.Meter1Ip, ms.cfg.Meter1}, {s.Meter2Type, s.Meter2Ip, ms.cfg.Meter2}}
	for i, w := range want {
		if w.typ == ms.typ[i] && w.addr == ms.addr[i] {
			continue
		}
		if ms.cancel[i] != nil {
			ms.cancel[i]()
			ms.cancel[i], ms.pollers[i] = nil, nil
		}
		ms.typ[i], ms.addr[i] = w.typ, w.addr
		if !settings.IsModbusMeter(w.typ) {
			continue
		}
		n := i + 1
		p, err := meter.NewPoller(meter.Options{
			Name: meterName(n), Type: meter.Type(w.typ), Address: w.addr, Control: n == 2,
			Config: w.cfg, Links: ms.links, Log: ms.log,
			OnReading: func(r hw.MeterReading) { ms.ctrl.SetMeter(n, r) },
		})
		if err != nil {
			ms.log.Error().Err(err).Str("meter", meterName(n)).Msg("meter not started")
			continue
		}
		ctx, cancel := context.WithCancel(ms.ctx)
		ms.pollers[i], ms.cancel[i] = p, cancel
		go p.Run(ctx)
	}
}

func meterName(n int) string {
	if n == 1 {
		return "Meter1"
	}
	return "Meter2"
}

// webapi renders GET /webapi/v1/MeterN: the poller's registers, or an
// empty ModbusData object when no meter is configured.
func (ms *meters) webapi(n int, ts int64) []byte {
	ms.mu.Lock()
	p := ms.pollers[n-1]
	ms.mu.Unlock()
	if p == nil {
		return meter.RenderWebAPI(meterName(n), ts, nil)
	}
	return p.WebAPI(ts)
}

// gauge is MeterNStatus: the meter's reading-error gauge, 0 without one.
func (ms *meters) gauge(n int) int {
	ms.mu.Lock()
	p := ms.pollers[n-1]
	ms.mu.Unlock()
	if p == nil {
		return 0
	}
	return p.ErrorGauge()
}

// registers lists the meter's registers (for discovery); nil without one.
func (ms *meters) registers(n int) []meter.Register {
	ms.mu.Lock()
	p := ms.pollers[n-1]
	ms.mu.Unlock()
	if p == nil {
		return nil
	}
	return p.Registers()
}

func (ms *meters) close() {
	ms.mu.Lock()
	defer ms.mu.Unlock()
	for i := range ms.cancel {
		if ms.cancel[i] != nil {
			ms.cancel[i]()
		}
	}
	_ = ms.links.Close()
}

// mapName names the register map meter n is read with ("" without one);
// it changes when an SDM72D-M's variant has been detected.
func (ms *meters) mapName(n int) string {
	ms.mu.Lock()
	p := ms.pollers[n-1]
	ms.mu.Unlock()
	if p == nil {
		return ""
	}
	return p.MapName()
}
