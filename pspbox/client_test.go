package pspbox_test

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/evse-mqtt/evse-mqtt/pspbox"
	"github.com/evse-mqtt/evse-mqtt/pspbox/fakebox"
)

// rig is a fake box and a client of it.
type rig struct {
	box *fakebox.Box
	c   *pspbox.Client
	ctx context.Context
}

func newRig(t *testing.T, mod ...func(*pspbox.Options)) *rig {
	t.Helper()
	box, err := fakebox.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(box.Close)
	o := pspbox.Options{URL: box.URL(), Timeout: time.Second, ConfirmWithin: 200 * time.Millisecond, ConfirmInterval: time.Millisecond}
	for _, m := range mod {
		m(&o)
	}
	c, err := pspbox.New(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return &rig{box, c, t.Context()}
}

// count returns how many requests of method to doc the box received.
func (r *rig) count(method, doc string) int {
	n := 0
	for _, q := range r.box.Requests() {
		if q.Method == method && q.Doc == doc {
			n++
		}
	}
	return n
}

func TestSetChargingSendsOneToggle(t *testing.T) {
	for _, tc := range []struct {
		name          string
		started       bool
		calls         []bool
		wantToggles   int
		wantStartedAt bool
	}{
		{"ON twice sends one toggle", false, []bool{true, true}, 1, true},
		{"OFF when off sends none", false, []bool{false}, 0, false},
		{"ON, OFF, ON sends three", false, []bool{true, false, true}, 3, true},
		{"OFF twice when on sends one", true, []bool{false, false}, 1, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t)
			r.box.Plug(true)
			r.box.SetCharging(tc.started)
			for _, on := range tc.calls {
				got, err := r.c.SetCharging(r.ctx, on)
				if err != nil || got != on {
					t.Fatalf("SetCharging(%t) = %t, %v", on, got, err)
				}
			}
			if n := r.box.Toggles("ChargeStartToggle"); n != tc.wantToggles {
				t.Errorf("%d toggles applied, want %d", n, tc.wantToggles)
			}
			if n := len(r.box.Posts("EvseCtrl")); n != tc.wantToggles {
				t.Errorf("%d EvseCtrl posts, want %d", n, tc.wantToggles)
			}
			if started, _ := r.box.Charging(); started != tc.wantStartedAt {
				t.Errorf("box ChargerStarted %t", started)
			}
		})
	}
}

func TestToggleLostInFlight(t *testing.T) {
	for _, tc := range []struct {
		name    string
		applied bool
		want    bool
		wantErr error
	}{
		// The box applied it and the answer was lost: the read back
		// shows it, and that is success — one toggle, no second.
		{"applied, answer lost", true, true, nil},
		// The request died before the box applied it: the read back shows
		// no change; the call fails and does not try again, because a
		// second toggle could cancel a first that arrives late.
		{"not applied", false, false, pspbox.ErrUnconfirmed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t)
			r.box.Plug(true)
			r.box.DropToggles(1, tc.applied)
			got, err := r.c.SetCharging(r.ctx, true)
			if got != tc.want || !errors.Is(err, tc.wantErr) {
				t.Fatalf("SetCharging = %t, %v; want %t, %v", got, err, tc.want, tc.wantErr)
			}
			if n := len(r.box.Posts("EvseCtrl")); n != 1 {
				t.Fatalf("%d toggles sent, want exactly 1", n)
			}
			if reads := r.count("GET", "Status"); reads < 2 {
				t.Errorf("%d Status reads: the toggle was not read back", reads)
			}
			// A later command is a new decision on the state it reads,
			// not a replay: it sends no toggle when the first applied.
			got, err = r.c.SetCharging(r.ctx, true)
			if err != nil || !got {
				t.Fatalf("second SetCharging = %t, %v", got, err)
			}
			wantPosts := map[bool]int{true: 1, false: 2}[tc.applied]
			if n := len(r.box.Posts("EvseCtrl")); n != wantPosts {
				t.Errorf("%d toggles sent in all, want %d", n, wantPosts)
			}
		})
	}
}

func TestToggleConfirmWaitsForALateState(t *testing.T) {
	r := newRig(t)
	r.box.Plug(true)
	r.box.LagReads(3)
	got, err := r.c.SetCharging(r.ctx, true)
	if err != nil || !got {
		t.Fatalf("SetCharging = %t, %v", got, err)
	}
	if n := r.box.Toggles("ChargeStartToggle"); n != 1 {
		t.Errorf("%d toggles", n)
	}
	if reads := r.count("GET", "Status"); reads != 5 { // the first, three late, one that shows it
		t.Errorf("%d Status reads, want 5", reads)
	}
}

