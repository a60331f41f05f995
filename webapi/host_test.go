package webapi

import (
	"math"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"
)

const wirelessFixture = `Inter-| sta-|   Quality        |   Discarded packets               | Missed | WE
 face | tus | link level noise |  nwid  crypt   frag  retry   misc | beacon | 22
wlan0: 0000   48.  -62.  -256        0      0      0      0     12        0
`

// routeFixture: the default route is on the second interface listed.
const routeFixture = `Iface	Destination	Gateway 	Flags	RefCnt	Use	Metric	Mask		MTU	Window	IRTT
docker0	000011AC	00000000	0001	0	0	0	0000FFFF	0	0	0
eth0	00000000	0101A8C0	0003	0	0	100	00000000	0	0	0
eth0	0001A8C0	00000000	0001	0	0	100	00FFFFFF	0	0	0
`

func TestParseWireless(t *testing.T) {
	got := parseWireless([]byte(wirelessFixture))
	if want := (wifiLink{name: "wlan0", dBm: -62, percent: 68, ok: true}); got != want {
		t.Errorf("got %+v, want %+v", got, want)
	}
	for _, bad := range []string{"", "Inter-|\n face |\n", "Inter-|\n face |\nwlan0: 0000 x. y. z\n"} {
		if w := parseWireless([]byte(bad)); w.ok {
			t.Errorf("%q parsed as %+v", bad, w)
		}
	}
}

func TestDefaultRouteIface(t *testing.T) {
	if got := defaultRouteIface([]byte(routeFixture)); got != "eth0" {
		t.Errorf("got %q", got)
	}
	if got := defaultRouteIface([]byte("Iface\tDestination\n")); got != "" {
		t.Errorf("no default route: %q", got)
	}
}

// TestSystemHost reads a fake /proc: WiFi from its wireless file, the MAC
// of the interface holding the default route (this host's real one).
func TestSystemHost(t *testing.T) {
	proc := t.TempDir()
	if err := os.MkdirAll(filepath.Join(proc, "net"), 0o755); err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1000, 0)
	h := NewSystemHost(proc, func() time.Time { return now })
	if got := wifiStatus(h); got != Wired {
		t.Errorf("no wireless file: %q", got)
	}
	if err := os.WriteFile(filepath.Join(proc, "net", "wireless"), []byte(wirelessFixture), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := wifiStatus(h); got != Wired {
		t.Errorf("cached answer expected within 5 s, got %q", got)
	}
	now = now.Add(6 * time.Second)
	if got := wifiStatus(h); got != "wlan0:68%" {
		t.Errorf("Status WiFiInfo %q", got)
	}
	if got := wifiSystemInfo(h); got != "wlan0,RSSI:-62dB/68%" {
		t.Errorf("SystemInfo WiFiInfo %q", got)
	}

	// Point the default route at a real interface with a MAC, if any.
	var ifc *net.Interface
	ifs, _ := net.Interfaces()
	for i := range ifs {
		if len(ifs[i].HardwareAddr) == 6 && ifs[i].Flags&net.FlagLoopback == 0 {
			ifc = &ifs[i]
			break
		}
	}
	mac := regexp.MustCompile(`^([0-9A-F]{2}:){5}[0-9A-F]{2}$`)
	if got := h.MAC(); !mac.MatchString(got) {
		t.Errorf("MAC %q", got)
	}
	if ifc != nil {
		route := "Iface\tDestination\tGateway\tFlags\tRefCnt\tUse\tMetric\tMask\n" + ifc.Name + "\t00000000\t0101A8C0\t0003\t0\t0\t0\t00000000\n"
		if err := os.WriteFile(filepath.Join(proc, "net", "route"), []byte(route), 0o644); err != nil {
			t.Fatal(err)
		}
		now = now.Add(6 * time.Second)
		if got, want := h.MAC(), formatMAC(ifc.HardwareAddr); got != want {
			t.Errorf("MAC %q, want %q of %s", got, want, ifc.Name)
		}
	}
	used, total := h.Heap()
	if used == 0 || total < used {
		t.Errorf("heap %d/%d", used, total)
	}
	if got := heapInfo(h); !regexp.MustCompile(`^0x[0-9A-F]{6,}/0x[0-9A-F]{6,}$`).MatchString(got) {
		t.Errorf("HeapInfo %q", got)
	}
}

func TestRoundNonFinite(t *testing.T) {
	for in, want := range map[float64]float64{math.NaN(): 0, math.Inf(1): 0, math.Inf(-1): 0, 15.955: 15.96, -0.004: 0} {
		if got := round(in, 2); got != want || math.Signbit(got) != math.Signbit(want) {
			t.Errorf("round(%v) = %v, want %v", in, got, want)
		}
	}
	if got := vendorDuration(100*time.Hour + 2*time.Minute + 3*time.Second + 999*time.Millisecond); got != "100h:02m:03s" {
		t.Errorf("duration %q", got)
	}
}
