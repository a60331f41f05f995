package command

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/evse-mqtt/evse-mqtt/controller"
	"github.com/evse-mqtt/evse-mqtt/hw/sim"
	"github.com/evse-mqtt/evse-mqtt/settings"
)

// rig is a real controller on the simulator, stepped by the test.
type rig struct {
	t      testing.TB
	now    time.Time
	sim    *sim.Sim
	store  *settings.Store
	ctl    *controller.Controller
	ticks  chan time.Time
	table  *Table
	cancel func()
}

var epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func newRig(t testing.TB, mutate func(*settings.Settings), svc Services) *rig {
	t.Helper()
	return newRigWith(t, controller.DefaultParams(), mutate, svc)
}

// newRigWith is newRig with the controller's fixed parameters given (a
// phase contactor C2 with p.PhaseSwitch, which the simulator then fits).
func newRigWith(t testing.TB, p controller.Params, mutate func(*settings.Settings), svc Services) *rig {
	t.Helper()
	store, err := settings.NewStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	s := settings.Defaults()
	if mutate != nil {
		mutate(&s)
	}
	r := &rig{t: t, now: epoch, sim: sim.New(epoch), store: store, ticks: make(chan time.Time)}
	r.sim.SetPhaseSwitch(p.PhaseSwitch)
	r.ctl = controller.New(controller.NewMachine(r.sim.Board(), p, s), store.Save, zerolog.Nop())
	ctx, cancel := context.WithCancel(context.Background())
	exited := make(chan struct{})
	go func() { r.ctl.Run(ctx, r.ticks); close(exited) }()
	r.cancel = func() { cancel(); <-exited }
	t.Cleanup(func() { cancel(); <-exited })
	r.table = New(r.ctl, svc, zerolog.Nop())
	r.step()
	return r
}

func (r *rig) step() {
	r.now = r.now.Add(10 * time.Millisecond)
	r.sim.Tick(r.now)
	r.ticks <- r.now
	r.ctl.Settings() // round trip: the tick has been processed
}

func (r *rig) plug() {
	r.t.Helper()
	v := r.sim.Vehicle()
	v.Plugged, v.RequestCharge = true, true
	r.sim.SetVehicle(v)
	for i := 0; !r.ctl.Status().VehicleConnected; i++ {
		if i > 500 {
			r.t.Fatal("vehicle not seen")
		}
		r.step()
	}
}

func body(t testing.TB, rep Reply) string {
	t.Helper()
	b := rep.JSON()
	if !json.Valid(b) {
		t.Fatalf("invalid JSON: %s", b)
	}
	return string(b)
}

