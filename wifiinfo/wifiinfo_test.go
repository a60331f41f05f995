package wifiinfo

import (
	"errors"
	"fmt"
	"testing"
	"time"
)

type baseHost struct{}

func (baseHost) WiFi() (string, int, int, bool) { return "wlan0", -60, 57, true }
func (baseHost) MAC() string                    { return "AA:BB:CC:DD:EE:FF" }
func (baseHost) Heap() (uint64, uint64)         { return 1, 2 }

// status and sysinfo format the way the WebAPI does (webapi/host.go).
func status(name string, _, pct int) string { return fmt.Sprintf("%s:%d%%", name, pct) }
func sysinfo(name string, dbm, pct int) string {
	return fmt.Sprintf("%s,RSSI:%ddB/%d%%", name, dbm, pct)
}

func TestWiFiInfo(t *testing.T) {
	for _, c := range []struct {
		name       string
		link       Link
		err        error
		st, sysinf string
	}{
		{"connected", Link{Present: true, SSID: "559EVSE", DBm: -49}, nil, "559EVSE:100%", "559EVSE,RSSI:-49dB/100%"},
		{"weak", Link{Present: true, SSID: "garage", DBm: -84}, nil, "garage:32%", "garage,RSSI:-84dB/32%"},
		{"no WiFi", Link{}, nil, "no WiFi:0%", "no WiFi,RSSI:0dB/0%"},
		{"not associated", Link{Present: true}, nil, "not connected:0%", "not connected,RSSI:0dB/0%"},
		{"nl80211 refused", Link{}, errors.New("permission denied"), "wlan0:57%", "wlan0,RSSI:-60dB/57%"},
	} {
		h := NewWith(baseHost{}, func() (Link, error) { return c.link, c.err }, time.Now)
		name, dbm, pct, ok := h.WiFi()
		if !ok || status(name, dbm, pct) != c.st || sysinfo(name, dbm, pct) != c.sysinf {
			t.Errorf("%s: %q / %q (ok %v), want %q / %q", c.name, status(name, dbm, pct), sysinfo(name, dbm, pct), ok, c.st, c.sysinf)
		}
		if h.MAC() != "AA:BB:CC:DD:EE:FF" {
			t.Errorf("%s: MAC not from the base host", c.name)
		}
	}
}

func TestWiFiCached(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	calls := 0
	h := NewWith(baseHost{}, func() (Link, error) { calls++; return Link{Present: true, SSID: "a", DBm: -70}, nil }, func() time.Time { return now })
	h.WiFi()
	now = now.Add(4 * time.Second)
	h.WiFi()
	if calls != 1 {
		t.Fatalf("%d nl80211 reads within the cache time, want 1", calls)
	}
	now = now.Add(2 * time.Second)
	h.WiFi()
	if calls != 2 {
		t.Fatalf("%d reads after the cache time, want 2", calls)
	}
}

// TestNL80211HereDoesNotFail: on this machine (with or without WiFi) the
// real reader answers without an error, or with one the Host falls back
// on; it must not panic or hang.
func TestNL80211HereDoesNotFail(t *testing.T) {
	l, err := NL80211()
	t.Logf("nl80211 here: %+v, %v", l, err)
}
