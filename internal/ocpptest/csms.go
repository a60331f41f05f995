// Package ocpptest is a test central system (CSMS) for the OCPP charge
// point, built on ocpp-go's central-system role and served on a loopback
// port: it records every message the charge point sends, in order, and
// sends it requests as a CSMS would.
package ocpptest

import (
	"crypto/tls"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"reflect"
	"sync"
	"time"
	"unsafe"

	"github.com/gorilla/websocket"
	lib "github.com/lorenzodonini/ocpp-go/ocpp"
	ocpp16 "github.com/lorenzodonini/ocpp-go/ocpp1.6"
	"github.com/lorenzodonini/ocpp-go/ocpp1.6/core"
	"github.com/lorenzodonini/ocpp-go/ocpp1.6/types"
	"github.com/lorenzodonini/ocpp-go/ws"
)

// Msg is one request the charge point sent.
type Msg struct {
	At     time.Time
	Action string
	Req    lib.Request
}

// CSMS is the test central system.
type CSMS struct {
	cs     ocpp16.CentralSystem
	wss    *ws.Server
	http   *http.Server
	ln     net.Listener
	scheme string

	mu        sync.Mutex
	changed   chan struct{} // closed and replaced on every message or (dis)connection
	msgs      []Msg
	connected map[string]bool
	conns     int // connections accepted so far
	nextTx    int

	// BootStatus answers BootNotification (default Accepted); Interval is
	// the heartbeat interval given (default 60 s).
	BootStatus core.RegistrationStatus
	Interval   int
	// TagStatus answers Authorize and StartTransaction (default Accepted).
	TagStatus types.AuthorizationStatus
}

// Listen starts a CSMS on 127.0.0.1 at the given port (0: a free one).
func Listen(port int) (*CSMS, error) { return ListenWith(Options{Port: port}) }

// Options are a CSMS's port and security.
type Options struct {
	Port int // 0: a free one
	// User and Password, when set, are required as HTTP Basic
	// credentials (OCPP security profile 1, or 2 with TLS).
	User, Password string
	// TLS, when set, serves wss:// with this configuration.
	TLS *tls.Config
}

// ListenWith starts a CSMS on 127.0.0.1 as o says.
func ListenWith(o Options) (*CSMS, error) {
	port := o.Port
	c := &CSMS{changed: make(chan struct{}), connected: map[string]bool{}, nextTx: 100,
		BootStatus: core.RegistrationStatusAccepted, Interval: 60, TagStatus: types.AuthorizationStatusAccepted}
	c.wss = ws.NewServer()
	c.wss.AddSupportedSubprotocol(types.V16Subprotocol)
	if o.Password != "" {
		c.wss.SetBasicAuthHandler(func(u, p string) bool { return u == o.User && p == o.Password })
	}
	c.cs = ocpp16.NewCentralSystem(nil, c.wss)
	c.cs.SetCoreHandler(c)
	c.cs.SetNewChargePointHandler(func(cp ocpp16.ChargePointConnection) {
		c.note(func() { c.connected[cp.ID()] = true; c.conns++ })
	})
	c.cs.SetChargePointDisconnectedHandler(func(cp ocpp16.ChargePointConnection) {
		c.note(func() { delete(c.connected, cp.ID()) })
	})
	// ocpp-go's ws.Server listens on ":port", every interface. Tests stay
	// on loopback: let Start register its handler and fail to listen on
	// an impossible port, then serve that handler on 127.0.0.1.
	c.cs.Start(-1, "/ocpp/{id}")
	h := reflect.ValueOf(c.wss).Elem().FieldByName("httpHandler")
	router := reflect.NewAt(h.Type(), unsafe.Pointer(h.UnsafeAddr())).Elem().Interface().(http.Handler)
	ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		return nil, err
	}
	c.scheme = "ws"
	if o.TLS != nil {
		ln, c.scheme = tls.NewListener(ln, o.TLS), "wss"
	}
	c.ln = ln
	c.http = &http.Server{Handler: router, ReadHeaderTimeout: 5 * time.Second, ErrorLog: log.New(io.Discard, "", 0)}
	go func() { _ = c.http.Serve(ln) }()
	return c, nil
}

// URL is the endpoint to configure (the charge point appends its id).
func (c *CSMS) URL() string { return c.scheme + "://" + c.ln.Addr().String() + "/ocpp" }

// Port is the listening port.
func (c *CSMS) Port() int { return c.ln.Addr().(*net.TCPAddr).Port }

// Close stops listening and drops every socket.
func (c *CSMS) Close() {
	_ = c.http.Close()
	c.mu.Lock()
	ids := make([]string, 0, len(c.connected))
	for id := range c.connected {
		ids = append(ids, id)
	}
	c.mu.Unlock()
	for _, id := range ids {
		_ = c.wss.StopConnection(id, websocket.CloseError{Code: websocket.CloseGoingAway})
	}
}

