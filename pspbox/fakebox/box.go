// Package fakebox is a stateful fake of a PSP EVSE v1.0 box's WebAPI v1,
// written from the vendor's guide (../shared/spec/webapi-v1.md) and served
// over HTTP on loopback, for tests of clients of the box. It toggles,
// validates SystemConfig writes, checks the supervisor's address, serves
// meter documents, and can misbehave on demand (Quirks): old firmware,
// float numbers, slow, down, garbage, huge answers, and a toggle applied
// whose answer is lost.
//
// It renders every document itself, independently of package pspbox, so a
// client test checks the client against the guide, not against its own
// encoder.
package fakebox

import (
	"errors"
	"net"
	"net/http"
	"sync"
	"time"
)

// Quirks make the box misbehave. The zero value is a well-behaved box of
// the guide's v1.1.
type Quirks struct {
	OldFirmware bool          // Status without ActualDurationTotalSeconds (guide v1.0)
	Floats      bool          // every number with a fraction: 16.0, 0.0
	Slow        time.Duration // answer this late (or when the client gives up)
	Garbage     bool          // answer bytes that are not JSON
	Huge        int           // answer this many bytes: the document padded with spaces
	Hangup      bool          // close the connection without answering
	// Doc limits the quirks above to one document ("Status", "EvseCtrl",
	// ...); "" applies them to every request.
	Doc string
}

// Config is the box's SystemConfig.
type Config struct {
	ChargerMode, LockMethod           int
	ChargeCurrent, ChargeCurrentBoost int
	Meter1Type                        int
	Meter1Ip                          string
	Meter2Type                        int
	Meter2Ip                          string
	PhaseCurrentLimit                 int
	ControlStrategy, ControlLimit     int
	ChargeAutoStart, Charge3Phase     bool
}

// DefaultConfig is the guide's SystemConfig example, with the control
// meter and the limiting algorithm off.
func DefaultConfig() Config {
	return Config{
		ChargeCurrent: 16, ChargeCurrentBoost: 32,
		Meter1Type: 1, Meter1Ip: "192.168.0.30",
		PhaseCurrentLimit: 25, ControlLimit: 11000,
		ChargeAutoStart: true, Charge3Phase: true,
	}
}

// Register is one entry of a meter's ModbusData.
type Register struct {
	Key        string // 0x04_0x0034
	Desc       string
	ErrCounter int
	Value      float64
	Status     string // "Valid" or "Not available"
}

// GuideMeter returns the guide's Meter1 example registers (an Eastron
// SDM72D-M).
func GuideMeter() []Register {
	return []Register{
		{"0x04_0x0034", "TotalSystemPower[W]", 0, 475.2041931152344, "Valid"},
		{"0x04_0x0048", "TotalImport[kWh]", 0, 0.3310000002384186, "Valid"},
		{"0x04_0x004a", "TotalExport[kWh]", 0, 0, "Valid"},
		{"0x04_0x0156", "Total[kWh]", 0, 0.3310000002384186, "Valid"},
		{"0x04_0x0180", "ResettableTotalActiveEnergy[kWh]", 0, 0.3310000002384186, "Valid"},
		{"0x04_0x0184", "ResettableImportActiveEnergy[kWh]", 0, 0.3310000002384186, "Valid"},
		{"0x04_0x0186", "ResettableExportActiveEnergy[kWh]", 0, 0, "Valid"},
		{"0x04_0x0500", "TotalImportActivePower[W]", 0, 476.0400695800781, "Valid"},
		{"0x04_0x0502", "TotalExportActivePower[W]", 0, 0, "Not available"},
	}
}

// Request is one request the box received.
type Request struct {
	Method, Doc, Body string
	Remote            string // the source address
}

// Box is a running fake. Its methods are safe for concurrent use.
type Box struct {
	mu   sync.Mutex
	addr string
	ln   net.Listener
	srv  *http.Server

	cfg      Config
	plugged  bool
	started  bool
	boosted  bool
	session  time.Duration
	energyWs float64
	meters   [3][]Register
	power    float64 // the supervisor's last EVSEPowerAvailable
	powerSet bool
	version  string
	mac      string

	quirks      Quirks
	drop        int  // toggles still to be lost in flight
	dropApplies bool // …after applying them
	dropCfg     int  // SystemConfig writes still to be lost in flight
	dropCfgApp  bool // …after applying them
	lagNext     int  // LagReads: armed for the next toggle
	lag         int  // Status reads that still show the state before a toggle
	lagStarted  bool
	lagBoosted  bool

	toggles  map[string]int // applied toggles by object
	requests []Request
}

