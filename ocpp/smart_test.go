package ocpp

import (
	"testing"
	"time"

	"github.com/lorenzodonini/ocpp-go/ocpp1.6/smartcharging"
	"github.com/lorenzodonini/ocpp-go/ocpp1.6/types"
)

func prof(id, level int, purpose types.ChargingProfilePurposeType, unit types.ChargingRateUnitType, periods ...types.ChargingSchedulePeriod) types.ChargingProfile {
	return *types.NewChargingProfile(id, level, purpose, types.ChargingProfileKindRelative, types.NewChargingSchedule(unit, periods...))
}

func per(start int, limit float64, phases int) types.ChargingSchedulePeriod {
	p := types.NewChargingSchedulePeriod(start, limit)
	if phases > 0 {
		p.NumberPhases = &phases
	}
	return p
}

// The composite: the lower of ChargePointMax and (TxProfile, else
// TxDefault), each the valid profile of the highest stack level; W
// converted with numberPhases (3 when absent); validity windows and
// schedule periods respected.
func TestComposite(t *testing.T) {
	c := &Client{}
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	open := &openTx{Local: 1, Start: types.DateTime{Time: now.Add(-10 * time.Minute)}}
	cpMax := profile{0, prof(1, 0, types.ChargingProfilePurposeChargePointMaxProfile, types.ChargingRateUnitAmperes, per(0, 20, 0))}
	def := profile{0, prof(2, 0, types.ChargingProfilePurposeTxDefaultProfile, types.ChargingRateUnitAmperes, per(0, 16, 0))}
	tx0 := profile{1, prof(3, 0, types.ChargingProfilePurposeTxProfile, types.ChargingRateUnitAmperes, per(0, 10, 0))}
	txW3 := profile{1, prof(4, 1, types.ChargingProfilePurposeTxProfile, types.ChargingRateUnitWatts, per(0, 8280, 3))}
	txW1 := profile{1, prof(5, 2, types.ChargingProfilePurposeTxProfile, types.ChargingRateUnitWatts, per(0, 2300, 1))}
	txWdef := profile{1, prof(6, 3, types.ChargingProfilePurposeTxProfile, types.ChargingRateUnitWatts, per(0, 4140, 0))}
	stepped := profile{1, prof(7, 4, types.ChargingProfilePurposeTxProfile, types.ChargingRateUnitAmperes, per(0, 6, 0), per(900, 13, 0))}
	expired := prof(8, 5, types.ChargingProfilePurposeTxProfile, types.ChargingRateUnitAmperes, per(0, 7, 0))
	expired.ValidTo = types.NewDateTime(now.Add(-time.Second))
	future := prof(9, 6, types.ChargingProfilePurposeTxProfile, types.ChargingRateUnitAmperes, per(0, 8, 0))
	future.ValidFrom = types.NewDateTime(now.Add(time.Hour))
	other := prof(10, 7, types.ChargingProfilePurposeTxProfile, types.ChargingRateUnitAmperes, per(0, 6, 0))
	other.TransactionId = 999
	daily := prof(11, 1, types.ChargingProfilePurposeChargePointMaxProfile, types.ChargingRateUnitAmperes, per(0, 8, 0), per(3600, 32, 0))
	daily.ChargingProfileKind, daily.RecurrencyKind = types.ChargingProfileKindRecurring, types.RecurrencyKindDaily
	daily.ChargingSchedule.StartSchedule = types.NewDateTime(time.Date(2026, 1, 1, 11, 30, 0, 0, time.UTC)) // 8 A from 11:30 to 12:30 every day

	for _, c2 := range []struct {
		name     string
		profiles []profile
		open     *openTx
		want     float64
		ok       bool
	}{
		{"none", nil, open, 0, false},
		{"ChargePointMax alone", []profile{cpMax}, nil, 20, true},
		{"TxDefault without a transaction", []profile{cpMax, def}, nil, 16, true},
		{"TxProfile wins over TxDefault", []profile{cpMax, def, tx0}, open, 10, true},
		{"TxProfile ignored without a transaction", []profile{cpMax, def, tx0}, nil, 16, true},
		{"never above ChargePointMax", []profile{{0, prof(1, 0, types.ChargingProfilePurposeChargePointMaxProfile, types.ChargingRateUnitAmperes, per(0, 9, 0))}, tx0}, open, 9, true},
		{"higher stack, W on 3 phases", []profile{tx0, txW3}, open, 12, true},
		{"W on 1 phase", []profile{tx0, txW3, txW1}, open, 10, true},
		{"W without numberPhases is 3 phases", []profile{tx0, txW3, txW1, txWdef}, open, 6, true},
		{"second period after 15 min of the transaction", []profile{stepped}, &openTx{Local: 1, Start: types.DateTime{Time: now.Add(-16 * time.Minute)}}, 13, true},
		{"first period at the start", []profile{stepped}, &openTx{Local: 1, Start: types.DateTime{Time: now.Add(-time.Minute)}}, 6, true},
		{"expired and future profiles skipped", []profile{tx0, {1, expired}, {1, future}}, open, 10, true},
		{"another transaction's profile skipped", []profile{tx0, {1, other}}, open, 10, true},
		{"daily recurring window", []profile{cpMax, {0, daily}}, nil, 8, true},
	} {
		got, ok := c.compositeAt(now, c2.profiles, c2.open, 101)
		if ok != c2.ok || (ok && (got < c2.want-1e-9 || got > c2.want+1e-9)) {
			t.Errorf("%s: %v %v, want %v %v", c2.name, got, ok, c2.want, c2.ok)
		}
	}
	// At 13:00 the daily profile's second period (32 A) is in force: the
	// higher stack level wins within a purpose, even when it is higher.
	if got, _ := c.compositeAt(now.Add(time.Hour), []profile{cpMax, {0, daily}}, nil, 0); got != 32 {
		t.Errorf("after the daily window: %v", got)
	}
}

