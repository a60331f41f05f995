package webapi

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Host supplies SystemInfo's and Status' facts about the machine the
// daemon runs on.
type Host interface {
	// WiFi returns the wireless link ("" when there is none): interface
	// (standing in for the SSID, which /proc does not tell), signal level
	// in dBm and link quality in percent.
	WiFi() (name string, dBm, percent int, ok bool)
	// MAC returns the primary interface's hardware address.
	MAC() string
	// Heap returns the Go heap in use and obtained from the OS, in bytes.
	Heap() (used, total uint64)
}

// Wired is WiFiInfo when the host has no wireless link.
const Wired = "wired"

// SystemHost reads the real host: /proc/net/wireless, /proc/net/route,
// the network interfaces and the Go runtime. Answers are cached for a
// few seconds because Status is polled often and they change slowly.
type SystemHost struct {
	proc string
	now  func() time.Time

	mu      sync.Mutex
	wifiAt  time.Time
	wifi    wifiLink
	macAt   time.Time
	mac     string
	cacheTo time.Duration
}

type wifiLink struct {
	name         string
	dBm, percent int
	ok           bool
}

// NewSystemHost returns the host read through the proc file system at
// proc (normally "/proc").
func NewSystemHost(proc string, now func() time.Time) *SystemHost {
	return &SystemHost{proc: proc, now: now, cacheTo: 5 * time.Second}
}

// WiFi implements Host.
func (h *SystemHost) WiFi() (string, int, int, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if now := h.now(); h.wifiAt.IsZero() || now.Sub(h.wifiAt) > h.cacheTo || now.Before(h.wifiAt) {
		data, err := os.ReadFile(filepath.Join(h.proc, "net", "wireless"))
		h.wifi = wifiLink{}
		if err == nil {
			h.wifi = parseWireless(data)
		}
		h.wifiAt = now
	}
	return h.wifi.name, h.wifi.dBm, h.wifi.percent, h.wifi.ok
}

// parseWireless reads the first interface of /proc/net/wireless:
//
//	Inter-| sta-|   Quality        |   Discarded packets ...
//	 face | tus | link level noise |  nwid  crypt ...
//	wlan0: 0000   56.  -54.  -256        0      0 ...
//
// Link quality is out of 70 (the Linux drivers' common scale).
func parseWireless(data []byte) wifiLink {
	sc := bufio.NewScanner(bytes.NewReader(data))
	for line := 0; sc.Scan(); line++ {
		if line < 2 {
			continue
		}
		name, rest, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) < 3 {
			continue
		}
		q, err1 := strconv.ParseFloat(strings.TrimSuffix(f[1], "."), 64)
		l, err2 := strconv.ParseFloat(strings.TrimSuffix(f[2], "."), 64)
		if err1 != nil || err2 != nil {
			continue
		}
		pct := int(q * 100 / 70)
		pct = min(max(pct, 0), 100)
		return wifiLink{name: strings.TrimSpace(name), dBm: int(l), percent: pct, ok: true}
	}
	return wifiLink{}
}

// MAC implements Host: the interface holding the default route, else the
// first interface that is up, not loopback and has an address.
func (h *SystemHost) MAC() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	if now := h.now(); h.macAt.IsZero() || now.Sub(h.macAt) > h.cacheTo || now.Before(h.macAt) {
		h.mac = h.primaryMAC()
		h.macAt = now
	}
	return h.mac
}

func (h *SystemHost) primaryMAC() string {
	if data, err := os.ReadFile(filepath.Join(h.proc, "net", "route")); err == nil {
		if name := defaultRouteIface(data); name != "" {
			if ifc, err := net.InterfaceByName(name); err == nil && len(ifc.HardwareAddr) > 0 {
				return formatMAC(ifc.HardwareAddr)
			}
		}
	}
	ifs, _ := net.Interfaces()
	for _, ifc := range ifs {
		if ifc.Flags&net.FlagUp != 0 && ifc.Flags&net.FlagLoopback == 0 && len(ifc.HardwareAddr) > 0 {
			return formatMAC(ifc.HardwareAddr)
		}
	}
	return "00:00:00:00:00:00"
}

// defaultRouteIface finds the interface of the 0.0.0.0/0 route in
// /proc/net/route (columns: Iface Destination Gateway Flags ... Mask).
func defaultRouteIface(data []byte) string {
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) >= 8 && f[1] == "00000000" && f[7] == "00000000" {
			return f[0]
		}
	}
	return ""
}

func formatMAC(hw net.HardwareAddr) string { return strings.ToUpper(hw.String()) }

// Heap implements Host from runtime.MemStats (a short stop-the-world,
// hence only on SystemInfo).
func (h *SystemHost) Heap() (uint64, uint64) {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc, ms.HeapSys
}

// wifiStatus is Status' WiFiInfo: "SSID:RSSI%".
func wifiStatus(h Host) string {
	name, _, pct, ok := h.WiFi()
	if !ok {
		return Wired
	}
	return fmt.Sprintf("%s:%d%%", name, pct)
}

// wifiSystemInfo is SystemInfo's WiFiInfo: "SSID,RSSI:dB/%".
func wifiSystemInfo(h Host) string {
	name, dbm, pct, ok := h.WiFi()
	if !ok {
		return Wired
	}
	return fmt.Sprintf("%s,RSSI:%ddB/%d%%", name, dbm, pct)
}

// heapInfo is the vendor's "0xUSED/0xTOTAL".
func heapInfo(h Host) string {
	used, total := h.Heap()
	return fmt.Sprintf("0x%06X/0x%06X", used, total)
}
