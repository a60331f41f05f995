package httpserve

import (
	"log"
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"
)

// Limit wraps ln so that at most max connections are open at once, and at
// most perClient from one client (see Limits.MaxConnsPerClient). A
// connection over a cap is closed right after Accept instead of waiting
// for a free slot: waiting would let a flood queue ahead of everyone else
// in the kernel's backlog, while closing keeps the slots for clients that
// behave. Refusals are logged at warn, at most once a minute.
//
// The last perClient slots are kept for the machine itself (127.0.0.1 and
// ::1): the container health check and local tools still get in when
// other hosts together fill the rest.
func Limit(ln net.Listener, max, perClient int, log zerolog.Logger) net.Listener {
	return &limitListener{Listener: ln, max: max, perClient: perClient, log: log, byClient: map[netip.Prefix]int{}}
}

type limitListener struct {
	net.Listener
	max, perClient int
	log            zerolog.Logger

	mu       sync.Mutex
	total    int
	byClient map[netip.Prefix]int

	refused   atomic.Int64 // since the last refusal log line
	lastLogNs atomic.Int64
	cooling   atomic.Int64 // refused connections waiting out RefuseDelay
}

// RefuseDelay is how long a connection over a cap is held (unread) before
// it is closed, and MaxCooling bounds how many are held at once (beyond,
// they are closed at once). A client whose connection is closed at once
// reconnects at once: 512 looping connections from one host made some
// 3000 refusals a second, a churn that cost the daemon a third of a core.
// Held for a moment, each looping client retries a few times a second.
const (
	RefuseDelay = 500 * time.Millisecond
	MaxCooling  = 512
)

// Accept returns the next connection within the caps.
func (l *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		key := clientKey(c.RemoteAddr())
		if why := l.acquire(key); why != "" {
			l.refuse(c)
			l.noteRefusal(key, why)
			continue
		}
		return &limitConn{Conn: c, l: l, key: key}, nil
	}
}

// refuse closes a connection over a cap after RefuseDelay, or at once
// when MaxCooling are already held.
func (l *limitListener) refuse(c net.Conn) {
	if l.cooling.Add(1) > MaxCooling {
		l.cooling.Add(-1)
		c.Close()
		return
	}
	time.AfterFunc(RefuseDelay, func() {
		l.cooling.Add(-1)
		c.Close()
	})
}

// acquire takes a slot for key; it returns why not when a cap is reached.
func (l *limitListener) acquire(key netip.Prefix) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.byClient[key] >= l.perClient {
		return "per-client cap"
	}
	if l.total >= l.max {
		return "total cap"
	}
	// Other hosts together leave perClient slots for the machine itself.
	if others := l.total - l.byClient[selfV4] - l.byClient[selfV6]; !isSelf(key) && others >= l.max-l.perClient {
		return "total cap (the rest is kept for the machine itself)"
	}
	l.total++
	l.byClient[key]++
	return ""
}

func (l *limitListener) release(key netip.Prefix) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.total--
	if n := l.byClient[key] - 1; n > 0 {
		l.byClient[key] = n
	} else {
		delete(l.byClient, key) // the map holds only clients with connections
	}
}

// open returns the connections held in total and by key (for tests).
func (l *limitListener) open(key netip.Prefix) (total, client int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.total, l.byClient[key]
}

// noteRefusal logs a refusal, at most once a minute with the count since.
func (l *limitListener) noteRefusal(key netip.Prefix, why string) {
	n := l.refused.Add(1)
	now := time.Now().UnixNano()
	last := l.lastLogNs.Load()
	if last != 0 && now-last < int64(time.Minute) {
		return
	}
	if !l.lastLogNs.CompareAndSwap(last, now) {
		return
	}
	l.refused.Add(-n)
	l.log.Warn().Str("client", key.String()).Str("reason", why).Int64("refused", n).
		Int("max_conns", l.max).Int("max_conns_per_client", l.perClient).
		Msg("HTTP connections refused: too many open")
}

// isSelf reports whether key is the machine itself, for the reserve.
func isSelf(key netip.Prefix) bool {
	return key == selfV4 || key == selfV6
}

var (
	selfV4 = netip.MustParsePrefix("127.0.0.1/32")
	selfV6 = netip.MustParsePrefix("::1/128")
)

// clientKey is what the per-client cap counts by: the IPv4 address, or
// the IPv6 /64 (a host on a LAN may use any address of its /64); ::1 is
// itself.
func clientKey(a net.Addr) netip.Prefix {
	var ip netip.Addr
	switch t := a.(type) {
	case *net.TCPAddr:
		ip, _ = netip.AddrFromSlice(t.IP)
	default:
		if ap, err := netip.ParseAddrPort(a.String()); err == nil {
			ip = ap.Addr()
		}
	}
	ip = ip.Unmap().WithZone("")
	if !ip.IsValid() {
		return netip.Prefix{}
	}
	bits := 32
	if ip.Is6() && !ip.IsLoopback() {
		bits = 64
	} else if ip.Is6() {
		bits = 128
	}
	p, _ := ip.Prefix(bits)
	return p
}

// limitConn gives its slot back when closed (the server closes every
// connection it accepted, whatever the reason).
type limitConn struct {
	net.Conn
	l    *limitListener
	key  netip.Prefix
	once sync.Once
}

func (c *limitConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() { c.l.release(c.key) })
	return err
}

// newStdLogger adapts zerolog to the *log.Logger http.Server wants.
func newStdLogger(zl zerolog.Logger) *log.Logger {
	return log.New(stdWriter{zl}, "", 0)
}

type stdWriter struct{ log zerolog.Logger }

func (w stdWriter) Write(p []byte) (int, error) {
	w.log.Warn().Msg(strings.TrimSpace(string(p)))
	return len(p), nil
}
