package daemon

import (
	"context"
	"os"
	"time"

	"github.com/evse-mqtt/evse-mqtt/sdnotify"
)

// loopStaleAfter is how old the control loop's latest step may be before
// the loop counts as stuck: the same threshold /healthz uses (webapi's
// default StaleAfter), so systemd and a container's health check agree.
const loopStaleAfter = 5 * time.Second

// notifySystemd tells systemd (Type=notify) that the daemon is ready and,
// when the unit sets WatchdogSec=, feeds the watchdog at half its period,
// but only while the control loop has stepped within loopStaleAfter: a
// stuck loop starves the watchdog and systemd restarts the service. It
// returns what to call on the way out (STOPPING=1). Without
// $NOTIFY_SOCKET (not under systemd, a container) it does nothing.
func (d *Daemon) notifySystemd(ctx context.Context) (stopping func()) {
	socket := os.Getenv("NOTIFY_SOCKET")
	if socket == "" {
		return func() {}
	}
	if err := sdnotify.Send(socket, sdnotify.Ready); err != nil {
		d.log.Warn().Err(err).Str("socket", socket).Msg("systemd notification failed")
	}
	if period, ok := sdnotify.WatchdogInterval(os.Getenv, os.Getpid()); ok {
		f := sdnotify.Feeder{Socket: socket, Alive: func() bool {
			return loopAlive(d.ch.Status().At, time.Now()) // as /healthz judges, for either backend
		}}
		t := time.NewTicker(period / 2)
		go func() {
			defer t.Stop()
			f.Run(ctx.Done(), t.C, func(err error) {
				d.log.Warn().Err(err).Msg("systemd watchdog notification failed")
			})
		}()
		d.log.Info().Dur("period", period).Msg("feeding the systemd watchdog while the control loop steps")
	}
	return func() { _ = sdnotify.Send(socket, sdnotify.Stopping) }
}

// loopAlive says whether a control loop whose latest step was at is
// alive at now: it has stepped, and within loopStaleAfter.
func loopAlive(at, now time.Time) bool {
	return !at.IsZero() && now.Sub(at) <= loopStaleAfter
}
