package ocpp

import (
	"errors"
	"runtime"
	"strings"
	"sync/atomic"

	lib "github.com/lorenzodonini/ocpp-go/ocpp"
	ocpp16 "github.com/lorenzodonini/ocpp-go/ocpp1.6"
	"github.com/lorenzodonini/ocpp-go/ocpp1.6/core"
)

// errSocketStopped answers a send on a charge point that is being torn
// down.
var errSocketStopped = errors.New("ocpp: socket stopped")

// guardedCP works around an ocpp-go v0.19.0 defect: Stop closes the
// dispatcher's request channel, and a SendRequest racing it (the queue's
// sender, a heartbeat, a status) panics with "send on closed channel",
// taking the daemon — and the charger — down. Sends after Stop fail with
// errSocketStopped instead, and the one panic that race can still raise
// inside the library becomes that error.
type guardedCP struct {
	ocpp16.ChargePoint
	stopped atomic.Bool
}

func (g *guardedCP) SendRequest(req lib.Request) (conf lib.Response, err error) {
	if g.stopped.Load() {
		return nil, errSocketStopped
	}
	defer recoverClosed(&err)
	return g.ChargePoint.SendRequest(req)
}

func (g *guardedCP) SendRequestAsync(req lib.Request, cb func(lib.Response, error)) (err error) {
	if g.stopped.Load() {
		return errSocketStopped
	}
	defer recoverClosed(&err)
	return g.ChargePoint.SendRequestAsync(req, cb)
}

func (g *guardedCP) BootNotification(model, vendor string, props ...func(*core.BootNotificationRequest)) (conf *core.BootNotificationConfirmation, err error) {
	if g.stopped.Load() {
		return nil, errSocketStopped
	}
	defer recoverClosed(&err)
	return g.ChargePoint.BootNotification(model, vendor, props...)
}

func (g *guardedCP) Stop() {
	g.stopped.Store(true)
	g.ChargePoint.Stop()
}

// recoverClosed turns the library's "send on closed channel" panic into
// errSocketStopped; any other panic goes on.
func recoverClosed(err *error) {
	r := recover()
	if r == nil {
		return
	}
	if re, ok := r.(runtime.Error); ok && strings.Contains(re.Error(), "closed channel") {
		*err = errSocketStopped
		return
	}
	panic(r)
}
