package webapi

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// Wrong credentials on a write are answered only after a hold that
// doubles up to MaxBackoff; the right ones pass at once, right after
// any number of failures (a holder is never locked out); other clients
// are never held; a write without credentials is no guess and is not
// held.
func TestWrongCredentialsHeldRightOnesPass(t *testing.T) {
	r := newRig(t, rigOpt{config: func(c *Config) { c.Username, c.Password = "evse", "s3cret" }})
	var held []time.Duration
	r.srv.throttle.hold = func(_ context.Context, d time.Duration) { held = append(held, d) }
	const attacker, user = "192.168.1.66:1", "192.168.1.5:1"
	body := `{"ChargeCurrent":10}`
	for i := range 9 {
		if x := r.do("POST", "/webapi/v1/SystemConfig", body, attacker, "Authorization", basic("evse", "guess")); x.code != 401 {
			t.Fatalf("guess %d: %d %s", i, x.code, x.body)
		}
		if x := r.do("POST", "/webapi/v1/SystemConfig", body, user, "Authorization", basic("evse", "s3cret")); x.code != 200 {
			t.Fatalf("another client was held: %d %s", x.code, x.body)
		}
	}
	want := []time.Duration{1, 2, 4, 8, 16, 32, 60, 60, 60}
	if len(held) != len(want) {
		t.Fatalf("held %d answers, want %d", len(held), len(want))
	}
	for i := range want {
		if held[i] != want[i]*time.Second {
			t.Errorf("hold after failure %d: %v, want %v", i+1, held[i], want[i]*time.Second)
		}
	}
	if x := r.do("POST", "/webapi/v1/SystemConfig", body, attacker, "Authorization", basic("evse", "s3cret")); x.code != 200 {
		t.Fatalf("the right password after nine failures: %d %s", x.code, x.body)
	}
	if x := r.do("POST", "/webapi/v1/SystemConfig", body, attacker); x.code != 401 {
		t.Fatalf("no credentials: %d", x.code)
	}
	if len(held) != len(want) {
		t.Error("a success or a write without credentials was held")
	}
	// A success cleared the count: the next failure is held FirstBackoff.
	r.do("POST", "/webapi/v1/SystemConfig", body, attacker, "Authorization", basic("evse", "guess"))
	if got := held[len(held)-1]; got != FirstBackoff {
		t.Errorf("after a success the next failure is held %v, want %v", got, FirstBackoff)
	}
}

// While a client's failure is held its next attempt waits for it and is
// then judged (the right credentials get in); one that cannot get the
// client's turn in time is refused without being judged, so parallel
// guesses gain nothing. IPv6 counts by /64. The page's login shares the
// throttle.
func TestOneAttemptJudgedAtATime(t *testing.T) {
	r := newRig(t, rigOpt{config: func(c *Config) { c.Token = "s3cret-token" }})
	th := r.srv.throttle
	holding, release := make(chan struct{}), make(chan struct{})
	th.hold = func(context.Context, time.Duration) { holding <- struct{}{}; <-release }

	failed := make(chan int)
	go func() {
		failed <- r.do("POST", "/webapi/v1/SystemConfig", `{"ChargeCurrent":10}`, "[fd00:db8::1]:1", "Authorization", "Bearer guess").code
	}()
	<-holding

	th.wait = time.Millisecond
	login := httptest.NewRequest(http.MethodPost, "/api/v1/login", nil)
	login.RemoteAddr, login.Host = "[fd00:db8::2]:1", rigHost
	login.Header.Set("Authorization", "Bearer s3cret-token")
	if err := r.srv.Login(login); err != ErrBusy {
		t.Fatalf("a parallel login of the same /64: %v, want ErrBusy", err)
	}
	th.wait = SlotWait
	ok := make(chan int)
	go func() {
		ok <- r.do("POST", "/webapi/v1/SystemConfig", `{"ChargeCurrent":11}`, "[fd00:db8::3]:1", "Authorization", "Bearer s3cret-token").code
	}()
	select {
	case c := <-ok:
		t.Fatalf("judged while the client's failure was held: %d", c)
	case <-time.After(20 * time.Millisecond): // still waiting, as it must
	}
	close(release)
	if c := <-failed; c != 401 {
		t.Fatalf("the held failure answered %d", c)
	}
	if c := <-ok; c != 200 {
		t.Fatalf("the waiting right token: %d", c)
	}
	th.mu.Lock()
	n := len(th.slots)
	th.mu.Unlock()
	if n != 0 {
		t.Errorf("%d slots left behind", n)
	}
}

func basic(user, pass string) string {
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req.SetBasicAuth(user, pass)
	return req.Header.Get("Authorization")
}