// Installing: a TxProfile needs a transaction; a bad shape is Rejected
// and nothing changes; an accepted profile is persisted, applied as the
// charger's cap, and cleared again.
func TestSetAndClearProfiles(t *testing.T) {
	c, f := newTestClient(t, "ws://127.0.0.1:1/ocpp", time.Minute)
	w := &watcher{}
	set := func(conn int, p types.ChargingProfile) smartcharging.ChargingProfileStatus {
		r, _ := c.OnSetChargingProfile(smartcharging.NewSetChargingProfileRequest(conn, &p))
		return r.Status
	}
	tx := prof(1, 0, types.ChargingProfilePurposeTxProfile, types.ChargingRateUnitAmperes, per(0, 10, 0))
	if s := set(1, tx); s != smartcharging.ChargingProfileStatusRejected {
		t.Errorf("TxProfile without a transaction: %v", s)
	}
	bad := prof(2, 0, types.ChargingProfilePurposeTxDefaultProfile, types.ChargingRateUnitAmperes, per(5, 10, 0))
	if s := set(1, bad); s != smartcharging.ChargingProfileStatusRejected {
		t.Errorf("first period not at 0: %v", s)
	}
	deep := prof(3, maxStackLevel+1, types.ChargingProfilePurposeTxDefaultProfile, types.ChargingRateUnitAmperes, per(0, 10, 0))
	if s := set(1, deep); s != smartcharging.ChargingProfileStatusRejected {
		t.Errorf("stack level too deep: %v", s)
	}
	cpmax := prof(4, 0, types.ChargingProfilePurposeChargePointMaxProfile, types.ChargingRateUnitAmperes, per(0, 10, 0))
	if s := set(1, cpmax); s != smartcharging.ChargingProfileStatusRejected {
		t.Errorf("ChargePointMaxProfile on connector 1: %v", s)
	}
	if len(c.st.d.Profiles) != 0 {
		t.Fatalf("refused profiles installed: %+v", c.st.d.Profiles)
	}
	def := prof(5, 0, types.ChargingProfilePurposeTxDefaultProfile, types.ChargingRateUnitWatts, per(0, 6900, 3))
	if s := set(0, def); s != smartcharging.ChargingProfileStatusAccepted {
		t.Fatalf("TxDefaultProfile: %v", s)
	}
	c.applyLimit(time.Now(), w)
	if f.externalLimit() != 10 {
		t.Errorf("cap %v, want 10 A (6900 W on 3 phases)", f.externalLimit())
	}
	reopened, err := openStore(c.o.StateDir)
	if err != nil || len(reopened.d.Profiles) != 1 || reopened.d.Profiles[0].Profile.ChargingProfileId != 5 {
		t.Fatalf("not persisted: %+v %v", reopened.d.Profiles, err)
	}
	id := 5
	if r, _ := c.OnClearChargingProfile(&smartcharging.ClearChargingProfileRequest{Id: &id}); r.Status != smartcharging.ClearChargingProfileStatusAccepted {
		t.Errorf("clear: %v", r.Status)
	}
	if r, _ := c.OnClearChargingProfile(&smartcharging.ClearChargingProfileRequest{Id: &id}); r.Status != smartcharging.ClearChargingProfileStatusUnknown {
		t.Errorf("clear again: %v", r.Status)
	}
	c.applyLimit(time.Now(), w)
	if f.externalLimit() >= 0 {
		t.Errorf("cap %v after clearing, want none", f.externalLimit())
	}
}
