package ocpp

import (
	"math"
	"slices"
	"time"

	"github.com/lorenzodonini/ocpp-go/ocpp1.6/smartcharging"
	"github.com/lorenzodonini/ocpp-go/ocpp1.6/types"

	"github.com/evse-mqtt/evse-mqtt/charger"
	"github.com/evse-mqtt/evse-mqtt/controller"
	"github.com/evse-mqtt/evse-mqtt/units"
)

// Smart-charging bounds (the read-only keys of the same names).
const (
	maxStackLevel = 10
	maxPeriods    = 24
	maxProfiles   = 10
	// nominalVoltage converts a W schedule to A per phase.
	nominalVoltage = 230.0
)

// checkProfile judges a profile's shape; "" when it can be installed.
func (c *Client) checkProfile(p *types.ChargingProfile) string {
	s := p.ChargingSchedule
	switch {
	case s == nil || len(s.ChargingSchedulePeriod) == 0:
		return "no schedule"
	case p.StackLevel > maxStackLevel:
		return "stackLevel above ChargeProfileMaxStackLevel"
	case len(s.ChargingSchedulePeriod) > maxPeriods:
		return "more periods than ChargingScheduleMaxPeriods"
	case s.ChargingSchedulePeriod[0].StartPeriod != 0:
		return "the first period must start at 0"
	case p.ChargingProfileKind == types.ChargingProfileKindRecurring && (p.RecurrencyKind == "" || s.StartSchedule == nil):
		return "a recurring profile needs recurrencyKind and startSchedule"
	}
	for i, per := range s.ChargingSchedulePeriod {
		if i > 0 && per.StartPeriod <= s.ChargingSchedulePeriod[i-1].StartPeriod {
			return "periods must start in ascending order"
		}
		if per.NumberPhases != nil && (*per.NumberPhases < 1 || *per.NumberPhases > 3) {
			return "numberPhases must be 1…3"
		}
		if math.IsInf(per.Limit, 0) || math.IsNaN(per.Limit) {
			return "bad limit"
		}
	}
	return ""
}

// OnSetChargingProfile installs a profile: ChargePointMaxProfile on
// connector 0, TxDefaultProfile on 0 or 1, TxProfile on 1 during a
// transaction.
func (c *Client) OnSetChargingProfile(req *smartcharging.SetChargingProfileRequest) (*smartcharging.SetChargingProfileConfirmation, error) {
	c.heard()
	reject := smartcharging.NewSetChargingProfileConfirmation(smartcharging.ChargingProfileStatusRejected)
	p := req.ChargingProfile
	if p == nil || req.ConnectorId > 1 {
		return reject, nil
	}
	if _, can := c.o.Charger.(charger.ExternalLimiter); !can {
		return reject, nil // a backend that cannot take a cap: no promise it cannot keep
	}
	if why := c.checkProfile(p); why != "" {
		c.log.Info().Str("why", why).Int("id", p.ChargingProfileId).Msg("SetChargingProfile rejected")
		return reject, nil
	}
	switch p.ChargingProfilePurpose {
	case types.ChargingProfilePurposeChargePointMaxProfile:
		if req.ConnectorId != 0 {
			return reject, nil
		}
	case types.ChargingProfilePurposeTxProfile:
		c.st.mu.Lock()
		open := c.st.d.Open
		ok := open != nil && req.ConnectorId == 1
		if ok && p.TransactionId != 0 {
			ok = c.st.d.IDs[open.Local] == p.TransactionId
		}
		c.st.mu.Unlock()
		if !ok {
			return reject, nil
		}
	}
	if !c.installProfile(req.ConnectorId, *p) {
		return reject, nil
	}
	return smartcharging.NewSetChargingProfileConfirmation(smartcharging.ChargingProfileStatusAccepted), nil
}

// dropTxProfiles removes the TxProfiles: they belong to one transaction.
// Call with the store locked; the caller saves.
func (c *Client) dropTxProfiles() {
	c.st.d.Profiles = slices.DeleteFunc(c.st.d.Profiles, func(q profile) bool {
		return q.Profile.ChargingProfilePurpose == types.ChargingProfilePurposeTxProfile
	})
}

