package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// ocppRPCVersion is the ocpp-rpc release the strict peer runs; .ci/run
// installs the same one into the same cache directory.
const ocppRPCVersion = "2.2.1"

// npmDir is where the peer's package is installed: beside Go's build
// cache, outside the work tree, kept between runs.
func npmDir(t *testing.T) string {
	out, err := exec.Command("go", "env", "GOCACHE").Output()
	if err != nil {
		t.Fatalf("go env GOCACHE: %v", err)
	}
	return filepath.Join(filepath.Dir(strings.TrimSpace(string(out))), "evse-npm")
}

// ensureOCPPRPC installs ocpp-rpc (pinned) unless it is there, skipping
// the test only when npm cannot reach the registry.
func ensureOCPPRPC(t *testing.T) string {
	if _, err := exec.LookPath("node"); err != nil {
		t.Skip("node not installed: apt-get install nodejs npm (.ci/run does)")
	}
	dir := npmDir(t)
	pkg := filepath.Join(dir, "node_modules", "ocpp-rpc", "package.json")
	if b, err := os.ReadFile(pkg); err == nil {
		var p struct{ Version string }
		if json.Unmarshal(b, &p) == nil && p.Version == ocppRPCVersion {
			return filepath.Join(dir, "node_modules")
		}
	}
	if _, err := exec.LookPath("npm"); err != nil {
		t.Skip("npm not installed: apt-get install npm (.ci/run does)")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "npm", "install", "--prefix", dir, "--no-audit", "--no-fund", "--no-save", "ocpp-rpc@"+ocppRPCVersion)
	out, err := cmd.CombinedOutput()
	if err != nil {
		s := string(out)
		for _, net := range []string{"ENOTFOUND", "EAI_AGAIN", "ECONNREFUSED", "ETIMEDOUT", "ECONNRESET", "network"} {
			if strings.Contains(s, net) {
				t.Skipf("npm cannot reach the registry to install ocpp-rpc@%s: %s", ocppRPCVersion, lastLine(s))
			}
		}
		t.Fatalf("npm install ocpp-rpc@%s: %v\n%s", ocppRPCVersion, err, out)
	}
	return filepath.Join(dir, "node_modules")
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

// peerEvent is one line the peer script writes.
type peerEvent struct {
	Event  string
	Method string
	Port   int
	Params map[string]any
	Result map[string]any
	Error  string
	Code   string
	Raw    string `json:"-"`
}

// peer is the ocpp-rpc CSMS process.
type peer struct {
	t      *testing.T
	stdin  io.WriteCloser
	mu     sync.Mutex
	events []peerEvent
	moved  chan struct{}
	logs   strings.Builder
}

func startPeer(t *testing.T, nodePath string) *peer {
	cmd := exec.Command("node", filepath.Join("testdata", "ocpp-rpc-csms.js"))
	cmd.Env = append(os.Environ(), "NODE_PATH="+nodePath)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p := &peer{t: t, stdin: stdin, moved: make(chan struct{})}
	cmd.Stderr = &lockedWriter{p: p}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stdin.Close()
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("peer stderr:\n%s", p.logs.String())
		}
	})
	go func() {
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			var e peerEvent
			if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
				e = peerEvent{Event: "unparsed"}
			}
			e.Raw = sc.Text()
			p.mu.Lock()
			p.events = append(p.events, e)
			close(p.moved)
			p.moved = make(chan struct{})
			p.mu.Unlock()
		}
	}()
	return p
}

type lockedWriter struct{ p *peer }

func (w *lockedWriter) Write(b []byte) (int, error) {
	w.p.mu.Lock()
	defer w.p.mu.Unlock()
	return w.p.logs.Write(b)
}

// wait returns the first event (from index from) that match accepts.
func (p *peer) wait(from int, within time.Duration, what string, match func(peerEvent) bool) (peerEvent, int) {
	p.t.Helper()
	deadline := time.NewTimer(within)
	defer deadline.Stop()
	for {
		p.mu.Lock()
		for i := from; i < len(p.events); i++ {
			if match(p.events[i]) {
				e := p.events[i]
				p.mu.Unlock()
				return e, i + 1
			}
		}
		ch := p.moved
		p.mu.Unlock()
		select {
		case <-ch:
		case <-deadline.C:
			p.t.Fatalf("peer: no %s within %v; events:\n%s", what, within, p.dump())
		}
	}
}

func (p *peer) dump() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var b strings.Builder
	for _, e := range p.events {
		fmt.Fprintln(&b, e.Raw)
	}
	return b.String()
}

