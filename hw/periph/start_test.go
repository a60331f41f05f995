package periph_test

import (
	"testing"
	"time"

	"github.com/evse-mqtt/evse-mqtt/controller"
	"github.com/evse-mqtt/evse-mqtt/hw/periph"
	"github.com/evse-mqtt/evse-mqtt/hw/periph/periphtest"
	"github.com/evse-mqtt/evse-mqtt/hw/sim"
)

// TestStartReadsThePilotBeforeReturning: the daemon steps the controller
// right after Start; the pilot must already read state A then, not an
// empty window (which the controller would take as a fault). Then the
// sampler goroutine keeps reading.
func TestStartReadsThePilotBeforeReturning(t *testing.T) {
	s := sim.New(epoch)
	circ := periphtest.New(s, periphtest.Config(), periphtest.NewClock(epoch), 1)
	parts := circ.Parts()
	parts.Now, parts.AfterFunc = time.Now, nil // the sampler runs in real time here
	d, err := periph.Open(periphtest.Config(), parts, periph.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	d.Start()
	if l := controller.Classify(d.Board().Pilot.Sample().High); l != controller.LevelA {
		t.Fatalf("right after Start the pilot reads %v, want A", l)
	}
	// Then the sampler goroutine goes on reading in bursts.
	after := circ.Reads()
	deadline := time.Now().Add(5 * time.Second)
	for circ.Reads() < after+128 {
		if time.Now().After(deadline) {
			t.Fatalf("the sampler read %d times in 5 s after Start", circ.Reads()-after)
		}
		time.Sleep(time.Millisecond) // polling a counter against a deadline
	}
}