func (c *CSMS) note(f func()) {
	c.mu.Lock()
	f()
	close(c.changed)
	c.changed = make(chan struct{})
	c.mu.Unlock()
}

func (c *CSMS) record(action string, req lib.Request) {
	c.note(func() { c.msgs = append(c.msgs, Msg{At: time.Now(), Action: action, Req: req}) })
}

// Msgs returns what was received so far.
func (c *CSMS) Msgs() []Msg {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Msg(nil), c.msgs...)
}

// Connections counts the sockets accepted so far.
func (c *CSMS) Connections() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.conns
}

// Connected reports whether the charge point id has a socket open.
func (c *CSMS) Connected(id string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.connected[id]
}

// Wait blocks until cond holds over the messages received (checked at
// every message and (dis)connection) or the timeout passes; it reports
// whether cond held.
func (c *CSMS) Wait(timeout time.Duration, cond func(msgs []Msg) bool) bool {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		c.mu.Lock()
		ok := cond(c.msgs)
		ch := c.changed
		c.mu.Unlock()
		if ok {
			return true
		}
		select {
		case <-ch:
		case <-deadline.C:
			c.mu.Lock()
			defer c.mu.Unlock()
			return cond(c.msgs)
		}
	}
}

// Call sends a request to the charge point and waits for its answer.
func (c *CSMS) Call(id string, req lib.Request) (lib.Response, error) {
	type result struct {
		r   lib.Response
		err error
	}
	ch := make(chan result, 1)
	if err := c.cs.SendRequestAsync(id, req, func(r lib.Response, err error) { ch <- result{r, err} }); err != nil {
		return nil, err
	}
	select {
	case r := <-ch:
		return r.r, r.err
	case <-time.After(10 * time.Second):
		return nil, fmt.Errorf("%s: no answer within 10 s", req.GetFeatureName())
	}
}

// The central system's side of the core profile: record, then answer.

func (c *CSMS) OnAuthorize(_ string, r *core.AuthorizeRequest) (*core.AuthorizeConfirmation, error) {
	c.record(r.GetFeatureName(), r)
	return core.NewAuthorizationConfirmation(types.NewIdTagInfo(c.TagStatus)), nil
}

func (c *CSMS) OnBootNotification(_ string, r *core.BootNotificationRequest) (*core.BootNotificationConfirmation, error) {
	c.record(r.GetFeatureName(), r)
	return core.NewBootNotificationConfirmation(types.NewDateTime(time.Now()), c.Interval, c.BootStatus), nil
}

func (c *CSMS) OnDataTransfer(_ string, r *core.DataTransferRequest) (*core.DataTransferConfirmation, error) {
	c.record(r.GetFeatureName(), r)
	return core.NewDataTransferConfirmation(core.DataTransferStatusUnknownVendorId), nil
}

func (c *CSMS) OnHeartbeat(_ string, r *core.HeartbeatRequest) (*core.HeartbeatConfirmation, error) {
	c.record(r.GetFeatureName(), r)
	return core.NewHeartbeatConfirmation(types.NewDateTime(time.Now())), nil
}

func (c *CSMS) OnMeterValues(_ string, r *core.MeterValuesRequest) (*core.MeterValuesConfirmation, error) {
	c.record(r.GetFeatureName(), r)
	return core.NewMeterValuesConfirmation(), nil
}

func (c *CSMS) OnStatusNotification(_ string, r *core.StatusNotificationRequest) (*core.StatusNotificationConfirmation, error) {
	c.record(r.GetFeatureName(), r)
	return core.NewStatusNotificationConfirmation(), nil
}

func (c *CSMS) OnStartTransaction(_ string, r *core.StartTransactionRequest) (*core.StartTransactionConfirmation, error) {
	c.mu.Lock()
	c.nextTx++
	id := c.nextTx
	c.mu.Unlock()
	c.record(r.GetFeatureName(), r)
	return core.NewStartTransactionConfirmation(types.NewIdTagInfo(c.TagStatus), id), nil
}

func (c *CSMS) OnStopTransaction(_ string, r *core.StopTransactionRequest) (*core.StopTransactionConfirmation, error) {
	c.record(r.GetFeatureName(), r)
	return core.NewStopTransactionConfirmation(), nil
}

// Statuses lists the connector statuses reported, in order.
func Statuses(msgs []Msg) []core.ChargePointStatus {
	var out []core.ChargePointStatus
	for _, m := range msgs {
		if r, ok := m.Req.(*core.StatusNotificationRequest); ok {
			out = append(out, r.Status)
		}
	}
	return out
}

// Count counts the messages of an action.
func Count(msgs []Msg, action string) int {
	n := 0
	for _, m := range msgs {
		if m.Action == action {
			n++
		}
	}
	return n
}

// Last returns the last message of an action, nil without one.
func Last(msgs []Msg, action string) lib.Request {
	for i := len(msgs) - 1; i >= 0; i-- {
		if msgs[i].Action == action {
			return msgs[i].Req
		}
	}
	return nil
}
