package command

import (
	"fmt"
	"net/http"
	"net/netip"
	"strings"
	"testing"

	"github.com/evse-mqtt/evse-mqtt/charger"
	"github.com/evse-mqtt/evse-mqtt/controller"
)

// away is a backend whose charger does not answer, as a bridged box that
// is off the network; it judges power writes itself (charger.SupervisorGate).
type away struct {
	*controller.Controller
	refusal string
}

func (a away) SetCharging(bool) error {
	return fmt.Errorf("%w: no answer within 2s", charger.ErrUnreachable)
}
func (a away) SupervisorRefusal() string { return a.refusal }

// A command to an unreachable charger fails at once with the reason and
// 503, on both surfaces (they share this table).
func TestUnreachableChargerIs503(t *testing.T) {
	r := newRig(t, nil, Services{})
	tab := New(away{Controller: r.ctl}, Services{}, r.table.log)
	rep := tab.Charging(true, Origin{Surface: "mqtt"})
	if rep.Status != http.StatusServiceUnavailable || !strings.HasPrefix(rep.Values[CmdCharging], "refused: charger unreachable") {
		t.Fatalf("got %d %v", rep.Status, rep.Values)
	}
}

// A backend that judges power writes itself overrides the vendor's
// address rule; its refusal is the answer.
func TestSupervisorGate(t *testing.T) {
	r := newRig(t, nil, Services{})
	tab := New(away{Controller: r.ctl, refusal: "supervisor IP not set"}, Services{}, r.table.log)
	rep := tab.PowerAvailable([]byte("4600"), Origin{Surface: "http", Remote: netip.MustParseAddr("192.168.0.9")})
	if got := rep.Values["EVSEPowerAvailable"]; got != "supervisor IP not set" {
		t.Fatalf("gate's refusal: %q", got)
	}
}
