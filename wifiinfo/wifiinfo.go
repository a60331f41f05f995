// Package wifiinfo reads the board's wireless link through nl80211 (the
// kernel's WiFi interface, via github.com/mdlayher/wifi): the SSID and
// the signal in dBm, for the WebAPI's WiFiInfo fields — Status
// "SSID:RSSI%", SystemInfo "SSID,RSSI:-49dB/68%". /proc/net/wireless,
// which webapi.SystemHost reads, knows the interface but not the SSID.
package wifiinfo

import (
	"errors"
	"os"
	"sync"
	"time"

	"github.com/mdlayher/wifi"

	"github.com/evse-mqtt/evse-mqtt/webapi"
)

// NoWiFi stands where the SSID belongs when the board has no wireless
// interface, so both WiFiInfo formats say so: "no WiFi:0%" and
// "no WiFi,RSSI:0dB/0%".
const NoWiFi = "no WiFi"

// NotConnected stands where the SSID belongs when the wireless interface
// is not associated with a network.
const NotConnected = "not connected"

// Link is what the wireless interface reports.
type Link struct {
	Present bool   // a station (client) interface exists
	SSID    string // "" when not associated
	DBm     int    // signal of the associated network
}

// Source reads the link; nl80211 on a board, a fake in tests.
type Source func() (Link, error)

// Host is a webapi.Host whose WiFi answer comes from Source; MAC and
// Heap come from the base host. Answers are cached for a few seconds
// because Status is polled often.
type Host struct {
	webapi.Host
	src Source
	now func() time.Time

	mu   sync.Mutex
	at   time.Time
	name string
	dbm  int
	pct  int
	ok   bool
}

// New returns a Host reading the link through nl80211.
func New(base webapi.Host, now func() time.Time) *Host { return NewWith(base, NL80211, now) }

// NewWith returns a Host reading the link from src.
func NewWith(base webapi.Host, src Source, now func() time.Time) *Host {
	return &Host{Host: base, src: src, now: now}
}

// cacheFor is how long a reading is reused.
const cacheFor = 5 * time.Second

// WiFi implements webapi.Host: the SSID, the signal in dBm and a quality
// percentage; on a board without WiFi the NoWiFi text with zeros. When
// nl80211 cannot be asked at all, the base host answers.
func (h *Host) WiFi() (string, int, int, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	now := h.now()
	if !h.at.IsZero() && now.Sub(h.at) < cacheFor && !now.Before(h.at) {
		return h.name, h.dbm, h.pct, h.ok
	}
	h.at = now
	l, err := h.src()
	switch {
	case err != nil:
		h.name, h.dbm, h.pct, h.ok = h.Host.WiFi()
	case !l.Present:
		h.name, h.dbm, h.pct, h.ok = NoWiFi, 0, 0, true
	case l.SSID == "":
		h.name, h.dbm, h.pct, h.ok = NotConnected, 0, 0, true
	default:
		h.name, h.dbm, h.pct, h.ok = l.SSID, l.DBm, Percent(l.DBm), true
	}
	return h.name, h.dbm, h.pct, h.ok
}

// Percent maps a signal level to the usual 0–100 % quality:
// 2 × (dBm + 100), so −100 dBm is 0 % and −50 dBm or better 100 %.
func Percent(dBm int) int { return min(max(2*(dBm+100), 0), 100) }

// NL80211 reads the first station interface through nl80211. A kernel
// without nl80211 (no WiFi driver at all) reads as no interface.
func NL80211() (Link, error) {
	c, err := wifi.New()
	if errors.Is(err, os.ErrNotExist) {
		return Link{}, nil
	}
	if err != nil {
		return Link{}, err
	}
	defer c.Close()
	ifs, err := c.Interfaces()
	if err != nil {
		return Link{}, err
	}
	var l Link
	for _, ifi := range ifs {
		if ifi.Type != wifi.InterfaceTypeStation || ifi.Name == "" {
			continue
		}
		l.Present = true
		bss, err := c.BSS(ifi)
		if err != nil || bss == nil || bss.SSID == "" {
			continue // not associated; another interface may be
		}
		l.SSID = bss.SSID
		if st, err := c.StationInfo(ifi); err == nil && len(st) > 0 {
			l.DBm = st[0].Signal
		}
		return l, nil
	}
	return l, nil
}
