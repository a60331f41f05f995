package fakebox

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// call sends one request to the box and returns the status and body.
func call(t *testing.T, b *Box, method, doc, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, b.URL()+prefix+doc, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(out)
}

func start(t *testing.T) *Box {
	t.Helper()
	b, err := Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	return b
}

// TestGuideExchange replays the guide's EvseCtrl example on a box that is
// charging and has no supervisor: the answer is the guide's, word for word.
func TestGuideExchange(t *testing.T) {
	b := start(t)
	b.Plug(true)
	b.SetCharging(true)
	status, got := call(t, b, "POST", "EvseCtrl", `{"ChargeStartToggle": true, "ChargeBoostToggle": false, "EVSEPowerAvailable": 0}`)
	want := `{"ChargeBoostToggle":"no action","ChargeStartToggle":"Set=>False","EVSEPowerAvailable":"supervisor IP not set"}`
	if status != 200 || got != want {
		t.Errorf("%d %s\nwant %s", status, got, want)
	}
	if _, got := call(t, b, "POST", "SystemInfo", `{"Scode": "Reset", "SCodeData": ""}`); got != `{"Reset":"Performing"}` {
		t.Errorf("service code: %s", got)
	}
}

func TestConfigRules(t *testing.T) {
	for _, tc := range []struct {
		req, want string
		status    int
	}{
		{`{"ChargeCurrent":40}`, `{"ChargeCurrent":"must be 6…32, got 40"}`, 400},
		{`{"ChargeCurrent":10.5}`, `{"ChargeCurrent":"must be a whole number"}`, 400},
		{`{"Meter1Type":4}`, `{"Meter1Type":"IP meter type needs Meter1Ip in the same request"}`, 400},
		{`{"Meter2Type":7,"Meter2Ip":"box.local"}`, `{"Meter2Ip":"supervisor address must be an IP address","Meter2Type":"not applied: request rejected"}`, 400},
		{`{"Meter2Type":7,"Meter2Ip":"192.168.0.5","ControlStrategy":1}`, `{"ControlStrategy":"Set=>1","Meter2Ip":"Set=>192.168.0.5","Meter2Type":"Set=>7"}`, 200},
		{`{"Bogus":1,"ChargeCurrent":10}`, `{"Bogus":"unknown object","ChargeCurrent":"not applied: request rejected"}`, 400},
		{`not json`, `{"error":"malformed JSON"}`, 400},
	} {
		b := start(t)
		before := b.Config()
		status, got := call(t, b, "POST", "SystemConfig", tc.req)
		if status != tc.status || got != tc.want {
			t.Errorf("%s: %d %s\nwant %d %s", tc.req, status, got, tc.status, tc.want)
		}
		if tc.status != 200 && b.Config() != before {
			t.Errorf("%s: a refused request changed the config", tc.req)
		}
	}
}

func TestFloatsQuirk(t *testing.T) {
	b := start(t)
	b.SetQuirks(Quirks{Floats: true, OldFirmware: true})
	_, got := call(t, b, "GET", "SystemConfig", "")
	if !strings.Contains(got, `"ChargeCurrent":16.0`) {
		t.Errorf("floats: %s", got)
	}
	_, got = call(t, b, "GET", "Status", "")
	if strings.Contains(got, "ActualDurationTotalSeconds") || !strings.Contains(got, `"ActualDuration":"01h:02m:54s"`) {
		t.Errorf("old firmware: %s", got)
	}
}
