package ocpp

import (
	"context"
	"math"
	"strconv"
	"strings"
	"time"

	lib "github.com/lorenzodonini/ocpp-go/ocpp"
	"github.com/lorenzodonini/ocpp-go/ocpp1.6/core"
	"github.com/lorenzodonini/ocpp-go/ocpp1.6/types"

	"github.com/evse-mqtt/evse-mqtt/charger"
	"github.com/evse-mqtt/evse-mqtt/command"
	"github.com/evse-mqtt/evse-mqtt/controller"
)

// origin is how the central system's writes appear in the command table's
// logs and metrics.
var origin = command.Origin{Surface: "ocpp"}

// watch follows the charger whether or not the central system is
// reachable: it opens and closes transactions, samples meter values,
// recomputes the charging-profile limit and reports status changes.
func (c *Client) watch(ctx context.Context) {
	ch, stop := c.o.Charger.Subscribe()
	defer stop()
	t := time.NewTicker(time.Second)
	defer t.Stop()
	w := watcher{}
	for {
		c.observe(time.Now(), &w)
		select {
		case <-ctx.Done():
			return
		case <-ch:
		case <-t.C:
		case <-c.timerKick:
		}
	}
}

// watcher is the watch loop's own memory.
type watcher struct {
	started     bool
	lastSample  time.Time
	lastAligned int64 // index of the last clock-aligned interval sampled
	finishing   bool
	limit       float64 // cap last applied (A; < 0: none)
	limitSet    bool    // limit was applied once
}

// register is the energy register in Wh: the persisted register at start
// plus what the charger delivered since.
func (c *Client) register(st charger.Status) float64 {
	return math.Floor(c.base + float64(st.LifetimeEnergy)/3600)
}

func (c *Client) observe(now time.Time, w *watcher) {
	st := c.o.Charger.Status()
	reg := c.register(st)
	c.st.mu.Lock()
	c.st.d.RegisterWh = max(c.st.d.RegisterWh, reg)
	reg = c.st.d.RegisterWh
	open := c.st.d.Open
	c.st.mu.Unlock()

	if !w.started {
		w.started = true
		if open != nil {
			// The daemon died with a transaction open: the charger's
			// session did not survive it, so the transaction ends here.
			c.endTx(now, st, reg, core.ReasonPowerLoss)
			open = nil
		}
	}
	switch {
	case st.ChargerStarted && open == nil:
		c.beginTx(now, st, reg)
		w.lastSample = now
		w.finishing = false
	case !st.ChargerStarted && open != nil:
		c.endTx(now, st, reg, "")
		w.finishing = st.VehicleConnected
	}
	if !st.VehicleConnected {
		w.finishing = false
	}
	c.st.mu.Lock()
	open = c.st.d.Open
	c.st.mu.Unlock()
	if iv := time.Duration(c.keyInt("MeterValueSampleInterval")) * time.Second; open != nil && iv > 0 && now.Sub(w.lastSample) >= iv {
		w.lastSample = now
		c.enqueueMeter(open.Local, c.sample(now, st, reg, types.ReadingContextSamplePeriodic, c.keyString("MeterValuesSampledData")))
	}
	if iv := int64(c.keyInt("ClockAlignedDataInterval")); iv > 0 {
		if n := now.Unix() / iv; n != w.lastAligned {
			if w.lastAligned != 0 {
				mv := c.sample(time.Unix(n*iv, 0), st, reg, types.ReadingContextSampleClock, c.keyString("MeterValuesAlignedData"))
				if open != nil {
					c.enqueueMeter(open.Local, mv)
				} else if cp := c.current(); cp != nil {
					_ = cp.SendRequestAsync(core.NewMeterValuesRequest(1, []types.MeterValue{mv}), c.heardCb)
				}
			}
			w.lastAligned = n
		}
	}
	c.applyLimit(now, w)
	c.sendStatusWith(mapStatus(st, c.inoperative(), w.finishing), false)
}

func (c *Client) heardCb(_ lib.Response, err error) {
	if err == nil {
		c.heard()
	}
}

func (c *Client) inoperative() bool {
	c.st.mu.Lock()
	defer c.st.mu.Unlock()
	return c.st.d.Inoperative
}

func (c *Client) beginTx(now time.Time, st charger.Status, reg float64) {
	c.mu.Lock()
	tag, remote := c.remoteTag, c.remoteTag != ""
	c.remoteTag, c.stopReason = "", ""
	c.mu.Unlock()
	if !remote {
		tag = c.cfg.IDTag
	}
	c.st.mu.Lock()
	local := c.st.d.NextLocal
	c.st.d.NextLocal++
	if !remote {
		c.dropTxProfiles() // only a remote start brings its own TxProfile
	}
	c.st.d.Open = &openTx{Local: local, IDTag: tag, Start: types.DateTime{Time: now}, MeterStart: int(reg), Remote: remote}
	c.st.mu.Unlock()
	req := core.NewStartTransactionRequest(1, tag, int(reg), types.NewDateTime(now))
	c.enqueue(queued{Kind: kindStart, Local: local, Start: req})
	c.log.Info().Int("local_transaction", local).Str("id_tag", tag).Float64("meter_start_wh", reg).Msg("transaction started")
	if !remote {
		go c.authorize(tag, local)
	}
}