// Start serves a box with DefaultConfig and no car on 127.0.0.1 on a free
// port. Stop it with Close.
func Start() (*Box, error) { return StartAt("127.0.0.1:0") }

// StartAt serves a box on the given loopback address ("[::1]:0" for
// IPv6).
func StartAt(addr string) (*Box, error) {
	b := &Box{
		cfg: DefaultConfig(), version: "0.9.2", mac: "E0:E2:E6:52:AA:D4",
		session: 3774 * time.Second, toggles: map[string]int{},
	}
	b.meters[1] = GuideMeter()
	b.meters[2] = GuideMeter()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	b.addr = ln.Addr().String()
	b.serve(ln)
	return b, nil
}

func (b *Box) serve(ln net.Listener) {
	srv := &http.Server{Handler: http.HandlerFunc(b.handle), ReadHeaderTimeout: 5 * time.Second}
	b.ln, b.srv = ln, srv
	go srv.Serve(ln)
}

// URL is the box's address, http://127.0.0.1:port or http://[::1]:port.
func (b *Box) URL() string { return "http://" + b.addr }

// Addr is the box's host:port.
func (b *Box) Addr() string { return b.addr }

// Close stops the box and drops its connections.
func (b *Box) Close() {
	b.mu.Lock()
	srv := b.srv
	b.srv, b.ln = nil, nil
	b.mu.Unlock()
	if srv != nil {
		srv.Close()
	}
}

// Down takes the box off the network: connections are dropped and new
// ones refused, until Up.
func (b *Box) Down() { b.Close() }

// Up serves again on the same address after Down.
func (b *Box) Up() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.srv != nil {
		return errors.New("fakebox: already up")
	}
	var ln net.Listener
	var err error
	for range 50 { // the port was ours a moment ago; another may hold it briefly
		if ln, err = net.Listen("tcp", b.addr); err == nil {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err != nil {
		return err
	}
	b.serve(ln)
	return nil
}

// SetQuirks replaces the box's quirks.
func (b *Box) SetQuirks(q Quirks) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.quirks = q
}

// DropToggles makes the next n EvseCtrl toggle requests lose their answer:
// the connection closes without one, after the toggle was applied
// (applied) or before (not applied).
func (b *Box) DropToggles(n int, applied bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.drop, b.dropApplies = n, applied
}

// DropConfigWrites makes the next n POST SystemConfig requests lose
// their answer, after the change was applied (applied) or before.
func (b *Box) DropConfigWrites(n int, applied bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.dropCfg, b.dropCfgApp = n, applied
}

// LagReads makes the next n Status reads after a toggle still show the
// state before it, as a box whose state follows its toggle late would.
func (b *Box) LagReads(n int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.lagNext = n
}

// Plug connects (true) or disconnects a car.
func (b *Box) Plug(on bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.plugged = on
}

// SetCharging sets ChargerStarted as the box's own button would.
func (b *Box) SetCharging(on bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.started = on
	if !on {
		b.boosted = false
	}
}

// SetConfig replaces the box's SystemConfig as its own app would.
func (b *Box) SetConfig(c Config) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.cfg = c
}

// Config returns the box's SystemConfig.
func (b *Box) Config() Config {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.cfg
}

// SetMeter sets meter n's registers (1 or 2).
func (b *Box) SetMeter(n int, regs []Register) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.meters[n] = append([]Register(nil), regs...)
}

// Charging reports ChargerStarted and ChargeBoosted.
func (b *Box) Charging() (started, boosted bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.started, b.boosted
}

// Toggles counts the toggles the box applied for an object
// ("ChargeStartToggle" or "ChargeBoostToggle").
func (b *Box) Toggles(object string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.toggles[object]
}

// PowerAvailable returns the supervisor's last EVSEPowerAvailable, and
// whether one was taken.
func (b *Box) PowerAvailable() (float64, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.power, b.powerSet
}

// Requests returns the requests received so far, in order.
func (b *Box) Requests() []Request {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]Request(nil), b.requests...)
}

// Posts returns the bodies of the POSTs to doc, in order.
func (b *Box) Posts(doc string) []string {
	var out []string
	for _, r := range b.Requests() {
		if r.Method == http.MethodPost && r.Doc == doc {
			out = append(out, r.Body)
		}
	}
	return out
}
