package broker

import (
	"bytes"
	"sync"
	"time"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/evse-mqtt/evse-mqtt/internal/pace"
)

// The embedded broker runs in the daemon's process, so a client flooding
// it competes with the control loop for the CPU. Each client's publishes
// are paced: past a burst, its connection is read at most publishRate
// messages a second (the hook holds the client's reader; TCP pushes back).
// Commands are a few a second; Home Assistant and Node-RED stay far below.
const (
	publishRate  = 200
	publishBurst = 100
)

// paceHook paces every client's publishes.
type paceHook struct {
	mqtt.HookBase
	rate    int
	burst   int
	sleep   func(time.Duration)
	mu      sync.Mutex
	clients map[string]*pace.Rate
}

func newPaceHook(rate, burst int) *paceHook {
	return &paceHook{rate: rate, burst: burst, sleep: time.Sleep, clients: map[string]*pace.Rate{}}
}

func (h *paceHook) ID() string { return "evse-pace" }

func (h *paceHook) Provides(b byte) bool {
	return bytes.Contains([]byte{mqtt.OnPublish, mqtt.OnDisconnect}, []byte{b})
}

// OnPublish waits for the client's place in its schedule. The inline
// client (the daemon's own, if ever used) is not paced.
func (h *paceHook) OnPublish(cl *mqtt.Client, pk packets.Packet) (packets.Packet, error) {
	if cl.Net.Inline {
		return pk, nil
	}
	h.mu.Lock()
	r := h.clients[cl.ID]
	if r == nil {
		r = pace.New(h.rate, h.burst)
		h.clients[cl.ID] = r
	}
	h.mu.Unlock()
	now := time.Now()
	if d := r.Reserve(now).Sub(now); d > 0 {
		h.sleep(d)
	}
	return pk, nil
}

func (h *paceHook) OnDisconnect(cl *mqtt.Client, _ error, _ bool) {
	h.mu.Lock()
	delete(h.clients, cl.ID)
	h.mu.Unlock()
}
