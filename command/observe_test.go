package command

import (
	"sync"
	"testing"
)

// TestObserverHearsEveryJudgedRequest: the metrics' count of commands by
// surface and result comes from this hook; a request that is refused,
// rejected or applied is heard once, with its origin.
func TestObserverHearsEveryJudgedRequest(t *testing.T) {
	r := newRig(t, nil, Services{})
	var mu sync.Mutex
	var got []string
	r.table.SetObserver(func(o Origin, rep Reply) {
		mu.Lock()
		got = append(got, o.Surface+" "+Result(rep))
		mu.Unlock()
	})
	r.table.SystemConfig(req(t, `{"ChargeCurrent":10}`), Origin{Surface: "http"})
	r.table.SystemConfig(req(t, `{"ChargeCurrent":99}`), Origin{Surface: "http"})
	r.table.EvseCtrl(req(t, `{"ChargeBoostToggle":true}`), Origin{Surface: "mqtt"}) // no session: refused
	r.table.SystemInfo(req(t, `{"UpdateCheckToggle":true}`), Origin{Surface: "mqtt"})
	r.table.MQTT("charging/set", []byte("nonsense"), Origin{Surface: "mqtt"}) // not decoded: never reaches the table
	want := []string{"http applied", "http rejected", "mqtt refused", "mqtt refused"}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != len(want) {
		t.Fatalf("observed %q, want %q", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("observation %d: %q, want %q", i, got[i], want[i])
		}
	}
	r.table.SetObserver(nil)
	r.table.SystemConfig(req(t, `{"ChargeCurrent":11}`), Origin{Surface: "http"})
	if len(got) != len(want) {
		t.Error("a removed observer was still called")
	}
}