// call asks the peer to send a request and returns its result.
func (p *peer) call(method string, params any) map[string]any {
	p.t.Helper()
	p.mu.Lock()
	from := len(p.events)
	p.mu.Unlock()
	b, _ := json.Marshal(map[string]any{"method": method, "params": params})
	if _, err := p.stdin.Write(append(b, '\n')); err != nil {
		p.t.Fatal(err)
	}
	e, _ := p.wait(from, 10*time.Second, method+" result", func(e peerEvent) bool {
		return (e.Event == "result" || e.Event == "error") && e.Method == method
	})
	if e.Event == "error" {
		p.t.Fatalf("%s: %s %s", method, e.Code, e.Error)
	}
	return e.Result
}

func isCall(method string) func(peerEvent) bool {
	return func(e peerEvent) bool { return e.Event == "call" && e.Method == method }
}

// An independent peer: ocpp-rpc's server in strict mode checks every call
// and reply of a whole session, both directions, against the OCPP 1.6
// JSON schemas: boot, status, remote start, StartTransaction, MeterValues,
// SetChargingProfile, remote stop, StopTransaction — with no violation.
func TestOCPPStrictPeer(t *testing.T) {
	nodePath := ensureOCPPRPC(t)
	p := startPeer(t, nodePath)
	l, _ := p.wait(0, 10*time.Second, "listening", func(e peerEvent) bool { return e.Event == "listening" })
	d := start(t, t.TempDir(), newPorts(t), ocppConfig(fmt.Sprintf("ws://127.0.0.1:%d/ocpp", l.Port), "10s"))
	within := 10 * time.Second

	_, i := p.wait(0, within, "BootNotification", isCall("BootNotification"))
	_, i = p.wait(i, within, "StatusNotification", isCall("StatusNotification"))
	d.post("/webapi/v1/SystemConfig", `{"ChargeAutoStart":false}`, nil)
	d.post("/sim/v1/State", `{"EvPlugged":true,"EvRequestCharge":true,"EvResponseMs":100}`, nil)
	_, i = p.wait(i, within, "Preparing", func(e peerEvent) bool {
		return e.Event == "call" && e.Method == "StatusNotification" && e.Params["status"] == "Preparing"
	})
	if r := p.call("ChangeConfiguration", map[string]any{"key": "MeterValueSampleInterval", "value": "1"}); r["status"] != "Accepted" {
		t.Fatalf("ChangeConfiguration: %v", r)
	}
	p.call("GetConfiguration", map[string]any{})
	if r := p.call("RemoteStartTransaction", map[string]any{"idTag": "PEER1"}); r["status"] != "Accepted" {
		t.Fatalf("RemoteStartTransaction: %v", r)
	}
	_, i = p.wait(i, within, "StartTransaction", isCall("StartTransaction"))
	_, i = p.wait(i, within, "MeterValues", isCall("MeterValues"))
	profile := map[string]any{"connectorId": 1, "csChargingProfiles": map[string]any{
		"chargingProfileId": 1, "stackLevel": 0, "chargingProfilePurpose": "TxProfile", "chargingProfileKind": "Relative",
		"chargingSchedule": map[string]any{"chargingRateUnit": "A", "chargingSchedulePeriod": []any{map[string]any{"startPeriod": 0, "limit": 10}}}}}
	if r := p.call("SetChargingProfile", profile); r["status"] != "Accepted" {
		t.Fatalf("SetChargingProfile: %v", r)
	}
	p.call("GetCompositeSchedule", map[string]any{"connectorId": 1, "duration": 300})
	p.call("TriggerMessage", map[string]any{"requestedMessage": "MeterValues"})
	if r := p.call("RemoteStopTransaction", map[string]any{"transactionId": 501}); r["status"] != "Accepted" {
		t.Fatalf("RemoteStopTransaction: %v", r)
	}
	stop, _ := p.wait(i, within, "StopTransaction", isCall("StopTransaction"))
	if stop.Params["transactionId"] != float64(501) || stop.Params["reason"] != "Remote" {
		t.Errorf("StopTransaction %v", stop.Params)
	}
	p.call("DataTransfer", map[string]any{"vendorId": "acme"})
	p.call("UnlockConnector", map[string]any{"connectorId": 1})

	p.mu.Lock()
	defer p.mu.Unlock()
	calls := map[string]int{}
	for _, e := range p.events {
		switch e.Event {
		case "violation", "unparsed", "error":
			t.Errorf("peer reports: %s", e.Raw)
		case "call":
			calls[e.Method]++
		}
	}
	t.Logf("calls checked by the strict peer: %v", calls)
}
