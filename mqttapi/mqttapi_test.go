package mqttapi_test

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/evse-mqtt/evse-mqtt/bridge"
	"github.com/evse-mqtt/evse-mqtt/charger"
	"github.com/evse-mqtt/evse-mqtt/command"
	"github.com/evse-mqtt/evse-mqtt/controller"
	"github.com/evse-mqtt/evse-mqtt/discovery"
	"github.com/evse-mqtt/evse-mqtt/internal/mqtttest"
	"github.com/evse-mqtt/evse-mqtt/mqttapi"
	"github.com/evse-mqtt/evse-mqtt/settings"
	"github.com/evse-mqtt/evse-mqtt/units"
)

// box is a bridged charger whose reachability the test switches.
type box struct {
	mu   sync.Mutex
	st   charger.Status
	subs []chan struct{}
}

func (b *box) Status() charger.Status { b.mu.Lock(); defer b.mu.Unlock(); return b.st }
func (b *box) Subscribe() (<-chan struct{}, func()) {
	ch := make(chan struct{}, 1)
	b.mu.Lock()
	b.subs = append(b.subs, ch)
	b.mu.Unlock()
	return ch, func() {}
}
func (b *box) setUnreachable(why string) {
	b.mu.Lock()
	b.st.Unreachable = why
	for _, ch := range b.subs {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
	b.mu.Unlock()
}
func (b *box) Settings() settings.Settings          { return settings.Defaults() }
func (b *box) Params() charger.Params               { return controller.DefaultParams() }
func (b *box) OnApplied(func(settings.Settings))    {}
func (b *box) ToggleCharging() (bool, error)        { return false, b.err() }
func (b *box) SetCharging(bool) error               { return b.err() }
func (b *box) ToggleBoost() (bool, error)           { return false, b.err() }
func (b *box) SetBoost(bool) error                  { return b.err() }
func (b *box) SetSupervisorPower(units.Watts) error { return b.err() }
func (b *box) UpdateSettings(map[string]json.RawMessage) ([]settings.Change, settings.Settings, map[string]string, error) {
	return nil, settings.Defaults(), nil, b.err()
}
func (b *box) err() error {
	if why := b.Status().Unreachable; why != "" {
		return &unreachable{why}
	}
	return nil
}
func (b *box) Identity() charger.Identity              { return charger.Identity{MAC: "E0:E2:E6:52:AA:D4"} }
func (b *box) MeterDocument(int, int64) []byte         { return nil }
func (b *box) MeterGauge(int) int                      { return 0 }
func (b *box) URL() string                             { return "http://192.168.0.17" }
func (b *box) Document(n int, ts int64) []byte         { return []byte(`{}`) }
func (b *box) Registers(int) []discovery.MeterRegister { return nil }
func (b *box) MapName(int) string                      { return "" }
func (b *box) MQTTStatusDocument() []byte {
	return []byte(`{"Reachable":` + map[bool]string{true: "true", false: "false"}[b.Status().Unreachable == ""] + `}`)
}
func (b *box) ConfigDocument() []byte { return []byte(`{}`) }
func (b *box) InfoDocument() []byte   { return []byte(`{}`) }

type unreachable struct{ msg string }

func (e *unreachable) Error() string        { return e.msg }
func (e *unreachable) Is(target error) bool { return target == charger.ErrUnreachable }

// A bridged box has its own availability topic beside the bridge's last
// will: it follows the box's reachability, the discovery configs list
// both, and a command while the box is away is answered at once with the
// reason.
func TestBridgedBoxAvailability(t *testing.T) {
	br := mqtttest.Start(t)
	o := mqtttest.NewObserver(t, br.URL())
	cfg := bridge.Defaults()
	cfg.URL = br.URL()
	cfg = cfg.WithDeviceID("psp-e0e2e652aad4")
	cl, err := bridge.New(cfg, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	b := &box{}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	base := cl.Base()
	avail := o.Subscribe(base + "/" + mqttapi.DeviceAvailabilityTopic)
	disc := o.Subscribe("homeassistant/sensor/+/state/config")
	results := o.Subscribe(base + "/result")
	s := mqttapi.New(ctx, mqttapi.Options{Client: cl, Charger: b, Commands: command.New(b, command.Services{}, zerolog.Nop()),
		Documents: b, Meters: b, DiscoveryEnabled: true, DiscoveryPrefix: "homeassistant",
		Device: func() discovery.Device {
			return discovery.Device{ID: "psp-e0e2e652aad4", Model: "PSP EVSE v1.0", HardwareMaxCurrent: 32}
		},
		Pacing: mqttapi.Pacing{MinInterval: 0, MaxInterval: time.Minute, MeterInterval: time.Minute}, SinceStart: func() int64 { return 0 }})
	if err := cl.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	go s.Run(ctx)
	mqtttest.Wait(t, avail, 5*time.Second, "online", func(m mqtttest.Message) bool { return m.Payload == "online" })
	d := mqtttest.Wait(t, disc, 5*time.Second, "state sensor", func(mqtttest.Message) bool { return true })
	if !strings.Contains(d.Payload, base+"/availability") || !strings.Contains(d.Payload, base+"/device/availability") {
		t.Errorf("discovery availability: %s", d.Payload)
	}
	b.setUnreachable("charger unreachable: connection refused")
	mqtttest.Wait(t, avail, 5*time.Second, "offline", func(m mqtttest.Message) bool { return m.Payload == "offline" })
	o.Publish(base+"/charging/set", "ON", false)
	r := mqtttest.Wait(t, results, 5*time.Second, "result", func(mqtttest.Message) bool { return true })
	if !strings.Contains(r.Payload, `"ok":false`) || !strings.Contains(r.Payload, "charger unreachable") || !strings.Contains(r.Payload, `"status":503`) {
		t.Errorf("result while away: %s", r.Payload)
	}
	b.setUnreachable("")
	mqtttest.Wait(t, avail, 5*time.Second, "online again", func(m mqtttest.Message) bool { return m.Payload == "online" })
}
