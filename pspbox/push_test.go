package pspbox

import (
	"fmt"
	"testing"
	"time"

	"github.com/evse-mqtt/evse-mqtt/units"
)

// TestPushPolicy walks a time series: {elapsed since start, wanted power,
// whether a push is due, and — when pushed — the box's result and the
// action expected}.
func TestPushPolicy(t *testing.T) {
	notSet, down := ErrSupervisorNotSet, fmt.Errorf("%w: timeout", ErrUnreachable)
	refused := fmt.Errorf("%w: EVSEPowerAvailable answered \"refused: request from 10.0.0.9\"", ErrRefused)
	type step struct {
		at     time.Duration
		want   units.Watts
		due    bool
		result error
		action PushAction
	}
	for _, tc := range []struct {
		name  string
		steps []step
	}{
		{"first value, change, refresh every 10 s", []step{
			{0, 4600, true, nil, PushOK},
			{time.Second, 4600, false, nil, 0},
			{2 * time.Second, 5000, true, nil, PushOK}, // a change goes at once
			{11 * time.Second, 5000, false, nil, 0},
			{12 * time.Second, 5000, true, nil, PushOK}, // 10 s after the last push
			{13 * time.Second, 0, true, nil, PushOK},    // a fallback of 0 W is a change too
		}},
		{"supervisor IP not set backs off 1, 2, 4 s and asks for set-up", []step{
			{0, 4600, true, notSet, PushSetup},
			{500 * time.Millisecond, 4600, false, nil, 0},
			{time.Second, 4600, true, notSet, PushSetup},
			{2500 * time.Millisecond, 3000, false, nil, 0}, // even a change waits: no quick loop
			{3 * time.Second, 4600, true, notSet, PushSetup},
			{6 * time.Second, 4600, false, nil, 0},
			{7 * time.Second, 4600, true, nil, PushOK},
			{8 * time.Second, 4600, false, nil, 0}, // success resets the backoff
		}},
		{"a refusal from another address asks for set-up", []step{
			{0, 4600, true, refused, PushSetup},
		}},
		{"unreachable retries, capped at 60 s", []step{
			{0, 1, true, down, PushRetry},
			{1 * time.Second, 1, true, down, PushRetry},
			{3 * time.Second, 1, true, down, PushRetry},
			{7 * time.Second, 1, true, down, PushRetry},
			{15 * time.Second, 1, true, down, PushRetry},
			{31 * time.Second, 1, true, down, PushRetry},
			{63 * time.Second, 1, true, down, PushRetry}, // 64 s would be next: capped to 60
			{122 * time.Second, 1, false, nil, 0},
			{123 * time.Second, 1, true, nil, PushOK},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var p PushPolicy
			start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
			for i, s := range tc.steps {
				now := start.Add(s.at)
				if got := p.Due(now, s.want); got != s.due {
					t.Fatalf("step %d (%v, %v W): due %t, want %t", i, s.at, s.want, got, s.due)
				}
				if !s.due {
					continue
				}
				if got := p.Done(now, s.want, s.result); got != s.action {
					t.Fatalf("step %d: action %v, want %v", i, got, s.action)
				}
			}
		})
	}
}
