// Package pspbox is a client for the WebAPI v1 of a PSP EVSE v1.0 charger
// box (../shared/spec/webapi-v1.md): strict, bounded decoders for every
// answer the box gives, and writes that are safe on a box whose start/stop
// and boost are toggles.
//
// The box is untrusted input. Every answer is read through a 64 KiB limit
// and a deadline; a document that is not what the guide describes is an
// error with a short, bounded message, never a panic or a hang. Unknown
// fields are ignored, numbers may come as floats, and old firmware without
// ActualDurationTotalSeconds (added in the guide's v1.1) is read through
// ActualDuration.
//
// Writes are serialised. SetCharging and SetBoost read the state first,
// send at most one toggle, and confirm by reading it back; a toggle whose
// answer is lost is never resent, because the box may have applied it.
package pspbox