// installProfile replaces a profile of the same id, or of the same
// purpose and stack level on the connector, and persists.
func (c *Client) installProfile(conn int, p types.ChargingProfile) bool {
	c.st.mu.Lock()
	prev := slices.Clone(c.st.d.Profiles)
	c.st.d.Profiles = slices.DeleteFunc(c.st.d.Profiles, func(q profile) bool {
		return q.Profile.ChargingProfileId == p.ChargingProfileId ||
			(q.Connector == conn && q.Profile.ChargingProfilePurpose == p.ChargingProfilePurpose && q.Profile.StackLevel == p.StackLevel)
	})
	if len(c.st.d.Profiles) >= maxProfiles {
		c.st.d.Profiles = prev
		c.st.mu.Unlock()
		return false
	}
	c.st.d.Profiles = append(c.st.d.Profiles, profile{Connector: conn, Profile: p})
	err := c.st.save()
	if err != nil {
		c.st.d.Profiles = prev
	}
	c.st.mu.Unlock()
	if err != nil {
		c.log.Error().Err(err).Msg("charging profile not persisted")
		return false
	}
	c.kick(kickTimers)
	return true
}

// OnClearChargingProfile removes the profiles matching every criterion
// given.
func (c *Client) OnClearChargingProfile(req *smartcharging.ClearChargingProfileRequest) (*smartcharging.ClearChargingProfileConfirmation, error) {
	c.heard()
	c.st.mu.Lock()
	n := len(c.st.d.Profiles)
	c.st.d.Profiles = slices.DeleteFunc(c.st.d.Profiles, func(q profile) bool {
		if req.Id != nil {
			return q.Profile.ChargingProfileId == *req.Id
		}
		return (req.ConnectorId == nil || *req.ConnectorId == q.Connector) &&
			(req.ChargingProfilePurpose == "" || req.ChargingProfilePurpose == q.Profile.ChargingProfilePurpose) &&
			(req.StackLevel == nil || *req.StackLevel == q.Profile.StackLevel)
	})
	removed := n != len(c.st.d.Profiles)
	if removed {
		_ = c.st.save()
	}
	c.st.mu.Unlock()
	if !removed {
		return smartcharging.NewClearChargingProfileConfirmation(smartcharging.ClearChargingProfileStatusUnknown), nil
	}
	c.kick(kickTimers)
	return smartcharging.NewClearChargingProfileConfirmation(smartcharging.ClearChargingProfileStatusAccepted), nil
}

// profileAt is one profile's limit at t in A per phase.
func profileAt(p types.ChargingProfile, t, txStart time.Time) (float64, bool) {
	if (p.ValidFrom != nil && t.Before(p.ValidFrom.Time)) || (p.ValidTo != nil && !t.Before(p.ValidTo.Time)) {
		return 0, false
	}
	s := p.ChargingSchedule
	if s == nil {
		return 0, false
	}
	start := t
	switch p.ChargingProfileKind {
	case types.ChargingProfileKindAbsolute:
		if s.StartSchedule != nil {
			start = s.StartSchedule.Time
		} else if !txStart.IsZero() {
			start = txStart
		}
	case types.ChargingProfileKindRelative:
		if !txStart.IsZero() {
			start = txStart
		}
	case types.ChargingProfileKindRecurring:
		if s.StartSchedule == nil {
			return 0, false
		}
		period := 24 * time.Hour
		if p.RecurrencyKind == types.RecurrencyKindWeekly {
			period *= 7
		}
		base := s.StartSchedule.Time
		if t.Before(base) {
			return 0, false
		}
		start = t.Add(-(t.Sub(base) % period))
	}
	el := t.Sub(start)
	if el < 0 || (s.Duration != nil && el >= time.Duration(*s.Duration)*time.Second) {
		return 0, false
	}
	var per *types.ChargingSchedulePeriod
	for i := range s.ChargingSchedulePeriod {
		if time.Duration(s.ChargingSchedulePeriod[i].StartPeriod)*time.Second <= el {
			per = &s.ChargingSchedulePeriod[i]
		}
	}
	if per == nil {
		return 0, false
	}
	a := per.Limit
	if s.ChargingRateUnit == types.ChargingRateUnitWatts {
		phases := 3 // the 1.6 default when numberPhases is absent
		if per.NumberPhases != nil {
			phases = *per.NumberPhases
		}
		a = per.Limit / (nominalVoltage * float64(phases))
	}
	return a, true
}