func TestToggleAnswerSlowerThanTimeout(t *testing.T) {
	r := newRig(t, func(o *pspbox.Options) { o.Timeout = 100 * time.Millisecond })
	r.box.Plug(true)
	r.box.SetQuirks(fakebox.Quirks{Doc: "EvseCtrl", Slow: time.Minute})
	start := time.Now()
	got, err := r.c.SetCharging(r.ctx, true)
	if got || !errors.Is(err, pspbox.ErrUnconfirmed) {
		t.Fatalf("SetCharging = %t, %v", got, err)
	}
	if el := time.Since(start); el > 5*time.Second {
		t.Errorf("took %v", el)
	}
	if n := len(r.box.Posts("EvseCtrl")); n != 1 {
		t.Errorf("%d toggles sent", n)
	}
}

func TestBoost(t *testing.T) {
	r := newRig(t)
	r.box.Plug(true)
	// No session: the box refuses; one read back, no second toggle.
	if got, err := r.c.SetBoost(r.ctx, true); got || !errors.Is(err, pspbox.ErrRefused) {
		t.Fatalf("SetBoost without a session = %t, %v", got, err)
	}
	if n := len(r.box.Posts("EvseCtrl")); n != 1 {
		t.Fatalf("%d posts", n)
	}
	if _, err := r.c.SetCharging(r.ctx, true); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if got, err := r.c.SetBoost(r.ctx, true); err != nil || !got {
			t.Fatalf("SetBoost = %t, %v", got, err)
		}
	}
	if n := r.box.Toggles("ChargeBoostToggle"); n != 1 {
		t.Errorf("%d boost toggles", n)
	}
}

func TestWritersAreSerialised(t *testing.T) {
	r := newRig(t)
	r.box.Plug(true)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Go(func() {
			if on, err := r.c.SetCharging(r.ctx, true); err != nil || !on {
				errs <- errors.Join(err, errors.New("not on"))
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := r.box.Toggles("ChargeStartToggle"); n != 1 {
		t.Errorf("%d toggles from 8 concurrent ONs, want 1", n)
	}
}

func raw(s string) map[string]json.RawMessage {
	var m map[string]json.RawMessage
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		panic(err)
	}
	return m
}

func TestUpdateConfig(t *testing.T) {
	for _, tc := range []struct {
		name     string
		hwMax    int
		req      string
		wantPost string // "" when nothing may be sent
		wantErr  error
		check    func(fakebox.Config) bool
	}{
		{"only changed fields are sent", 0, `{"ChargeCurrent":10,"ChargeCurrentBoost":32,"Charge3Phase":true}`,
			`{"ChargeCurrent":10}`, nil, func(c fakebox.Config) bool { return c.ChargeCurrent == 10 }},
		{"no change sends nothing", 0, `{"ChargeCurrent":16}`, "", nil,
			func(c fakebox.Config) bool { return c.ChargeCurrent == 16 }},
		{"an IP meter type carries its address", 0, `{"Meter1Type":4,"Meter1Ip":"192.168.0.30"}`,
			`{"Meter1Type":4,"Meter1Ip":"192.168.0.30"}`, nil, func(c fakebox.Config) bool { return c.Meter1Type == 4 }},
		{"our rules refuse before sending", 0, `{"ChargeCurrent":40}`, "", pspbox.ErrInvalid,
			func(c fakebox.Config) bool { return c.ChargeCurrent == 16 }},
		{"an IP type without its address is refused by our rules", 0, `{"Meter2Type":5}`, "", pspbox.ErrInvalid,
			func(c fakebox.Config) bool { return c.Meter2Type == 0 }},
		{"unknown field refused by our rules", 0, `{"Bogus":1}`, "", pspbox.ErrInvalid, func(fakebox.Config) bool { return true }},
		{"the box's own range refuses, nothing applied", 40, `{"ChargeCurrent":40,"ChargeCurrentBoost":40}`,
			`{"ChargeCurrent":40,"ChargeCurrentBoost":40}`, pspbox.ErrRefused, func(c fakebox.Config) bool { return c.ChargeCurrent == 16 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t, func(o *pspbox.Options) { o.HardwareMax = tc.hwMax })
			got, err := r.c.UpdateConfig(r.ctx, raw(tc.req))
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("UpdateConfig: %v, want %v", err, tc.wantErr)
			}
			posts := r.box.Posts("SystemConfig")
			switch {
			case tc.wantPost == "" && len(posts) != 0:
				t.Errorf("sent %q", posts)
			case tc.wantPost != "" && (len(posts) != 1 || posts[0] != tc.wantPost):
				t.Errorf("sent %q, want [%s]", posts, tc.wantPost)
			}
			if !tc.check(r.box.Config()) {
				t.Errorf("box config %+v", r.box.Config())
			}
			if err == nil && got.ChargeCurrent != r.box.Config().ChargeCurrent {
				t.Errorf("returned %+v, box has %+v", got.Settings, r.box.Config())
			}
			if err != nil && len(err.Error()) > 700 {
				t.Errorf("error of %d bytes", len(err.Error()))
			}
		})
	}
}

