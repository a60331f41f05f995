package controller

import (
	"time"

	"github.com/evse-mqtt/evse-mqtt/units"
)

// Level is a control-pilot state as the EVSE measures it.
type Level int8

// Pilot levels. LevelNone means nothing has been classified yet.
const (
	LevelNone Level = iota
	LevelA
	LevelB
	LevelC
	LevelD
	LevelE
	LevelF       // negative level: only seen while the EVSE drives −12 V
	LevelInvalid // between the bands
)

var levelNames = [...]string{"", "A", "B", "C", "D", "E", "F", "invalid"}

// String returns "A"…"F" or "invalid".
func (l Level) String() string { return levelNames[l] }

// Classify maps the PWM-high voltage to a pilot level on the midpoints of
// the J1772/IEC detection bands (12/9/6/3/0/−12 V).
func Classify(high units.Volts) Level {
	switch {
	case high >= 10.5:
		return LevelA
	case high >= 7.5:
		return LevelB
	case high >= 4.5:
		return LevelC
	case high >= 1.5:
		return LevelD
	case high >= -1.5:
		return LevelE
	case high <= -10.5:
		return LevelF
	}
	return LevelInvalid
}

// diodeLow is the low level above which a running PWM shows a missing or
// shorted EV diode (a good diode lets the EVSE see about −12 V).
const diodeLow units.Volts = -10

// debouncer accepts a new pilot level only once it has been seen for the
// debounce time, so a spike never changes the state. A spell away from
// the accepted level that lasts the debounce time counts even when no
// single level held that long (a fast unplug and replug reads A, A, B, D):
// the level returned to must then prove stable anew (since), and if the
// spell showed A the vehicle was unplugged, so A is accepted and the
// plug-in ends.
type debouncer struct {
	level     Level // accepted level
	since     time.Time
	cand      Level
	candSince time.Time
	awaySince time.Time // first sample of the current spell away from level; zero when none
	awayA     bool      // that spell showed A
	left      bool      // that spell lasted the debounce time
}

func (d *debouncer) update(l Level, now time.Time, deb time.Duration) {
	if l == d.level {
		if d.left {
			d.since = now // the level was left: it counts as new
		}
		d.cand, d.awaySince, d.awayA, d.left = LevelNone, time.Time{}, false, false
		return
	}
	if d.awaySince.IsZero() {
		d.awaySince = now
	}
	d.awayA = d.awayA || l == LevelA
	d.left = d.left || now.Sub(d.awaySince) >= deb
	if l != d.cand {
		d.cand, d.candSince = l, now
	}
	switch {
	case now.Sub(d.candSince) >= deb || d.level == LevelNone:
		d.accept(l, now)
	case d.left && d.awayA && connected(d.level):
		// The unplug happened; what follows is a new plug-in, which the
		// current candidate has to prove from now on.
		d.level, d.since = LevelA, now
		d.awaySince, d.awayA, d.left = now, false, false
		if l == LevelA {
			d.cand = LevelNone
			d.awaySince = time.Time{}
		}
	}
}

func (d *debouncer) accept(l Level, now time.Time) {
	d.level, d.since = l, now
	d.cand, d.awaySince, d.awayA, d.left = LevelNone, time.Time{}, false, false
}
