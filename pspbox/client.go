package pspbox

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Defaults of Options.
const (
	DefaultTimeout         = 2 * time.Second
	DefaultHardwareMax     = 32 // A: the guide's example allows a 32 A boost
	DefaultConfirmWithin   = 2 * time.Second
	DefaultConfirmInterval = 200 * time.Millisecond
)

// Options configure a Client.
type Options struct {
	// URL is the box's address, "http://192.168.0.17"; /webapi/v1/ is
	// appended.
	URL string
	// Timeout bounds each request, connecting and reading the whole
	// answer included. 0: DefaultTimeout.
	Timeout time.Duration
	// HardwareMax is the largest current our rules let a write set
	// (settings.Validate). 0: DefaultHardwareMax.
	HardwareMax int
	// ConfirmWithin is how long a write's read back may look for the new
	// state, ConfirmInterval apart (reads are safe to repeat; writes are
	// not). 0: the defaults.
	ConfirmWithin   time.Duration
	ConfirmInterval time.Duration
	// Username/Password (HTTP Basic) or Token (Bearer) are sent with
	// writes. The vendor's box has no authentication; the project's own
	// daemon, serving the same WebAPI, may.
	Username, Password, Token string
	// Transport replaces the HTTP transport (tests). nil: a transport of
	// our own that ignores proxy settings (the box is on the LAN).
	Transport http.RoundTripper
}

// Client talks to one box. Reads may run concurrently; writes are
// serialised. The zero value is not usable; call New.
type Client struct {
	o    Options
	base string // http://host/webapi/v1/
	http *http.Client
	// writer holds the one write in progress; a channel rather than a
	// mutex so a writer waiting its turn still honours its context.
	writer chan struct{}
}

