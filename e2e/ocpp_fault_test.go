package e2e

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/lorenzodonini/ocpp-go/ocpp1.6/core"
	"github.com/lorenzodonini/ocpp-go/ocpp1.6/types"

	"github.com/evse-mqtt/evse-mqtt/internal/mqtttest"
	"github.com/evse-mqtt/evse-mqtt/internal/ocpptest"
)

// The CSMS is down for a whole transaction and the daemon is SIGKILLed
// once in the middle of it: after the restart and the reconnect the CSMS
// receives StartTransaction, the MeterValues and StopTransaction exactly
// once, in order, under its own transactionId, with meter readings that
// never go back.
func TestOCPPOfflineTransactionSurvivesKill(t *testing.T) {
	csms, err := ocpptest.Listen(0)
	if err != nil {
		t.Fatal(err)
	}
	port := csms.Port()
	state, ports := t.TempDir(), newPorts(t)
	cfg := ocppConfig(csms.URL(), "4s")
	d := start(t, state, ports, cfg)
	within := 10 * time.Second
	if !csms.Wait(within, func(m []ocpptest.Msg) bool { return ocpptest.Count(m, core.StatusNotificationFeatureName) > 0 }) {
		t.Fatal("no boot")
	}
	if r, err := csms.Call("cp1", core.NewChangeConfigurationRequest("MeterValueSampleInterval", "1")); err != nil || r.(*core.ChangeConfigurationConfirmation).Status != core.ConfigurationStatusAccepted {
		t.Fatalf("MeterValueSampleInterval: %v %v", r, err)
	}
	csms.Close() // down from here until the end of the transaction
	queued := func(want string, ok func(s ocppStatus) bool) func() string {
		return func() string {
			if s := d.ocpp(); s.OCPP == nil || !ok(s) {
				return fmt.Sprintf("%s: %+v", want, s.OCPP)
			}
			return ""
		}
	}
	eventually(t, within, queued("disconnected", func(s ocppStatus) bool { return s.OCPP.Connection == "disconnected" }))
	d.post("/sim/v1/State", `{"EvPlugged":true,"EvRequestCharge":true,"EvResponseMs":100}`, nil)
	eventually(t, within, queued("start and 3 MeterValues queued", func(s ocppStatus) bool { return s.OCPP.LocalTransaction == 1 && s.OCPP.Queued >= 4 }))
	d.stop(syscall.SIGKILL)

	d = start(t, state, ports, cfg)
	// The session did not survive the kill: the transaction ends (PowerLoss).
	eventually(t, within, queued("stop queued", func(s ocppStatus) bool { return s.OCPP.LocalTransaction == 0 && s.OCPP.Queued >= 5 }))
	n := d.ocpp().OCPP.Queued

	csms, err = ocpptest.Listen(port)
	if err != nil {
		t.Fatalf("CSMS back on port %d: %v", port, err)
	}
	defer csms.Close()
	if !csms.Wait(within, func(m []ocpptest.Msg) bool { return ocpptest.Count(m, core.StopTransactionFeatureName) > 0 }) {
		t.Fatalf("no StopTransaction after the reconnect: %v", csms.Msgs())
	}
	eventually(t, within, queued("queue empty", func(s ocppStatus) bool { return s.OCPP.Queued == 0 }))

	var tx []ocpptest.Msg
	for _, m := range csms.Msgs() {
		switch m.Action {
		case core.StartTransactionFeatureName, core.MeterValuesFeatureName, core.StopTransactionFeatureName:
			tx = append(tx, m)
		}
	}
	if len(tx) != n || tx[0].Action != core.StartTransactionFeatureName || tx[len(tx)-1].Action != core.StopTransactionFeatureName ||
		ocpptest.Count(tx, core.StartTransactionFeatureName) != 1 || ocpptest.Count(tx, core.StopTransactionFeatureName) != 1 {
		t.Fatalf("got %d transaction messages (want the %d queued): %v", len(tx), n, actions(tx))
	}
	startReq := tx[0].Req.(*core.StartTransactionRequest)
	stop := tx[len(tx)-1].Req.(*core.StopTransactionRequest)
	last := float64(startReq.MeterStart)
	var stamps []time.Time
	for _, m := range tx[1 : len(tx)-1] {
		mv := m.Req.(*core.MeterValuesRequest)
		if mv.TransactionId == nil || *mv.TransactionId != 101 {
			t.Errorf("MeterValues under transactionId %v, want the server's 101", mv.TransactionId)
		}
		stamps = append(stamps, mv.MeterValue[0].Timestamp.Time)
		for _, sv := range mv.MeterValue[0].SampledValue {
			if sv.Measurand != types.MeasurandEnergyActiveImportRegister {
				continue
			}
			v, _ := strconv.ParseFloat(sv.Value, 64)
			if v < last {
				t.Errorf("register went back: %v after %v", v, last)
			}
			last = v
		}
	}
	for i := 1; i < len(stamps); i++ {
		if stamps[i].Before(stamps[i-1]) {
			t.Errorf("MeterValues out of order: %v after %v", stamps[i], stamps[i-1])
		}
	}
	if stop.TransactionId != 101 || float64(stop.MeterStop) < last || stop.Reason != core.ReasonPowerLoss {
		t.Errorf("StopTransaction %+v; last register %v", stop, last)
	}
	t.Logf("%d transaction messages after the kill and reconnect: %v; meter %d → %d Wh", len(tx), actions(tx), startReq.MeterStart, stop.MeterStop)
}

