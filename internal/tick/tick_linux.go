package tick

import (
	"encoding/binary"
	"errors"
	"os"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

type timerfd struct {
	f     *os.File
	rc    syscall.RawConn
	sched schedule
	woken atomic.Bool
	// dirty is set whenever a read deadline may be in force, so Wait
	// clears it only then: every SetReadDeadline modifies a runtime
	// timer, and that wakes a thread.
	dirty atomic.Bool

	buf    [8]byte
	fired  uint64
	read   func(fd uintptr) bool // t.readFD, bound once: a closure per Wait would allocate every tick
	closed bool
}

func newClock(period time.Duration) (Clock, error) {
	if period <= 0 {
		return nil, errors.New("tick: period must be positive")
	}
	fd, err := unix.TimerfdCreate(unix.CLOCK_MONOTONIC, unix.TFD_NONBLOCK|unix.TFD_CLOEXEC)
	if err != nil {
		return nil, os.NewSyscallError("timerfd_create", err)
	}
	t := &timerfd{f: os.NewFile(uintptr(fd), "timerfd")}
	t.read = t.readFD
	if t.rc, err = t.f.SyscallConn(); err != nil {
		t.f.Close()
		return nil, err
	}
	spec := unix.ItimerSpec{Interval: unix.NsecToTimespec(int64(period)), Value: unix.NsecToTimespec(int64(period))}
	t.sched = schedule{start: time.Now(), period: period}
	if err := unix.TimerfdSettime(fd, 0, &spec, nil); err != nil {
		t.f.Close()
		return nil, os.NewSyscallError("timerfd_settime", err)
	}
	return t, nil
}

func (t *timerfd) Wake() {
	t.woken.Store(true)
	t.dirty.Store(true)
	_ = t.f.SetReadDeadline(time.Unix(1, 0)) // in the past: the read returns now
}

func (t *timerfd) Wait() (Event, error) {
	if t.closed {
		return Event{}, ErrClosed
	}
	if t.woken.Swap(false) {
		return Event{}, nil
	}
	// Clear a Wake's deadline before looking at woken again: a Wake from
	// now on either is seen below or sets its deadline after this.
	if t.dirty.Swap(false) {
		if err := t.f.SetReadDeadline(time.Time{}); err != nil {
			return Event{}, err
		}
	}
	if t.woken.Swap(false) {
		return Event{}, nil
	}
	t.fired = 0
	err := t.rc.Read(t.read)
	switch {
	case errors.Is(err, os.ErrDeadlineExceeded): // a Wake
		t.dirty.Store(true) // its deadline is still in force
		t.woken.Store(false)
		return Event{}, nil
	case err != nil:
		return Event{}, err
	}
	due, missed := t.sched.advance(t.fired)
	return Event{Tick: true, Due: due, Missed: missed}, nil
}

// readFD reads the expiration count into t.fired; false means none yet
// (the poller then waits for the fd).
func (t *timerfd) readFD(fd uintptr) bool {
	// A raw read: the syscall package's read would enter and leave a
	// syscall, which wakes a sleeping sysmon every tick.
	n, _, e := syscall.RawSyscall(syscall.SYS_READ, fd, uintptr(unsafe.Pointer(&t.buf[0])), uintptr(len(t.buf)))
	if e == syscall.EAGAIN {
		return false
	}
	if e == 0 && n == 8 {
		t.fired = binary.NativeEndian.Uint64(t.buf[:])
	}
	return true
}

func (t *timerfd) Close() error {
	if t.closed {
		return nil
	}
	t.closed = true
	return t.f.Close()
}

// schedule tracks the due instants of a clock that started at start.
type schedule struct {
	start  time.Time
	period time.Duration
	n      uint64 // ticks delivered or missed so far
}

// advance accounts for fired expirations and returns the earliest one's
// due instant and how many came due after it.
func (s *schedule) advance(fired uint64) (due time.Time, missed uint64) {
	if fired == 0 {
		fired = 1
	}
	due = s.start.Add(time.Duration(s.n+1) * s.period)
	s.n += fired
	return due, fired - 1
}