// compositeAt is the limit all installed profiles give at t (A per
// phase): the lower of the ChargePointMaxProfile and, during a
// transaction, its TxProfile or else the TxDefaultProfile, each the valid
// profile of the highest stack level.
func (c *Client) compositeAt(t time.Time, profiles []profile, open *openTx, serverTx int) (float64, bool) {
	var txStart time.Time
	if open != nil {
		txStart = open.Start.Time
	}
	best := func(purpose types.ChargingProfilePurposeType) (float64, bool) {
		level, lim, ok := -1, 0.0, false
		for _, q := range profiles {
			p := q.Profile
			if p.ChargingProfilePurpose != purpose || p.StackLevel <= level {
				continue
			}
			if purpose == types.ChargingProfilePurposeTxProfile && (open == nil || (p.TransactionId != 0 && p.TransactionId != serverTx)) {
				continue
			}
			if a, in := profileAt(p, t, txStart); in {
				level, lim, ok = p.StackLevel, a, true
			}
		}
		return lim, ok
	}
	lim, ok := best(types.ChargingProfilePurposeChargePointMaxProfile)
	tx, txOK := best(types.ChargingProfilePurposeTxProfile)
	if !txOK {
		tx, txOK = best(types.ChargingProfilePurposeTxDefaultProfile)
	}
	if txOK && (!ok || tx < lim) {
		lim, ok = tx, true
	}
	return lim, ok
}

// applyLimit puts the composite limit in force as the charger's external
// cap when it changed; TxProfiles end with their transaction.
func (c *Client) applyLimit(now time.Time, w *watcher) {
	c.st.mu.Lock()
	open := c.st.d.Open
	var server int
	if open != nil {
		server = c.st.d.IDs[open.Local]
	}
	lim, ok := c.compositeAt(now, c.st.d.Profiles, open, server)
	c.st.mu.Unlock()
	if !ok || lim >= float64(controller.MaxExternalLimit) {
		lim = -1 // no profile, or one above any installation: no cap
	}
	lim = math.Floor(lim*10) / 10
	if w.limitSet && lim == w.limit {
		return
	}
	l, can := c.o.Charger.(charger.ExternalLimiter)
	if !can {
		return
	}
	if err := l.SetExternalLimit(units.Amps(lim), time.Time{}); err != nil {
		c.log.Error().Err(err).Msg("charging-profile limit not applied")
		return
	}
	c.log.Info().Float64("amps", lim).Msg("charging-profile limit")
	w.limit, w.limitSet = lim, true
}

// OnGetCompositeSchedule reports the composite schedule for the next
// duration seconds (at most a day), sampled by the minute.
func (c *Client) OnGetCompositeSchedule(req *smartcharging.GetCompositeScheduleRequest) (*smartcharging.GetCompositeScheduleConfirmation, error) {
	c.heard()
	if req.ConnectorId > 1 {
		return smartcharging.NewGetCompositeScheduleConfirmation(smartcharging.GetCompositeScheduleStatusRejected), nil
	}
	dur := min(req.Duration, 86400)
	now := time.Now().Truncate(time.Second)
	c.st.mu.Lock()
	open := c.st.d.Open
	var server int
	if open != nil {
		server = c.st.d.IDs[open.Local]
	}
	profiles := slices.Clone(c.st.d.Profiles)
	c.st.mu.Unlock()
	hw := float64(c.o.Charger.Params().HardwareMax)
	unit := req.ChargingRateUnit
	if unit == "" {
		unit = types.ChargingRateUnitAmperes
	}
	sched := types.NewChargingSchedule(unit)
	for s := 0; s == 0 || s < dur; s += 60 {
		a, ok := c.compositeAt(now.Add(time.Duration(s)*time.Second), profiles, open, server)
		if !ok || a > hw {
			a = hw
		}
		v := math.Floor(a*10) / 10
		if unit == types.ChargingRateUnitWatts {
			v = math.Round(a * nominalVoltage * 3)
		}
		if n := len(sched.ChargingSchedulePeriod); n > 0 && sched.ChargingSchedulePeriod[n-1].Limit == v {
			continue
		}
		sched.ChargingSchedulePeriod = append(sched.ChargingSchedulePeriod, types.NewChargingSchedulePeriod(s, v))
	}
	sched.Duration = &dur
	sched.StartSchedule = types.NewDateTime(now)
	conf := smartcharging.NewGetCompositeScheduleConfirmation(smartcharging.GetCompositeScheduleStatusAccepted)
	conf.ConnectorId = &req.ConnectorId
	conf.ScheduleStart = types.NewDateTime(now)
	conf.ChargingSchedule = sched
	return conf, nil
}