func (c *Client) endTx(now time.Time, st charger.Status, reg float64, reason core.Reason) {
	c.mu.Lock()
	if reason == "" {
		reason = c.stopReason
	}
	c.stopReason = ""
	c.mu.Unlock()
	if reason == "" {
		switch {
		case st.Fault == controller.FaultEPO:
			reason = core.ReasonEmergencyStop
		case !st.VehicleConnected:
			reason = core.ReasonEVDisconnected
		case st.Problem():
			reason = core.ReasonOther
		default:
			reason = core.ReasonLocal
		}
	}
	c.st.mu.Lock()
	open := c.st.d.Open
	c.st.d.Open = nil
	c.dropTxProfiles() // saved with the StopTransaction below
	c.st.mu.Unlock()
	if open == nil {
		return
	}
	c.kick(kickTimers) // the cap without the TxProfile
	req := core.NewStopTransactionRequest(int(reg), types.NewDateTime(now), open.Local)
	req.IdTag = open.IDTag
	req.Reason = reason
	c.enqueue(queued{Kind: kindStop, Local: open.Local, Stop: req})
	c.log.Info().Int("local_transaction", open.Local).Str("reason", string(reason)).Float64("meter_stop_wh", reg).Msg("transaction stopped")
}

func (c *Client) enqueueMeter(local int, mv types.MeterValue) {
	req := core.NewMeterValuesRequest(1, []types.MeterValue{mv})
	c.enqueue(queued{Kind: kindMeter, Local: local, Meter: req})
}

// sample builds one MeterValue of the measurands listed (comma-separated).
func (c *Client) sample(at time.Time, st charger.Status, reg float64, ctx types.ReadingContext, list string) types.MeterValue {
	mv := types.MeterValue{Timestamp: types.NewDateTime(at)}
	add := func(m types.Measurand, v float64, unit types.UnitOfMeasure, ph types.Phase) {
		mv.SampledValue = append(mv.SampledValue, types.SampledValue{Value: strconv.FormatFloat(v, 'f', -1, 64),
			Context: ctx, Measurand: m, Unit: unit, Phase: ph, Location: types.LocationOutlet})
	}
	if list == "" {
		list = "Energy.Active.Import.Register"
	}
	for _, m := range strings.Split(list, ",") {
		switch types.Measurand(strings.TrimSpace(m)) {
		case types.MeasurandEnergyActiveImportRegister:
			add(types.MeasurandEnergyActiveImportRegister, reg, types.UnitOfMeasureWh, "")
		case types.MeasurandPowerActiveImport:
			add(types.MeasurandPowerActiveImport, math.Round(float64(st.ActualPower)), types.UnitOfMeasureW, "")
		case types.MeasurandCurrentImport:
			phases := []types.Phase{types.PhaseL1, types.PhaseL2, types.PhaseL3}
			if !st.ThreePhase {
				phases = phases[:1]
			}
			for _, p := range phases {
				add(types.MeasurandCurrentImport, math.Round(float64(st.ActualCurrent)*10)/10, types.UnitOfMeasureA, p)
			}
		case types.MeasurandCurrentOffered:
			add(types.MeasurandCurrentOffered, float64(st.CurrentLimit), types.UnitOfMeasureA, "")
		}
	}
	return mv
}

// sendStatus reports the connector status now; force sends it even when
// unchanged (on every new socket, on TriggerMessage).
func (c *Client) sendStatus(force bool) {
	st := c.o.Charger.Status()
	c.mu.Lock()
	finishing := c.sentStatus.Status == core.ChargePointStatusFinishing && st.VehicleConnected && !st.ChargerStarted
	c.mu.Unlock()
	c.sendStatusWith(mapStatus(st, c.inoperative(), finishing), force)
}

func (c *Client) sendStatusWith(k statusKey, force bool) {
	c.mu.Lock()
	cp := c.cp
	if !c.registered || cp == nil || (!force && c.statusOK && k == c.sentStatus) {
		c.mu.Unlock()
		return
	}
	c.sentStatus, c.statusOK = k, true
	c.mu.Unlock()
	req := core.NewStatusNotificationRequest(1, k.Code, k.Status)
	req.Info = k.Info
	req.Timestamp = types.NewDateTime(time.Now())
	_ = cp.SendRequestAsync(req, c.heardCb)
}

// authorize asks the central system about a locally started session's
// idTag; a refusal stops the session. Offline the session goes on
// (LocalAuthorizeOffline).
func (c *Client) authorize(tag string, local int) {
	cp := c.current()
	if cp == nil {
		return
	}
	conf, err := cp.Authorize(tag)
	if err != nil {
		return
	}
	c.heard()
	if conf.IdTagInfo == nil || conf.IdTagInfo.Status == types.AuthorizationStatusAccepted {
		return
	}
	c.st.mu.Lock()
	same := c.st.d.Open != nil && c.st.d.Open.Local == local
	c.st.mu.Unlock()
	if same {
		c.log.Warn().Str("id_tag", tag).Str("status", string(conf.IdTagInfo.Status)).Msg("idTag refused: stopping the session")
		c.deauthorize()
	}
}

// deauthorize stops the session because the central system refused its
// idTag.
func (c *Client) deauthorize() {
	c.mu.Lock()
	c.stopReason = core.ReasonDeAuthorized
	c.mu.Unlock()
	c.o.Commands.Charging(false, origin)
}

// reapply puts the persisted availability in force at start.
func (c *Client) reapply() {
	if c.inoperative() {
		if a, ok := c.o.Charger.(charger.Availability); ok {
			if err := a.SetOperative(false); err != nil {
				c.log.Error().Err(err).Msg("inoperative not re-applied")
			}
		}
	}
}