func req(t testing.TB, s string) map[string]json.RawMessage {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

var mqtt = Origin{Surface: "mqtt", SupervisorTrusted: true}

func fileOf(t testing.TB, st *settings.Store) string {
	b, err := os.ReadFile(st.Path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	return string(b)
}

// TestSetIsAllOrNothing: one bad object in an MQTT set stops the settings
// change and the commands alike.
func TestSetIsAllOrNothing(t *testing.T) {
	r := newRig(t, func(s *settings.Settings) { s.ChargeAutoStart = false }, Services{})
	r.plug()
	for _, c := range []struct{ in, key, reason string }{
		{`{"ChargeCurrent":10,"Charging":true,"Boost":"on"}`, "Boost", "true or false"},
		{`{"ChargeCurrent":40,"Charging":true}`, "ChargeCurrent", "6…32 A"},
		{`{"Charging":true,"ChargeStartToggle":true}`, "Charging", "conflicts with ChargeStartToggle"},
		{`{"Boost":true,"ChargeBoostToggle":false}`, "Boost", "conflicts"},
		{`{"Charging":true,"charging":true}`, "charging", "given twice"},
		{`{"Charging":true,"SCode":"Reset"}`, "SCode", "unknown object"},
		{`{"Charging":true,"EVSEPowerAvailable":-5}`, "EVSEPowerAvailable", "0…1000000 W"},
	} {
		file, set, st := fileOf(t, r.store), r.ctl.Settings(), r.ctl.Status()
		rep := r.table.Set(req(t, c.in), mqtt)
		if got, _ := rep.Get(c.key); rep.Status != http.StatusBadRequest || !strings.Contains(got, c.reason) {
			t.Errorf("%s: %d %s", c.in, rep.Status, body(t, rep))
		}
		for _, k := range rep.Keys {
			if v := rep.Values[k]; strings.HasPrefix(v, "Set=>") {
				t.Errorf("%s: %s answered %q in a rejected request", c.in, k, v)
			}
		}
		if fileOf(t, r.store) != file || r.ctl.Settings() != set || r.ctl.Status() != st {
			t.Errorf("%s changed state", c.in)
		}
	}
}

// TestSetAppliesSettingsFirst: a new boost current is in force before
// Boost is switched on in the same message.
func TestSetAppliesSettingsFirst(t *testing.T) {
	r := newRig(t, nil, Services{})
	r.plug()
	rep := r.table.Set(req(t, `{"Boost":true,"ChargeCurrentBoost":32,"Charging":true}`), mqtt)
	want := `{"Charging":"Set=>True","Boost":"Set=>True","ChargeCurrentBoost":"Set=>32"}`
	if rep.Status != 200 || body(t, rep) != want {
		t.Fatalf("%d %s, want %s", rep.Status, body(t, rep), want)
	}
	if st := r.ctl.Status(); !st.ChargeBoosted || !st.ChargerStarted {
		t.Errorf("status %+v", st)
	}
	if !strings.Contains(fileOf(t, r.store), `"ChargeCurrentBoost": 32`) {
		t.Errorf("not persisted: %s", fileOf(t, r.store))
	}
}

func TestExplicitFormsAreIdempotent(t *testing.T) {
	r := newRig(t, func(s *settings.Settings) { s.ChargeAutoStart = false; s.ChargeCurrentBoost = 20 }, Services{})
	if rep := r.table.Charging(true, mqtt); body(t, rep) != `{"Charging":"refused: no vehicle connected"}` {
		t.Errorf("no vehicle: %s", body(t, rep))
	}
	r.plug()
	for _, on := range []bool{true, true, false, false, true} {
		want := map[bool]string{true: "Set=>True", false: "Set=>False"}[on]
		if got, _ := r.table.Charging(on, mqtt).Get(CmdCharging); got != want {
			t.Errorf("Charging(%v) = %q", on, got)
		}
		if r.ctl.Status().ChargerStarted != on {
			t.Errorf("Charging(%v): started %v", on, r.ctl.Status().ChargerStarted)
		}
		if got, _ := r.table.Boost(on, mqtt).Get(CmdBoost); got != want {
			t.Errorf("Boost(%v) = %q", on, got)
		}
	}
}

func TestPowerAvailableOrigins(t *testing.T) {
	r := newRig(t, func(s *settings.Settings) { s.Meter2Type, s.Meter2Ip = settings.MeterRemoteSuperv, "10.0.0.7" }, Services{})
	for _, c := range []struct {
		o    Origin
		want string
	}{
		{Origin{Surface: "http"}, "refused: request source address unknown"},
		{Origin{Surface: "http", Remote: netip.MustParseAddr("10.0.0.8")}, "refused: request from 10.0.0.8, supervisor is 10.0.0.7 (Meter2Ip)"},
		{Origin{Surface: "http", Remote: netip.MustParseAddr("::ffff:10.0.0.7")}, "Set=>4140.5"},
		{mqtt, "Set=>4140.5"}, // the broker's ACL decides who may publish
	} {
		if got, _ := r.table.PowerAvailable(json.RawMessage(`4140.5`), c.o).Get("EVSEPowerAvailable"); got != c.want {
			t.Errorf("%+v: %q, want %q", c.o, got, c.want)
		}
	}
	if st := r.ctl.Status(); st.SupervisorLeaseEnd.IsZero() {
		t.Error("no lease after accepted writes")
	}
}

func TestServices(t *testing.T) {
	calls := 0
	r := newRig(t, nil, Services{
		Reset:          func() error { calls++; return nil },
		FactoryDefault: func() error { return errors.New("disk full") },
	})
	if rep := r.table.SystemInfo(req(t, `{"Scode":"Reset","SCodeData":""}`), Origin{}); body(t, rep) != `{"Reset":"Performing"}` || calls != 1 {
		t.Errorf("reset: %s, %d calls", body(t, rep), calls)
	}
	if rep := r.table.SystemInfo(req(t, `{"SCode":"FactoryDefault"}`), Origin{}); rep.Status != 500 || body(t, rep) != `{"FactoryDefault":"failed: disk full"}` {
		t.Errorf("failing service: %d %s", rep.Status, body(t, rep))
	}
	none := New(r.ctl, Services{}, zerolog.Nop())
	if rep := none.SystemInfo(req(t, `{"SCode":"Reset"}`), Origin{}); body(t, rep) != `{"Reset":"not supported"}` {
		t.Errorf("no service: %s", body(t, rep))
	}
	if rep := r.table.SystemInfo(req(t, `{"SCode":"Reset","SCode ":"x"}`), Origin{}); rep.Status != 400 || calls != 1 {
		t.Errorf("bad request ran the service: %d %s", rep.Status, body(t, rep))
	}
}

func TestStoppedController(t *testing.T) {
	r := newRig(t, nil, Services{})
	r.cancel()
	if rep := r.table.Charging(true, mqtt); rep.Status != http.StatusServiceUnavailable {
		t.Errorf("charging: %d %s", rep.Status, body(t, rep))
	}
	if rep := r.table.SystemConfig(req(t, `{"ChargeCurrent":10}`), mqtt); rep.Status != http.StatusServiceUnavailable && rep.Status != http.StatusInternalServerError {
		t.Errorf("settings: %d %s", rep.Status, body(t, rep))
	}
}

func TestReplyJSON(t *testing.T) {
	var r Reply
	r.set("b", "Set=>True")
	r.set("a", `q"<&>`)
	r.set("b", "no action")
	if got := body(t, r); got != `{"b":"no action","a":"q\"<&>"}` {
		t.Errorf("got %s", got)
	}
	if got := body(t, Reply{}); got != `{}` {
		t.Errorf("empty: %s", got)
	}
}

func TestCommandsCoverBothSurfaces(t *testing.T) {
	names := map[string]Group{}
	for _, c := range Commands() {
		if _, dup := names[strings.ToLower(c.Name)]; dup {
			t.Errorf("%s listed twice", c.Name)
		}
		names[strings.ToLower(c.Name)] = c.Group
	}
	for _, f := range settings.Fields {
		if names[strings.ToLower(f.Name)] != GroupSystemConfig {
			t.Errorf("settings field %s missing", f.Name)
		}
	}
	for _, n := range []string{"ChargeStartToggle", "ChargeBoostToggle", "EVSEPowerAvailable"} {
		if g, ok := names[strings.ToLower(n)]; !ok || g != GroupEvseCtrl {
			t.Errorf("%s missing", n)
		}
	}
	for _, n := range []string{CmdCharging, CmdBoost} {
		if g, ok := names[strings.ToLower(n)]; !ok || g != GroupExplicit {
			t.Errorf("%s missing", n)
		}
	}
}

// racingController changes the settings between the table's dry run and
// its write, as a second writer would.
type racingController struct {
	*controller.Controller
}

func (c racingController) UpdateSettings(req map[string]json.RawMessage) ([]settings.Change, settings.Settings, map[string]string, error) {
	bad := map[string]string{}
	for k := range req {
		bad[k] = "changed meanwhile"
	}
	return nil, c.Settings(), bad, nil
}

func TestSettingsRaceIsAConflict(t *testing.T) {
	r := newRig(t, nil, Services{})
	r.plug()
	tb := New(racingController{r.ctl}, Services{}, zerolog.Nop())
	rep := tb.Set(req(t, `{"ChargeCurrent":10,"Charging":false}`), mqtt)
	if rep.Status != http.StatusConflict || body(t, rep) != `{"Charging":"not applied: request rejected","ChargeCurrent":"changed meanwhile"}` {
		t.Errorf("%d %s", rep.Status, body(t, rep))
	}
	if !r.ctl.Status().ChargerStarted {
		t.Error("the command ran although the settings change failed")
	}
}

func TestReplyApplied(t *testing.T) {
	for _, c := range []struct {
		r    Reply
		want bool
	}{
		{Reply{Status: 200, Keys: []string{"a"}, Values: map[string]string{"a": "Set=>True"}}, true},
		{Reply{Status: 200, Keys: []string{"a", "b"}, Values: map[string]string{"a": "Set=>16", "b": NoAction}}, true},
		{Reply{Status: 200, Keys: []string{"Reset"}, Values: map[string]string{"Reset": Performing}}, true},
		{Reply{Status: 200, Keys: []string{"a"}, Values: map[string]string{"a": "supervisor IP not set"}}, false},
		{Reply{Status: 200, Keys: []string{"a"}, Values: map[string]string{"a": Unsupported}}, false},
		{Reply{Status: 400, Keys: []string{"a"}, Values: map[string]string{"a": "Set=>1"}}, false},
		{Reply{Status: 200}, false},
	} {
		if got := c.r.Applied(); got != c.want {
			t.Errorf("%+v: Applied %v, want %v", c.r, got, c.want)
		}
	}
}

// TestCableSettingsRefusedWhileConnected: issue 9 item 2 as both surfaces
// answer it: 409, the reason on the object as the request spelled it,
// the other objects not applied, nothing persisted.
func TestCableSettingsRefusedWhileConnected(t *testing.T) {
	r := newRig(t, nil, Services{})
	r.plug()
	file, set := fileOf(t, r.store), r.ctl.Settings()
	rep := r.table.Set(req(t, `{"chargerMode":1,"ChargeCurrent":10}`), mqtt)
	if got, _ := rep.Get("chargerMode"); rep.Status != http.StatusConflict || got != "ChargerMode can change only with no vehicle connected" {
		t.Fatalf("%d %s", rep.Status, body(t, rep))
	}
	if got, _ := rep.Get("ChargeCurrent"); got != NotApplied || rep.Applied() {
		t.Fatalf("ChargeCurrent answered %q, applied %v", got, rep.Applied())
	}
	if fileOf(t, r.store) != file || r.ctl.Settings() != set {
		t.Fatal("a refused request changed the settings")
	}
}
