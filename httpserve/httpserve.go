// Package httpserve is the one place where the daemon's HTTP server gets
// its limits: header size, timeouts and how many connections it holds at
// once, in total and per client. It exists because a charger on a home LAN
// must keep its memory and its control loop out of reach of whatever a
// client does before any authentication: 400 clients each sending an
// unfinished 1 MB header once took the process to 1.09 GB.
package httpserve

import (
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/rs/zerolog"
)

// Limits bound what clients can make the server hold.
type Limits struct {
	// MaxHeaderBytes bounds the request line and headers (the server
	// answers 431 above it). The WebAPI's requests need a few hundred
	// bytes; 8 KiB leaves room for cookies a browser may add.
	MaxHeaderBytes int
	// MaxConns bounds open connections in total; MaxConnsPerClient bounds
	// those of one client (an IPv4 address, or an IPv6 /64, since one
	// host can pick any address in its /64). A connection over either cap
	// is closed at once, so one client cannot starve the others, and
	// MaxConnsPerClient of the total are kept for the machine itself
	// (127.0.0.1, ::1), so its health check gets in whatever others do.
	MaxConns          int
	MaxConnsPerClient int
	// ReadHeaderTimeout bounds the wait for a request's headers,
	// ReadTimeout the whole request, WriteTimeout the answer and
	// IdleTimeout a kept-alive connection between requests.
	ReadHeaderTimeout time.Duration
	ReadTimeout       time.Duration
	WriteTimeout      time.Duration
	IdleTimeout       time.Duration
}

// DefaultLimits are sized for a charger: a handful of dashboards, the
// vendor's app, Home Assistant and a supervisor. Each connection costs
// the server some 20–40 KiB (goroutine, buffers, at most MaxHeaderBytes of
// header), so MaxConns keeps the whole HTTP side within a few MB.
func DefaultLimits() Limits {
	return Limits{
		MaxHeaderBytes:    8 << 10,
		MaxConns:          256,
		MaxConnsPerClient: 32,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       15 * time.Second, // a 64 KiB body at 4 KiB/s
		WriteTimeout:      15 * time.Second,
		IdleTimeout:       60 * time.Second,
	}
}

// Validate reports a limit that would disable its protection.
func (l Limits) Validate() error {
	switch {
	case l.MaxHeaderBytes < 1024:
		return fmt.Errorf("httpserve: MaxHeaderBytes %d is below 1 KiB", l.MaxHeaderBytes)
	case l.MaxConnsPerClient < 1 || l.MaxConnsPerClient >= l.MaxConns:
		return fmt.Errorf("httpserve: connection caps %d total, %d per client: need 1 ≤ per client < total (per client is also the machine's own reserve)", l.MaxConns, l.MaxConnsPerClient)
	case l.ReadHeaderTimeout <= 0 || l.ReadTimeout <= 0 || l.WriteTimeout <= 0 || l.IdleTimeout <= 0:
		return fmt.Errorf("httpserve: every timeout must be positive")
	}
	return nil
}

// Server returns an http.Server for h with the limits applied. Serve it
// on a listener from Listen (or Limit), which enforces the connection
// caps.
func (l Limits) Server(h http.Handler, log zerolog.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		MaxHeaderBytes:    l.MaxHeaderBytes,
		ReadHeaderTimeout: l.ReadHeaderTimeout,
		ReadTimeout:       l.ReadTimeout,
		WriteTimeout:      l.WriteTimeout,
		IdleTimeout:       l.IdleTimeout,
		// The server's own complaints (TLS handshakes, Accept errors) go
		// to the daemon's log instead of stderr, at warn.
		ErrorLog: newStdLogger(log),
	}
}

// Listen listens on addr and returns the server for h together with the
// capped listener to serve it on: go srv.Serve(ln).
func Listen(addr string, h http.Handler, l Limits, log zerolog.Logger) (*http.Server, net.Listener, error) {
	if err := l.Validate(); err != nil {
		return nil, nil, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, nil, fmt.Errorf("http listen %s: %w", addr, err)
	}
	log = log.With().Str("component", "http").Logger()
	return l.Server(h, log), Limit(ln, l.MaxConns, l.MaxConnsPerClient, log), nil
}
