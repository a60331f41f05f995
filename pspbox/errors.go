package pspbox

import "errors"

// Errors callers act on; match them with errors.Is.
var (
	// ErrUnreachable: the box did not answer (refused, reset, timed out).
	ErrUnreachable = errors.New("charger unreachable")
	// ErrBadAnswer: the box answered with something that is not the
	// document the guide describes (garbage, too large, out of range).
	ErrBadAnswer = errors.New("bad answer from the box")
	// ErrRefused: the box understood the request and refused it.
	ErrRefused = errors.New("refused by the box")
	// ErrSupervisorNotSet: the box refused EVSEPowerAvailable because it
	// has no external supervisor (Meter2Type 7 with Meter2Ip).
	ErrSupervisorNotSet = errors.New("supervisor IP not set")
	// ErrUnconfirmed: a write was sent but reading back did not show it
	// in force (or the read back failed). It is never resent.
	ErrUnconfirmed = errors.New("write not confirmed by the box")
	// ErrInvalid: the request breaks our own rules; nothing was sent.
	ErrInvalid = errors.New("invalid request")
)