// New checks the options and returns a client. It does not contact the
// box.
func New(o Options) (*Client, error) {
	u, err := url.Parse(strings.TrimSpace(o.URL))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return nil, fmt.Errorf("pspbox: URL %s must be http://host[:port] of the box", quote(o.URL))
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.HardwareMax <= 0 {
		o.HardwareMax = DefaultHardwareMax
	}
	if o.ConfirmWithin <= 0 {
		o.ConfirmWithin = DefaultConfirmWithin
	}
	if o.ConfirmInterval <= 0 {
		o.ConfirmInterval = DefaultConfirmInterval
	}
	if o.Transport == nil {
		o.Transport = &http.Transport{
			Proxy:                  nil,
			DialContext:            (&net.Dialer{Timeout: o.Timeout, KeepAlive: 30 * time.Second}).DialContext,
			MaxIdleConnsPerHost:    2,
			IdleConnTimeout:        30 * time.Second,
			ResponseHeaderTimeout:  o.Timeout,
			MaxResponseHeaderBytes: 16 << 10,
			DisableCompression:     true,
		}
	}
	c := &Client{
		o:    o,
		base: strings.TrimSuffix(u.String(), "/") + "/webapi/v1/",
		http: &http.Client{
			Transport: o.Transport,
			// The box does not redirect; following one would send a
			// toggle to whoever it names.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		writer: make(chan struct{}, 1),
	}
	return c, nil
}

// URL returns the box's WebAPI base address.
func (c *Client) URL() string { return c.base }

// Close drops idle connections.
func (c *Client) Close() { c.http.CloseIdleConnections() }

// reply is one HTTP exchange with the box.
type reply struct {
	status int
	body   []byte
	local  netip.Addr // our address on the connection, as the box sees it
}

// do sends one request and reads the whole answer within the timeout and
// MaxBody. Any failure to get an answer is ErrUnreachable; an answer
// larger than MaxBody is ErrBadAnswer.
func (c *Client) do(ctx context.Context, method, doc string, body []byte) (reply, error) {
	op := method + " " + doc
	budget := c.o.Timeout
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) < budget {
		budget = max(time.Until(dl), 0).Round(time.Millisecond) // the caller's deadline is the shorter
	}
	ctx, cancel := context.WithTimeout(ctx, c.o.Timeout)
	defer cancel()
	ctx = context.WithValue(ctx, budgetKey{}, budget)
	var rep reply
	trace := &httptrace.ClientTrace{GotConn: func(ci httptrace.GotConnInfo) {
		if ap, err := netip.ParseAddrPort(ci.Conn.LocalAddr().String()); err == nil {
			rep.local = ap.Addr().Unmap().WithZone("")
		}
	}}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(httptrace.WithClientTrace(ctx, trace), method, c.base+doc, rd)
	if err != nil {
		return rep, fmt.Errorf("%s: %w", op, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
		switch {
		case c.o.Token != "":
			req.Header.Set("Authorization", "Bearer "+c.o.Token)
		case c.o.Username != "":
			req.SetBasicAuth(c.o.Username, c.o.Password)
		}
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return rep, c.transportError(ctx, op, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, MaxBody+1))
	if err != nil {
		return rep, c.transportError(ctx, op, err)
	}
	if len(b) > MaxBody {
		return rep, fmt.Errorf("%s: %w: answer larger than %d bytes", op, ErrBadAnswer, MaxBody)
	}
	rep.status, rep.body = resp.StatusCode, b
	return rep, nil
}

// budgetKey carries how long a request could wait (the timeout or the
// caller's shorter deadline), so a timeout says the right figure.
type budgetKey struct{}

// transportError words a failed exchange; the caller's own cancellation
// is passed on as such, everything else is ErrUnreachable.
func (c *Client) transportError(ctx context.Context, op string, err error) error {
	if cause := context.Cause(ctx); cause != nil && !errors.Is(cause, context.DeadlineExceeded) {
		return fmt.Errorf("%s: %w", op, cause)
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(ctx.Err(), context.DeadlineExceeded) {
		budget, ok := ctx.Value(budgetKey{}).(time.Duration)
		if !ok {
			budget = c.o.Timeout
		}
		return fmt.Errorf("%s: %w: no answer within %s", op, ErrUnreachable, budget)
	}
	return fmt.Errorf("%s: %w: %s", op, ErrUnreachable, clip(err.Error(), 200))
}

// get fetches a read-only document; anything but 200 is ErrBadAnswer.
func (c *Client) get(ctx context.Context, doc string) (reply, error) {
	rep, err := c.do(ctx, http.MethodGet, doc, nil)
	if err != nil {
		return rep, err
	}
	if rep.status != http.StatusOK {
		return rep, fmt.Errorf("GET %s: %w: HTTP %d %s", doc, ErrBadAnswer, rep.status, shorten(rep.body))
	}
	return rep, nil
}

// Status reads GET Status.
func (c *Client) Status(ctx context.Context) (Status, error) {
	rep, err := c.get(ctx, "Status")
	if err != nil {
		return Status{}, err
	}
	return DecodeStatus(rep.body)
}

// SystemConfig reads GET SystemConfig.
func (c *Client) SystemConfig(ctx context.Context) (SystemConfig, error) {
	rep, err := c.get(ctx, "SystemConfig")
	if err != nil {
		return SystemConfig{}, err
	}
	return DecodeSystemConfig(rep.body)
}

// SystemInfo reads GET SystemInfo.
func (c *Client) SystemInfo(ctx context.Context) (SystemInfo, error) {
	rep, err := c.get(ctx, "SystemInfo")
	if err != nil {
		return SystemInfo{}, err
	}
	return DecodeSystemInfo(rep.body)
}

// Meter reads GET Meter1 (n = 1) or Meter2 (n = 2).
func (c *Client) Meter(ctx context.Context, n int) (Meter, error) {
	if n != 1 && n != 2 {
		return Meter{}, fmt.Errorf("%w: meter %d: must be 1 or 2", ErrInvalid, n)
	}
	rep, err := c.get(ctx, "Meter"+strconv.Itoa(n))
	if err != nil {
		return Meter{}, err
	}
	return DecodeMeter(rep.body, n)
}

// LocalAddr reads Status once and returns our address on that connection:
// the address the box sees as the request's source, which is what Meter2Ip
// must hold for the box to take our EVSEPowerAvailable.
func (c *Client) LocalAddr(ctx context.Context) (netip.Addr, error) {
	rep, err := c.get(ctx, "Status")
	if err != nil {
		return netip.Addr{}, err
	}
	if !rep.local.IsValid() {
		return netip.Addr{}, errors.New("pspbox: the connection's local address is unknown")
	}
	return rep.local, nil
}
