package ocpp

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	lib "github.com/lorenzodonini/ocpp-go/ocpp"
	ocpp16 "github.com/lorenzodonini/ocpp-go/ocpp1.6"
	"github.com/lorenzodonini/ocpp-go/ocpp1.6/core"
	"github.com/lorenzodonini/ocpp-go/ocpp1.6/remotetrigger"
	"github.com/lorenzodonini/ocpp-go/ocpp1.6/smartcharging"
	"github.com/lorenzodonini/ocpp-go/ocppj"
	"github.com/lorenzodonini/ocpp-go/ws"
	"github.com/rs/zerolog"

	"github.com/evse-mqtt/evse-mqtt/charger"
	"github.com/evse-mqtt/evse-mqtt/command"
)

// Connection states, as State reports them.
const (
	ConnDisconnected = "disconnected" // no socket; retrying
	ConnPending      = "pending"      // socket open, BootNotification not (yet) accepted
	ConnRejected     = "rejected"     // the central system rejected the boot; retrying at its interval
	ConnAccepted     = "accepted"     // registered: the charge point works with the central system
)

// Options wire a Client.
type Options struct {
	Config   Config
	Charger  charger.Charger
	Commands *command.Table // every write the central system asks for
	StateDir string
	DeviceID string // serial number, and the identity when Config.ID is empty
	Version  string // firmware version
	Model    string // chargePointModel; default "evse-mqtt"
	Log      zerolog.Logger
	// RetryMin is the first reconnect delay, doubling up to a minute (or
	// half the liveness bound, when shorter) while the central system
	// cannot be reached; default 1 s.
	RetryMin time.Duration
}

// State is the connection and transaction as the surfaces show them.
type State struct {
	Connection string // ConnDisconnected, ConnPending, ConnRejected, ConnAccepted
	// Transaction is the central system's transactionId of the session
	// in progress; 0 without one or while it is not known yet.
	Transaction int
	// LocalTransaction is this charge point's id of the session in
	// progress, 0 without one.
	LocalTransaction int
	Queued           int    // transaction messages waiting for the central system
	LastError        string `json:",omitempty"`
}

// Client is the charge point.
type Client struct {
	o   Options
	cfg Config
	id  string
	log zerolog.Logger
	st  *store
	// base is the energy register (Wh) persisted by the previous run;
	// this run's deliveries count on top of it.
	base float64

	mu         sync.Mutex
	conn       string
	lastErr    string
	cp         ocpp16.ChargePoint // nil while not connected
	registered bool               // accepted on the current socket
	lastHeard  time.Time
	sentStatus statusKey
	statusOK   bool // sentStatus was sent on this socket
	remoteTag  string
	stopReason core.Reason

	remoteErr atomic.Pointer[lib.Error] // the last CALLERROR the central system sent

	sendKick  chan struct{}
	timerKick chan struct{}
	hard      chan struct{}

	subMu sync.Mutex
	subs  map[chan struct{}]struct{}
}

// Subscribe returns a channel that receives (coalesced) whenever State
// changes, and a function to stop.
func (c *Client) Subscribe() (<-chan struct{}, func()) {
	ch := make(chan struct{}, 1)
	c.subMu.Lock()
	if c.subs == nil {
		c.subs = map[chan struct{}]struct{}{}
	}
	c.subs[ch] = struct{}{}
	c.subMu.Unlock()
	return ch, func() {
		c.subMu.Lock()
		delete(c.subs, ch)
		c.subMu.Unlock()
	}
}

