package httpserve

import (
	"io"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

// capRig is a capped listener on loopback whose accepted connections
// answer "ok" at once, so a client can tell accepted from refused.
type capRig struct {
	t   *testing.T
	ln  *limitListener
	acc chan net.Conn
}

func newCapRig(t *testing.T, max, perClient int) *capRig {
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &capRig{t: t, ln: Limit(raw, max, perClient, zerolog.Nop()).(*limitListener), acc: make(chan net.Conn, 16)}
	t.Cleanup(func() { r.ln.Close() })
	go func() {
		for {
			c, err := r.ln.Accept()
			if err != nil {
				return
			}
			_, _ = c.Write([]byte("ok"))
			r.acc <- c
		}
	}()
	return r
}

// dial connects from the loopback address src and reports whether the
// listener kept the connection.
func (r *capRig) dial(src string) (net.Conn, bool) {
	r.t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: 5 * time.Second}
	c, err := d.Dial("tcp", r.ln.Addr().String())
	if err != nil {
		r.t.Fatalf("dial from %s: %v", src, err)
	}
	r.t.Cleanup(func() { c.Close() })
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 2)
	if _, err := io.ReadFull(c, buf); err != nil {
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			r.t.Fatalf("from %s: neither accepted nor refused within 5 s", src)
		}
		return c, false
	}
	return c, true
}

func TestLimitListenerCaps(t *testing.T) {
	r := newCapRig(t, 4, 2) // other hosts share 2 slots, 2 are the machine's
	a1, ok1 := r.dial("127.0.0.2")
	_, ok2 := r.dial("127.0.0.2")
	_, ok3 := r.dial("127.0.0.2")
	if !ok1 || !ok2 || ok3 {
		t.Fatalf("one client: accepted %v %v %v, want the per-client cap of 2 to refuse the third", ok1, ok2, ok3)
	}
	if _, ok := r.dial("127.0.0.3"); ok {
		t.Fatal("another host was accepted into the machine's reserve")
	}
	// The machine itself (the health check) still gets in, up to its own
	// per-client cap.
	if _, ok := r.dial("127.0.0.1"); !ok {
		t.Fatal("127.0.0.1 refused while other hosts hold their share")
	}
	if _, ok := r.dial("127.0.0.1"); !ok {
		t.Fatal("127.0.0.1 refused its second connection")
	}
	if _, ok := r.dial("127.0.0.1"); ok {
		t.Fatal("127.0.0.1 accepted over its per-client cap")
	}
	if total, self := r.ln.open(selfV4); total != 4 || self != 2 {
		t.Fatalf("open %d (self %d), want 4 (2)", total, self)
	}
	// Closing an accepted connection (as the HTTP server does) frees its
	// slot for another host.
	srvSide := <-r.acc
	srvSide.Close()
	a1.Close()
	if total, _ := r.ln.open(selfV4); total != 3 {
		t.Fatalf("%d open after a close, want 3", total)
	}
	if _, ok := r.dial("127.0.0.3"); !ok {
		t.Fatal("a freed slot was not given to the next client")
	}
	srvSide.Close() // a second close must not give a slot back twice
	if total, _ := r.ln.open(selfV4); total != 4 {
		t.Fatalf("%d open after a double close, want 4", total)
	}
}

func TestClientKey(t *testing.T) {
	for in, want := range map[string]string{
		"192.168.1.20:5000":            "192.168.1.20/32",
		"[::ffff:192.168.1.20]:5000":   "192.168.1.20/32",
		"[2001:db8:1:2:aaaa::1]:5000":  "2001:db8:1:2::/64",
		"[2001:db8:1:2:bbbb::9]:5000":  "2001:db8:1:2::/64",
		"[fe80::1%eth0]:5000":          "fe80::/64",
		"[::1]:5000":                   "::1/128",
		"127.0.0.1:5000":               "127.0.0.1/32",
		"[2001:db8:1:3::1]:443":        "2001:db8:1:3::/64",
		"not an address":               "invalid Prefix",
		"[2001:db8:1:2:ffff::ff]:5000": "2001:db8:1:2::/64",
	} {
		var a net.Addr = strAddr(in)
		if ap, err := netip.ParseAddrPort(in); err == nil {
			a = net.TCPAddrFromAddrPort(ap)
		}
		if got := clientKey(a).String(); got != want {
			t.Errorf("clientKey(%s) = %s, want %s", in, got, want)
		}
	}
}

type strAddr string

func (s strAddr) Network() string { return "tcp" }
func (s strAddr) String() string  { return string(s) }

func TestServerLimits(t *testing.T) {
	l := DefaultLimits()
	if err := l.Validate(); err != nil {
		t.Fatal(err)
	}
	srv := l.Server(http.NotFoundHandler(), zerolog.Nop())
	if srv.MaxHeaderBytes != 8<<10 || srv.ReadHeaderTimeout <= 0 || srv.ReadTimeout <= 0 || srv.WriteTimeout <= 0 || srv.IdleTimeout <= 0 {
		t.Fatalf("server without its limits: %+v", srv)
	}
	for name, bad := range map[string]func(*Limits){
		"tiny header":       func(l *Limits) { l.MaxHeaderBytes = 0 },
		"no conns":          func(l *Limits) { l.MaxConns = 0 },
		"client over total": func(l *Limits) { l.MaxConnsPerClient = l.MaxConns + 1 },
		"no idle timeout":   func(l *Limits) { l.IdleTimeout = 0 },
	} {
		b := DefaultLimits()
		bad(&b)
		if err := b.Validate(); err == nil || !strings.Contains(err.Error(), "httpserve") {
			t.Errorf("%s: %v", name, err)
		}
		if _, _, err := Listen("127.0.0.1:0", http.NotFoundHandler(), b, zerolog.Nop()); err == nil {
			t.Errorf("%s: Listen accepted it", name)
		}
	}
}

// TestOversizedHeader: a header over MaxHeaderBytes gets 431 from a server
// made by Listen, and the connection's slot is freed.
func TestOversizedHeader(t *testing.T) {
	srv, ln, err := Listen("127.0.0.1:0", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}), DefaultLimits(), zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	req, _ := http.NewRequest(http.MethodGet, "http://"+ln.Addr().String()+"/", nil)
	req.Header.Set("X-Pad", strings.Repeat("a", 16<<10))
	res, err := (&http.Client{Timeout: 5 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Fatalf("16 KiB header: %d, want 431", res.StatusCode)
	}
}

// A connection over a cap is closed only after RefuseDelay, so a client
// looping on refusals retries a few times a second instead of thousands.
func TestRefusedConnectionHeldBeforeClose(t *testing.T) {
	r := newCapRig(t, 4, 1)
	r.dial("127.0.0.2")
	t0 := time.Now()
	if _, ok := r.dial("127.0.0.2"); ok {
		t.Fatal("accepted over the per-client cap")
	}
	if held := time.Since(t0); held < RefuseDelay {
		t.Fatalf("refused after %v, want at least %v", held, RefuseDelay)
	}
	if n := r.ln.cooling.Load(); n != 0 {
		t.Fatalf("%d refused connections still counted after their close", n)
	}
}
