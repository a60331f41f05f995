package ocpp

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"

	"github.com/lorenzodonini/ocpp-go/ocpp1.6/core"
	"github.com/lorenzodonini/ocpp-go/ocpp1.6/types"

	"github.com/evse-mqtt/evse-mqtt/settings"
)

// StateFile is the file in the state directory that holds what must
// survive a restart: the transaction queue, the local → server
// transactionId map, changed configuration keys, charging profiles and
// availability. It is replaced atomically on every change, so a kill -9
// leaves either the old or the new document.
const StateFile = "ocpp.json"

// maxStateFile bounds what is read back: a queue of a week offline at the
// fastest sample interval is far smaller.
const maxStateFile = 32 << 20

// Message kinds of the queue.
const (
	kindStart = "StartTransaction"
	kindMeter = "MeterValues"
	kindStop  = "StopTransaction"
)

// queued is one transaction message waiting for the central system. Its
// transactionId is the local one; the server's replaces it when sent.
type queued struct {
	Seq   int64
	Kind  string
	Local int
	Start *core.StartTransactionRequest `json:",omitempty"`
	Meter *core.MeterValuesRequest      `json:",omitempty"`
	Stop  *core.StopTransactionRequest  `json:",omitempty"`
}

// openTx is the transaction in progress.
type openTx struct {
	Local      int
	IDTag      string
	Start      types.DateTime
	MeterStart int // Wh
	Remote     bool
}

// profile is an installed charging profile on its connector.
type profile struct {
	Connector int
	Profile   types.ChargingProfile
}

// doc is the persisted document.
type doc struct {
	NextLocal   int
	NextSeq     int64
	RegisterWh  float64 // energy register at the last save
	Queue       []queued
	IDs         map[int]int // local → server transactionId
	Open        *openTx     `json:",omitempty"`
	Keys        map[string]string
	Profiles    []profile
	Inoperative bool
}

// store holds the document and writes it on every change. Callers hold mu
// around a change and its save.
type store struct {
	path string
	mu   sync.Mutex
	d    doc
}

func openStore(dir string) (*store, error) {
	s := &store{path: filepath.Join(dir, StateFile)}
	s.d = doc{NextLocal: 1, IDs: map[int]int{}, Keys: map[string]string{}}
	f, err := os.Open(s.path)
	if errors.Is(err, fs.ErrNotExist) {
		return s, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	dec := json.NewDecoder(&limited{f, maxStateFile})
	if err := dec.Decode(&s.d); err != nil {
		return nil, fmt.Errorf("%s: %w (remove it to start afresh)", s.path, err)
	}
	if s.d.IDs == nil {
		s.d.IDs = map[int]int{}
	}
	if s.d.Keys == nil {
		s.d.Keys = map[string]string{}
	}
	if s.d.NextLocal < 1 {
		s.d.NextLocal = 1
	}
	return s, nil
}

// save writes the document; call with mu held.
func (s *store) save() error {
	b, err := json.Marshal(&s.d)
	if err != nil {
		return err
	}
	return settings.WriteFileAtomic(s.path, b, 0o600)
}

// push appends a message to the queue; call with mu held.
func (s *store) push(q queued) {
	s.d.NextSeq++
	q.Seq = s.d.NextSeq
	s.d.Queue = append(s.d.Queue, q)
}

type limited struct {
	f *os.File
	n int64
}

func (l *limited) Read(p []byte) (int, error) {
	if l.n <= 0 {
		return 0, fmt.Errorf("larger than %d bytes", maxStateFile)
	}
	if int64(len(p)) > l.n {
		p = p[:l.n]
	}
	n, err := l.f.Read(p)
	l.n -= int64(n)
	return n, err
}
