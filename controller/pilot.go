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
// debounce time, so a spike never changes the state.
type debouncer struct {
	level     Level // accepted level
	since     time.Time
	cand      Level
	candSince time.Time
}

func (d *debouncer) update(l Level, now time.Time, deb time.Duration) {
	if l == d.level {
		d.cand = LevelNone
		return
	}
	if l != d.cand {
		d.cand, d.candSince = l, now
	}
	if now.Sub(d.candSince) >= deb || d.level == LevelNone {
		d.level, d.since = l, now
		d.cand = LevelNone
	}
}