// changed tells the subscribers that State changed.
func (c *Client) changed() {
	c.subMu.Lock()
	defer c.subMu.Unlock()
	for ch := range c.subs {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}

// New opens the persisted state and returns the charge point; Run
// connects it.
func New(o Options) (*Client, error) {
	if !o.Config.Enabled() {
		return nil, errors.New("ocpp: no url configured")
	}
	if err := o.Config.Validate("ocpp"); err != nil {
		return nil, err
	}
	st, err := openStore(o.StateDir)
	if err != nil {
		return nil, fmt.Errorf("ocpp state: %w", err)
	}
	if o.Model == "" {
		o.Model = "evse-mqtt"
	}
	if o.RetryMin <= 0 {
		o.RetryMin = time.Second
	}
	id := o.Config.ID
	if id == "" {
		id = o.DeviceID
	}
	c := &Client{o: o, cfg: o.Config, id: id, st: st, base: st.d.RegisterWh, conn: ConnDisconnected,
		log:      o.Log.With().Str("component", "ocpp").Logger(),
		sendKick: make(chan struct{}, 1), timerKick: make(chan struct{}, 1), hard: make(chan struct{}, 1)}
	return c, nil
}

// State reports the connection and the transaction.
func (c *Client) State() State {
	c.mu.Lock()
	s := State{Connection: c.conn, LastError: c.lastErr}
	c.mu.Unlock()
	c.st.mu.Lock()
	if t := c.st.d.Open; t != nil {
		s.LocalTransaction = t.Local
		s.Transaction = c.st.d.IDs[t.Local]
	}
	s.Queued = len(c.st.d.Queue)
	c.st.mu.Unlock()
	return s
}

const (
	kickSend = iota
	kickTimers
)

// kick wakes the sender or the timer loop.
func (c *Client) kick(which int) {
	ch := c.sendKick
	if which == kickTimers {
		ch = c.timerKick
	}
	select {
	case ch <- struct{}{}:
	default:
	}
}

// heard records that the central system answered or asked something.
func (c *Client) heard() {
	c.mu.Lock()
	c.lastHeard = time.Now()
	c.mu.Unlock()
}

func (c *Client) setConn(s string, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.conn != s {
		c.log.Info().Str("state", s).Msg("central system connection")
		defer c.changed()
	}
	c.conn = s
	if err != nil && c.lastErr != err.Error() {
		c.lastErr = err.Error()
		defer c.changed()
	}
}

// current returns the charge point while registered.
func (c *Client) current() ocpp16.ChargePoint {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.registered {
		return nil
	}
	return c.cp
}

// Run keeps the charge point connected until ctx ends. It also watches the
// charger for sessions and status (watch.go) while disconnected.
func (c *Client) Run(ctx context.Context) {
	c.reapply()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); c.watch(ctx) }()
	delay := c.o.RetryMin
	for ctx.Err() == nil {
		ok := c.session(ctx)
		if ok {
			delay = c.o.RetryMin
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
		case <-t.C:
		}
		t.Stop()
		// Reconnect within the liveness bound: a silent central system
		// is dropped after Liveness, and a lost one is dialled again at
		// most Liveness/2 later (and at least every minute).
		delay = min(delay*2, time.Minute, max(c.cfg.Liveness/2, c.o.RetryMin))
	}
	wg.Wait()
}

// dial opens the socket.
func (c *Client) dial(lost chan<- error) (ocpp16.ChargePoint, error) {
	var wsc *ws.Client
	if strings.HasPrefix(c.cfg.URL, "wss:") {
		tc := &tls.Config{MinVersion: tls.VersionTLS12}
		if c.cfg.CAFile != "" {
			pem, err := os.ReadFile(c.cfg.CAFile)
			if err != nil {
				return nil, err
			}
			tc.RootCAs = x509.NewCertPool()
			if !tc.RootCAs.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("%s: no PEM certificate", c.cfg.CAFile)
			}
		}
		wsc = ws.NewTLSClient(tc)
	} else {
		wsc = ws.NewClient()
	}
	if c.cfg.Password != "" {
		wsc.SetBasicAuth(c.id, c.cfg.Password)
	}
	tc := ws.NewClientTimeoutConfig()
	tc.HandshakeTimeout = 10 * time.Second
	wsc.SetTimeoutConfig(tc)
	disp := ocppj.NewDefaultClientDispatcher(ocppj.NewFIFOClientQueue(0))
	disp.SetTimeout(c.cfg.Liveness)
	ep := ocppj.NewClient(c.id, wsc, disp, nil, core.Profile, smartcharging.Profile, remotetrigger.Profile)
	ep.SetInvalidMessageHook(callErrorHook)
	ep.SetOnDisconnectedHandler(func(err error) {
		select {
		case lost <- err:
		default:
		}
	})
	cp := ocpp16.NewChargePoint(c.id, ep, wsc)
	// Timeouts and write failures reach a caller as *ocpp.Error too; a
	// CALLERROR the central system sent passes here first, so the queue
	// can tell the two apart (a refusal drops, a timeout keeps).
	onErr := ep.GetErrorHandler()
	ep.SetErrorHandler(func(e *lib.Error, details any) {
		c.remoteErr.Store(e)
		onErr(e, details)
	})
	cp.SetCoreHandler(c)
	cp.SetSmartChargingHandler(c)
	cp.SetRemoteTriggerHandler(c)
	if err := cp.Start(strings.TrimRight(c.cfg.URL, "/")); err != nil {
		return nil, err
	}
	return &guardedCP{ChargePoint: cp}, nil
}

