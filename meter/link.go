package meter

import (
	"errors"
	"fmt"
	"log"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"
	"github.com/simonvetter/modbus"
)

// Reader reads raw registers from one unit. A Link implements it; tests
// may substitute their own.
type Reader interface {
	// ReadRegisters returns 2·count bytes exactly as sent by the meter.
	ReadRegisters(unit, fc uint8, addr, count uint16) ([]byte, error)
}

// LinkConfig is the Modbus transport of a Link.
type LinkConfig struct {
	// URL is rtu://<device>, tcp://<host:port> or rtuovertcp://<host:port>.
	URL      string
	Baud     uint
	Parity   uint // modbus.PARITY_NONE / EVEN / ODD
	StopBits uint // 0: 1
	Timeout  time.Duration
}

// Link is one Modbus connection (a serial line or a TCP connection to a
// bridge). Meters sharing it are serialised by its mutex, so two meters
// on one RS485 bus never interleave frames. It connects lazily and drops
// the connection after a transport error, so a late reply from a timed-out
// request can never be taken for the answer to the next one.
type Link struct {
	cfg LinkConfig
	log zerolog.Logger

	mu     sync.Mutex
	client *modbus.ModbusClient
	// transactions counts requests sent, for benchmarks and tests.
	transactions int
}

// NewLink returns an unconnected link.
func NewLink(cfg LinkConfig, lg zerolog.Logger) *Link {
	return &Link{cfg: cfg, log: lg.With().Str("link", cfg.URL).Logger()}
}

// ReadRegisters implements Reader.
func (l *Link) ReadRegisters(unit, fc uint8, addr, count uint16) ([]byte, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.client == nil {
		if err := l.connect(); err != nil {
			return nil, fmt.Errorf("connect %s: %w", l.cfg.URL, err)
		}
	}
	rt := modbus.INPUT_REGISTER
	if fc == FCHolding {
		rt = modbus.HOLDING_REGISTER
	}
	if err := l.client.SetUnitId(unit); err != nil {
		return nil, fmt.Errorf("unit %d: %w", unit, err)
	}
	l.transactions++
	b, err := l.client.ReadRawBytes(addr, 2*count, rt) // quantity in bytes
	if err != nil {
		if !IsException(err) {
			l.disconnect()
		}
		return nil, fmt.Errorf("read 0x%02x 0x%04x+%d: %w", fc, addr, count, err)
	}
	return b, nil
}

// Transactions returns how many requests the link has sent.
func (l *Link) Transactions() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.transactions
}

// Close drops the connection; the next read reconnects.
func (l *Link) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.disconnect()
	return nil
}

func (l *Link) connect() error {
	stop := l.cfg.StopBits
	if stop == 0 {
		stop = 1 // 8N1 like the meters; the library would choose 2 without parity
	}
	c, err := modbus.NewClient(&modbus.ClientConfiguration{
		URL:      l.cfg.URL,
		Speed:    l.cfg.Baud,
		DataBits: 8,
		Parity:   l.cfg.Parity,
		StopBits: stop,
		Timeout:  l.cfg.Timeout,
		Logger:   log.New(debugWriter{l.log}, "", 0),
	})
	if err != nil {
		return err
	}
	if err := c.Open(); err != nil {
		return err
	}
	l.client = c
	return nil
}

func (l *Link) disconnect() {
	if l.client != nil {
		_ = l.client.Close()
		l.client = nil
	}
}

// debugWriter sends the modbus library's own log lines to zerolog at
// debug level instead of stdout.
type debugWriter struct{ log zerolog.Logger }

func (w debugWriter) Write(p []byte) (int, error) {
	w.log.Debug().Msg(strings.TrimSpace(string(p)))
	return len(p), nil
}

// IsException reports whether err is a Modbus exception response: the
// meter answered, so the connection is in sync.
func IsException(err error) bool {
	for _, e := range []error{
		modbus.ErrIllegalFunction, modbus.ErrIllegalDataAddress, modbus.ErrIllegalDataValue,
		modbus.ErrServerDeviceFailure, modbus.ErrAcknowledge, modbus.ErrServerDeviceBusy,
		modbus.ErrMemoryParityError, modbus.ErrGWPathUnavailable, modbus.ErrGWTargetFailedToRespond,
	} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// isRejection reports an exception that says "not this request": an
// unsupported address or a read longer than the meter accepts. Such a
// block is split; other errors are counted and retried as they are.
func isRejection(err error) bool {
	return errors.Is(err, modbus.ErrIllegalDataAddress) || errors.Is(err, modbus.ErrIllegalDataValue) ||
		errors.Is(err, modbus.ErrIllegalFunction)
}

// Links shares one Link per URL, so two meters on one serial device (or
// one IP bridge) have a single owner. Safe for concurrent use.
type Links struct {
	log   zerolog.Logger
	mu    sync.Mutex
	links map[string]*Link
}

// NewLinks returns an empty registry.
func NewLinks(lg zerolog.Logger) *Links {
	return &Links{log: lg, links: map[string]*Link{}}
}

// Get returns the link for cfg.URL, creating it on first use. A second
// user must ask for the same serial settings: one wire has one baud rate.
func (ls *Links) Get(cfg LinkConfig) (*Link, error) {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	if l, ok := ls.links[cfg.URL]; ok {
		if l.cfg.Baud != cfg.Baud || l.cfg.Parity != cfg.Parity || l.cfg.StopBits != cfg.StopBits {
			return nil, fmt.Errorf("link %s: already open with %d baud parity %d stop bits %d", cfg.URL, l.cfg.Baud, l.cfg.Parity, l.cfg.StopBits)
		}
		if cfg.Timeout > l.cfg.Timeout {
			l.mu.Lock()
			l.cfg.Timeout = cfg.Timeout // the slower meter sets the pace
			l.mu.Unlock()
		}
		return l, nil
	}
	l := NewLink(cfg, ls.log)
	ls.links[cfg.URL] = l
	return l, nil
}

// Close closes every link.
func (ls *Links) Close() error {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	for _, l := range ls.links {
		_ = l.Close()
	}
	return nil
}
