package broker

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"strings"

	"github.com/rs/zerolog"
)

// zerologHandler routes mochi's slog output into the daemon's zerolog
// logger. Only warnings and errors pass: mochi logs every connect and
// disconnect at info, which would drown the daemon's own log.
type zerologHandler struct {
	log    zerolog.Logger
	attrs  []slog.Attr
	prefix string // group path, "a.b."
}

func newSlogLogger(log zerolog.Logger) *slog.Logger {
	return slog.New(&zerologHandler{log: log})
}

// Enabled implements slog.Handler.
func (h *zerologHandler) Enabled(_ context.Context, l slog.Level) bool {
	return l >= slog.LevelWarn
}

// Handle implements slog.Handler.
func (h *zerologHandler) Handle(_ context.Context, r slog.Record) error {
	if closedConn(r) {
		return nil // a client's read cut by the broker's own stop: not news
	}
	ev := h.log.Warn()
	if r.Level >= slog.LevelError {
		ev = h.log.Error()
	}
	for _, a := range h.attrs {
		ev = addAttr(ev, "", a)
	}
	r.Attrs(func(a slog.Attr) bool {
		ev = addAttr(ev, h.prefix, a)
		return true
	})
	ev.Msg(r.Message)
	return nil
}

// closedConn reports a record whose error is only a connection the broker
// itself closed (every client read ends so when the broker stops).
func closedConn(r slog.Record) bool {
	closed := false
	r.Attrs(func(a slog.Attr) bool {
		if err, ok := a.Value.Resolve().Any().(error); ok && errors.Is(err, net.ErrClosed) {
			closed = true
			return false
		}
		return true
	})
	return closed
}

// addAttr adds one attribute, flattening groups into dotted keys.
func addAttr(ev *zerolog.Event, prefix string, a slog.Attr) *zerolog.Event {
	v := a.Value.Resolve()
	if v.Kind() == slog.KindGroup {
		for _, g := range v.Group() {
			ev = addAttr(ev, prefix+a.Key+".", g)
		}
		return ev
	}
	key := prefix + a.Key
	switch x := v.Any().(type) {
	case error:
		return ev.AnErr(key, x)
	case string:
		return ev.Str(key, x)
	default:
		return ev.Interface(key, x)
	}
}

// WithAttrs implements slog.Handler.
func (h *zerologHandler) WithAttrs(as []slog.Attr) slog.Handler {
	c := *h
	c.attrs = append([]slog.Attr{}, h.attrs...)
	for _, a := range as {
		// Attributes added inside a group carry its path.
		if h.prefix != "" {
			a.Key = h.prefix + a.Key
		}
		c.attrs = append(c.attrs, a)
	}
	return &c
}

// WithGroup implements slog.Handler.
func (h *zerologHandler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	c := *h
	c.prefix = strings.TrimSuffix(h.prefix+name, ".") + "."
	return &c
}
