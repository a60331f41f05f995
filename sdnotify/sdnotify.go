// Package sdnotify speaks systemd's service notification protocol
// (sd_notify(3)): one datagram of "KEY=value" lines to the unix socket
// named by $NOTIFY_SOCKET. It needs no cgo and no libsystemd, so the
// static binary can tell systemd it is ready and feed a unit's watchdog.
package sdnotify

import (
	"errors"
	"net"
	"strconv"
	"time"
)

// Messages of the protocol this daemon sends.
const (
	Ready    = "READY=1"
	Stopping = "STOPPING=1"
	Watchdog = "WATCHDOG=1"
)

// maxMessage bounds a notification: systemd reads datagrams of a few KiB;
// a longer one is a caller's mistake, refused rather than cut.
const maxMessage = 4096

// Send writes state as one datagram to socket. A socket name starting
// with '@' is in the abstract namespace, as systemd may hand out.
func Send(socket, state string) error {
	if socket == "" {
		return errors.New("sdnotify: no socket")
	}
	if len(state) > maxMessage {
		return errors.New("sdnotify: message over 4 KiB")
	}
	c, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: socket, Net: "unixgram"})
	if err != nil {
		return err
	}
	defer c.Close()
	_, err = c.Write([]byte(state))
	return err
}

// WatchdogInterval is the unit's WatchdogSec= as systemd passes it:
// WATCHDOG_USEC, meant for this process when WATCHDOG_PID is unset or
// equals pid. ok is false when there is no watchdog (or it is someone
// else's, or the value is not a positive number).
func WatchdogInterval(getenv func(string) string, pid int) (d time.Duration, ok bool) {
	usec, err := strconv.ParseInt(getenv("WATCHDOG_USEC"), 10, 64)
	if err != nil || usec <= 0 {
		return 0, false
	}
	if p := getenv("WATCHDOG_PID"); p != "" && p != strconv.Itoa(pid) {
		return 0, false
	}
	return time.Duration(usec) * time.Microsecond, true
}

// Feeder feeds a watchdog only while Alive says the supervised work is
// making progress: a timer alone would keep feeding a stuck loop.
type Feeder struct {
	Socket string
	Alive  func() bool
}

// Beat sends WATCHDOG=1 when Alive holds, and says whether it did.
func (f Feeder) Beat() (fed bool, err error) {
	if !f.Alive() {
		return false, nil
	}
	return true, Send(f.Socket, Watchdog)
}

// Run beats on every tick until done is closed; errors go to onErr
// (which may be nil).
func (f Feeder) Run(done <-chan struct{}, ticks <-chan time.Time, onErr func(error)) {
	for {
		select {
		case <-done:
			return
		case <-ticks:
			if _, err := f.Beat(); err != nil && onErr != nil {
				onErr(err)
			}
		}
	}
}