// TestConfigWriteLostInFlight: the answer to POST SystemConfig is lost;
// the GET decides, and the write is not sent again.
func TestConfigWriteLostInFlight(t *testing.T) {
	for _, applied := range []bool{true, false} {
		r := newRig(t)
		r.box.DropConfigWrites(1, applied)
		got, err := r.c.UpdateConfig(r.ctx, raw(`{"ChargeCurrent":10}`))
		want := map[bool]int{true: 10, false: 16}[applied]
		if applied && err != nil || !applied && !errors.Is(err, pspbox.ErrUnconfirmed) {
			t.Errorf("applied=%t: err %v", applied, err)
		}
		if got.ChargeCurrent != want || r.box.Config().ChargeCurrent != want {
			t.Errorf("applied=%t: returned %d, box %d, want %d", applied, got.ChargeCurrent, r.box.Config().ChargeCurrent, want)
		}
		if n := len(r.box.Posts("SystemConfig")); n != 1 {
			t.Errorf("applied=%t: %d posts, want 1", applied, n)
		}
	}
}

func TestUpdateConfigNotSentBlind(t *testing.T) {
	r := newRig(t)
	r.box.SetQuirks(fakebox.Quirks{Doc: "SystemConfig", Garbage: true})
	// GET SystemConfig is garbage too: the write must not be sent blind.
	if _, err := r.c.UpdateConfig(r.ctx, raw(`{"ChargeCurrent":10}`)); !errors.Is(err, pspbox.ErrBadAnswer) {
		t.Fatalf("err %v", err)
	}
	if n := len(r.box.Posts("SystemConfig")); n != 0 {
		t.Fatalf("%d posts on an unreadable config", n)
	}
}

func TestReadDocuments(t *testing.T) {
	r := newRig(t)
	si, err := r.c.SystemInfo(r.ctx)
	if err != nil || si.MAC != "E0:E2:E6:52:AA:D4" || si.ProductType != "01100200" {
		t.Fatalf("SystemInfo %+v %v", si, err)
	}
	m, err := r.c.Meter(r.ctx, 1)
	if err != nil || len(m.Registers) != 9 || m.Registers[0].Value != 475.2041931152344 || m.Registers[8].Valid() {
		t.Fatalf("Meter1 %+v %v", m, err)
	}
	m, err = r.c.Meter(r.ctx, 2) // Meter2Type 0: no registers
	if err != nil || len(m.Registers) != 0 {
		t.Fatalf("Meter2 %+v %v", m, err)
	}
	if _, err := r.c.Meter(r.ctx, 3); !errors.Is(err, pspbox.ErrInvalid) {
		t.Errorf("Meter3: %v", err)
	}
}

func TestServiceCode(t *testing.T) {
	r := newRig(t)
	r.box.Plug(true)
	r.box.SetCharging(true)
	got, err := r.c.ServiceCode(r.ctx, "reset")
	if err != nil || got != "Performing" {
		t.Fatalf("Reset: %q %v", got, err)
	}
	if started, _ := r.box.Charging(); started {
		t.Error("Reset did not reach the box")
	}
	if posts := r.box.Posts("SystemInfo"); len(posts) != 1 || posts[0] != `{"SCode":"Reset","SCodeData":""}` {
		t.Errorf("sent %q", posts)
	}
	if _, err := r.c.ServiceCode(r.ctx, "Format"); !errors.Is(err, pspbox.ErrInvalid) {
		t.Errorf("unknown code: %v", err)
	}
	if n := len(r.box.Posts("SystemInfo")); n != 1 {
		t.Errorf("%d posts", n)
	}
}

func TestWriterWaitHonoursContext(t *testing.T) {
	r := newRig(t, func(o *pspbox.Options) { o.Timeout = 300 * time.Millisecond })
	r.box.Plug(true)
	r.box.SetQuirks(fakebox.Quirks{Doc: "EvseCtrl", Slow: time.Minute})
	done := make(chan struct{})
	go func() {
		defer close(done)
		r.c.SetCharging(r.ctx, true) // holds the writer's turn for the timeout
	}()
	// Wait until the first writer's toggle has reached the box.
	deadline := time.Now().Add(5 * time.Second)
	for len(r.box.Posts("EvseCtrl")) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("first toggle never reached the box")
		}
		time.Sleep(time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(r.ctx, 50*time.Millisecond)
	defer cancel()
	if _, err := r.c.SetPowerAvailable(ctx, 1000); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("second writer: %v", err)
	}
	<-done
}

func TestNewRefusesBadURL(t *testing.T) {
	for _, u := range []string{"", "192.168.0.17", "ftp://box", "http://", "http://box/?x=1", "http://user:pw@box"} {
		if _, err := pspbox.New(pspbox.Options{URL: u}); err == nil {
			t.Errorf("%q accepted", u)
		}
	}
	c, err := pspbox.New(pspbox.Options{URL: "http://192.168.0.17/"})
	if err != nil || c.URL() != "http://192.168.0.17/webapi/v1/" {
		t.Errorf("%v %v", c, err)
	}
}
