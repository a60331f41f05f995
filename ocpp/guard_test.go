package ocpp

import (
	"errors"
	"testing"

	lib "github.com/lorenzodonini/ocpp-go/ocpp"
	ocpp16 "github.com/lorenzodonini/ocpp-go/ocpp1.6"
	"github.com/lorenzodonini/ocpp-go/ocpp1.6/core"
)

// closedCP panics as ocpp-go's dispatcher does when a send races Stop.
type closedCP struct{ ocpp16.ChargePoint }

func (closedCP) SendRequest(lib.Request) (lib.Response, error) {
	ch := make(chan int)
	close(ch)
	ch <- 1 // send on closed channel
	return nil, nil
}

func (closedCP) SendRequestAsync(lib.Request, func(lib.Response, error)) error {
	panic("unrelated")
}

func (closedCP) Stop() {}

// A send that races the library's Stop fails with errSocketStopped instead
// of panicking the daemon; after Stop nothing reaches the library; a panic
// of another kind is not swallowed.
func TestGuardedSendsSurviveStop(t *testing.T) {
	g := &guardedCP{ChargePoint: closedCP{}}
	if _, err := g.SendRequest(core.NewHeartbeatRequest()); !errors.Is(err, errSocketStopped) {
		t.Fatalf("racing send: %v, want errSocketStopped", err)
	}
	func() {
		defer func() {
			if r := recover(); r != "unrelated" {
				t.Fatalf("another panic was swallowed or changed: %v", r)
			}
		}()
		_ = g.SendRequestAsync(core.NewHeartbeatRequest(), nil)
	}()
	g.Stop()
	if err := g.SendRequestAsync(core.NewHeartbeatRequest(), nil); !errors.Is(err, errSocketStopped) {
		t.Fatalf("after Stop: %v, want errSocketStopped", err)
	}
}