// session runs one socket: boot, then status, the queue, heartbeats and
// the liveness probe, until the socket is lost, the central system falls
// silent, a hard reset or ctx. It reports whether the boot was accepted.
func (c *Client) session(ctx context.Context) bool {
	lost := make(chan error, 1)
	cp, err := c.dial(lost)
	if err != nil {
		c.setConn(ConnDisconnected, err)
		c.log.Debug().Err(err).Msg("central system not reached")
		return false
	}
	c.mu.Lock()
	c.cp, c.registered, c.statusOK, c.lastHeard = cp, false, false, time.Now()
	c.mu.Unlock()
	c.setConn(ConnPending, nil)
	sctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	booted := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		if c.boot(sctx, cp) {
			close(booted)
			c.sendStatus(true)
			c.drain(sctx, cp)
		}
	}()
	accepted := false
	why := "stopped"
	tick := time.NewTicker(min(c.cfg.Liveness/8, time.Second))
	defer tick.Stop()
	lastBeat, lastProbe := time.Now(), time.Time{}
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case err := <-lost:
			why = "socket lost"
			if err != nil {
				why += ": " + err.Error()
			}
			break loop
		case <-c.hard:
			why = "hard reset"
			break loop
		case <-booted:
			accepted, booted = true, nil
		case now := <-tick.C:
			c.mu.Lock()
			silent := now.Sub(c.lastHeard)
			c.mu.Unlock()
			if silent >= c.cfg.Liveness {
				why = fmt.Sprintf("central system silent for %v", silent.Round(time.Millisecond))
				break loop
			}
			iv := time.Duration(c.keyInt("HeartbeatInterval")) * time.Second
			beat := accepted && iv > 0 && now.Sub(lastBeat) >= iv
			probe := silent >= c.cfg.Liveness/2 && now.Sub(lastProbe) >= c.cfg.Liveness/4
			if beat || probe {
				lastBeat, lastProbe = now, now
				_ = cp.SendRequestAsync(core.NewHeartbeatRequest(), func(_ lib.Response, err error) {
					if err == nil {
						c.heard()
					}
				})
			}
		}
	}
	c.log.Info().Str("why", why).Msg("central system socket closed")
	c.mu.Lock()
	c.cp, c.registered = nil, false
	c.mu.Unlock()
	cancel()
	// ocpp-go's Stop can wait forever for a disconnect that already
	// happened (a socket lost while stopping): never let that stop the
	// charge point from dialling again. The abandoned sender ends with
	// its context once its call returns.
	stopped := make(chan struct{})
	go func() { cp.Stop(); wg.Wait(); close(stopped) }()
	select {
	case <-stopped:
	case <-time.After(stopGrace):
		c.log.Warn().Msg("the websocket client did not stop; going on without it")
	}
	c.setConn(ConnDisconnected, errors.New(why))
	return accepted
}

// stopGrace bounds how long a socket's teardown may take.
const stopGrace = 3 * time.Second

// boot sends BootNotification until accepted; Pending and Rejected retry
// at the interval the central system gives.
func (c *Client) boot(ctx context.Context, cp ocpp16.ChargePoint) bool {
	for ctx.Err() == nil {
		conf, err := cp.BootNotification(c.o.Model, "evse-mqtt", func(r *core.BootNotificationRequest) {
			r.ChargePointSerialNumber = clipN(c.o.DeviceID, 25)
			r.FirmwareVersion = clipN(c.o.Version, 50)
		})
		iv := 10 * time.Second
		if err == nil {
			c.heard()
			if conf.Interval > 0 {
				iv = time.Duration(conf.Interval) * time.Second
			}
			switch conf.Status {
			case core.RegistrationStatusAccepted:
				c.setHeartbeat(conf.Interval)
				c.mu.Lock()
				same := c.cp == cp // the session may have ended while the answer came
				c.registered = same
				c.mu.Unlock()
				if !same {
					return false
				}
				c.setConn(ConnAccepted, nil)
				c.kick(kickSend)
				return true
			case core.RegistrationStatusRejected:
				c.setConn(ConnRejected, errors.New("boot rejected"))
			default:
				c.setConn(ConnPending, nil)
			}
		} else {
			c.log.Debug().Err(err).Msg("BootNotification")
		}
		t := time.NewTimer(iv)
		select {
		case <-ctx.Done():
		case <-t.C:
		}
		t.Stop()
	}
	return false
}

// setHeartbeat takes the boot's interval as HeartbeatInterval.
func (c *Client) setHeartbeat(s int) {
	if s <= 0 {
		return
	}
	c.st.mu.Lock()
	defer c.st.mu.Unlock()
	c.st.d.Keys["HeartbeatInterval"] = fmt.Sprint(s)
	_ = c.st.save()
}

func clipN(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// lastHeardAt is when the central system was last heard from.
func (c *Client) lastHeardAt() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lastHeard
}
