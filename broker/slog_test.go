package broker

import (
	"bytes"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"testing"

	"github.com/rs/zerolog"
)

// mochi's warnings reach the daemon's log, except a client's read ended
// by the broker's own stop (it logged "use of closed network connection"
// at warn on every shutdown).
func TestSlogDropsOnlyClosedConnections(t *testing.T) {
	var buf bytes.Buffer
	l := newSlogLogger(zerolog.New(&buf))
	l.Warn("", "listener", "tcp", "error", fmt.Errorf("read tcp: %w", net.ErrClosed))
	if buf.Len() != 0 {
		t.Fatalf("a closed connection was logged: %s", buf.String())
	}
	l.Warn("client error", "error", fmt.Errorf("read tcp: connection reset by peer"))
	l.Error("listener failed", slog.String("listener", "tcp"))
	out := buf.String()
	if !strings.Contains(out, `connection reset by peer"`) || !strings.Contains(out, `"level":"error"`) {
		t.Fatalf("real problems must still be logged, got %s", out)
	}
}
