package ocpp

import (
	"encoding/json"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// rawCSMS accepts one charge point and hands its socket to the test, which
// speaks OCPP-J frames by hand.
func rawCSMS(t *testing.T) (url string, conns <-chan *websocket.Conn) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ch := make(chan *websocket.Conn, 4)
	up := websocket.Upgrader{Subprotocols: []string{"ocpp1.6"}}
	srv := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c, err := up.Upgrade(w, r, nil); err == nil {
			ch <- c
		}
	})}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { srv.Close() })
	return "ws://" + ln.Addr().String() + "/ocpp", ch
}

// readFrame reads frames until one satisfies keep (answering the charge
// point's own calls with an empty CALLRESULT, Boot with Accepted).
func readFrame(t *testing.T, c *websocket.Conn, id string) []json.RawMessage {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		_, b, err := c.ReadMessage()
		if err != nil {
			t.Fatalf("waiting for the answer to %s: %v", id, err)
		}
		var f []json.RawMessage
		if err := json.Unmarshal(b, &f); err != nil || len(f) < 3 {
			t.Fatalf("frame %s", b)
		}
		var typ int
		var mid, action string
		_ = json.Unmarshal(f[0], &typ)
		_ = json.Unmarshal(f[1], &mid)
		if typ == 2 {
			_ = json.Unmarshal(f[2], &action)
			answer := `{}`
			switch action {
			case "BootNotification":
				answer = `{"status":"Accepted","currentTime":"2026-01-01T00:00:00Z","interval":60}`
			case "Heartbeat":
				answer = `{"currentTime":"2026-01-01T00:00:00Z"}`
			}
			_ = c.WriteMessage(websocket.TextMessage, []byte(`[3,"`+mid+`",`+answer+`]`))
			continue
		}
		if mid == id {
			return f
		}
	}
}

// Every entry point refuses a malformed payload with the CALLERROR the
// OCPP-J 1.6 spec names, and stays connected for the next call.
func TestMalformedCallsGetCallError(t *testing.T) {
	url, conns := rawCSMS(t)
	c, f := newTestClient(t, url, time.Minute)
	run(t, c)
	var ws *websocket.Conn
	select {
	case ws = <-conns:
	case <-time.After(5 * time.Second):
		t.Fatal("no connection")
	}
	defer ws.Close()
	for _, tc := range []struct{ frame, code string }{
		{`[2,"a","RemoteStartTransaction",{}]`, "OccurenceConstraintViolation"}, // sic, OCPP-J 1.6
		{`[2,"b","RemoteStartTransaction",{"idTag":"123456789012345678901"}]`, "PropertyConstraintViolation"},
		{`[2,"c","ChangeConfiguration",{"key":5,"value":"1"}]`, "FormationViolation"},
		{`[2,"d","SetChargingProfile",{"connectorId":1}]`, "OccurenceConstraintViolation"},
		{`[2,"e","SetChargingProfile",{"connectorId":-1,"csChargingProfiles":{"chargingProfileId":1,"stackLevel":0,"chargingProfilePurpose":"TxProfile","chargingProfileKind":"Relative","chargingSchedule":{"chargingRateUnit":"A","chargingSchedulePeriod":[{"startPeriod":0,"limit":10}]}}}]`, "PropertyConstraintViolation"},
		{`[2,"f","ChangeAvailability",{"connectorId":0,"type":"Sideways"}]`, "PropertyConstraintViolation"},
		{`[2,"g","Reset",{"type":"Medium"}]`, "PropertyConstraintViolation"},
		{`[2,"h","TriggerMessage",{"requestedMessage":"Nothing"}]`, "PropertyConstraintViolation"},
		{`[2,"i","NoSuchAction",{}]`, "NotImplemented"},
		{`[2,"j","ReserveNow",{"connectorId":1,"expiryDate":"2030-01-01T00:00:00Z","idTag":"x","reservationId":1}]`, "NotSupported"}, // a 1.6 action this charge point does not serve
		{`[2,"k","UnlockConnector","not an object"]`, "FormationViolation"},
	} {
		var id string
		var frame []json.RawMessage
		_ = json.Unmarshal([]byte(tc.frame), &frame)
		_ = json.Unmarshal(frame[1], &id)
		if err := ws.WriteMessage(websocket.TextMessage, []byte(tc.frame)); err != nil {
			t.Fatal(err)
		}
		got := readFrame(t, ws, id)
		var typ int
		var code string
		_ = json.Unmarshal(got[0], &typ)
		if typ == 4 {
			_ = json.Unmarshal(got[2], &code)
		}
		if typ != 4 || code != tc.code {
			t.Errorf("%s: answered type %d %s, want CALLERROR %s", tc.frame, typ, got, tc.code)
		}
	}
	if f.Status().ChargerStarted || f.externalLimit() >= 0 {
		t.Errorf("a malformed call changed something: %+v, limit %v", f.Status(), f.externalLimit())
	}
	// Still connected and answering.
	_ = ws.WriteMessage(websocket.TextMessage, []byte(`[2,"z","DataTransfer",{"vendorId":"acme"}]`))
	if got := readFrame(t, ws, "z"); string(got[0]) != "3" {
		t.Errorf("after the malformed calls: %s", got)
	}
}