func actions(msgs []ocpptest.Msg) string {
	var s []string
	for _, m := range msgs {
		s = append(s, m.Action)
	}
	return strings.Join(s, " ")
}

// A CSMS that accepts the socket and never answers (TCP and ping/pong
// fine): the charge point drops it and dials again within the liveness
// bound.
func TestOCPPSilentCSMSReconnects(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var opened []time.Time
	conns := make(chan struct{}, 10)
	up := websocket.Upgrader{Subprotocols: []string{"ocpp1.6"}}
	srv := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		mu.Lock()
		opened = append(opened, time.Now())
		mu.Unlock()
		conns <- struct{}{}
		for { // read (and so answer pings), never reply
			if _, _, err := c.ReadMessage(); err != nil {
				c.Close()
				return
			}
		}
	})}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()

	const liveness = 2 * time.Second
	ports := newPorts(t)
	start(t, t.TempDir(), ports, ocppConfig("ws://"+ln.Addr().String()+"/ocpp", liveness.String()))
	obs := mqtttest.NewObserver(t, "tcp://"+ports.MQTT)
	statuses := obs.Subscribe("evse/+/status")
	for i := 0; i < 2; i++ {
		select {
		case <-conns:
		case <-time.After(liveness + 5*time.Second):
			t.Fatalf("socket %d not opened within %v", i+1, liveness+5*time.Second)
		}
	}
	mu.Lock()
	gap := opened[1].Sub(opened[0])
	mu.Unlock()
	t.Logf("silent CSMS dropped and dialled again after %v (liveness %v)", gap.Round(time.Millisecond), liveness)
	if gap < liveness-200*time.Millisecond || gap > liveness+liveness/2+time.Second {
		t.Errorf("reconnected after %v; want the liveness bound %v plus at most the retry delay", gap, liveness)
	}
	// The MQTT status follows the OCPP connection at once (not only at
	// publish.max_interval, 60 s: nothing else changes on an idle charger).
	conn := func(m mqtttest.Message) string {
		var d struct{ OCPP *struct{ Connection string } }
		if json.Unmarshal([]byte(m.Payload), &d) != nil || d.OCPP == nil {
			return ""
		}
		return d.OCPP.Connection
	}
	mqtttest.Wait(t, statuses, 5*time.Second, "MQTT status with OCPP pending", func(m mqtttest.Message) bool { return conn(m) == "pending" })
	mqtttest.Wait(t, statuses, liveness+3*time.Second, "MQTT status with OCPP disconnected after the drop", func(m mqtttest.Message) bool { return conn(m) == "disconnected" })
}
