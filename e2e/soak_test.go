package e2e

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/evse-mqtt/evse-mqtt/internal/mqtttest"
	"github.com/evse-mqtt/evse-mqtt/internal/tick"
)

// The soak is a measurement, not a test: it prints figures and asserts no
// timing (a shared CI machine would make any bound flaky). Run it with
//
//	go test ./e2e -run TestSoak -soak -v -timeout 10m
var (
	soak      = flag.Bool("soak", false, "run TestSoak: control-loop lateness, command latency and idle CPU of the built daemon")
	soakConns = flag.Int("soak.conns", 512, "concurrent HTTP connections of the HTTP load phase")
	soakFor   = flag.Duration("soak.for", 20*time.Second, "length of each load phase and each idle CPU window")
)

// tickerEnv makes the test binary a bare ticker process instead (see
// init): the baseline of what the OS gives a Go timer during the same load.
const tickerEnv = "EVSE_SOAK_BARE_TICKER"

// clockEnv makes that child wait on the daemon's own clock (internal/tick,
// a timerfd on Linux) instead of a time.Ticker: the floor of a Go process
// that samples every 10 ms the daemon's way and does nothing else.
const clockEnv = "EVSE_SOAK_BARE_CLOCK"

const soakPeriod = 10 * time.Millisecond

// httpLoadEnv makes the test binary a child that only runs httpLoad
// ("url conns duration") and prints its counts: the load generator must
// not share a process (and its scheduler) with the command probe that
// measures the daemon, as wrk does not.
const httpLoadEnv = "EVSE_SOAK_HTTP_LOAD"

func init() {
	if v := os.Getenv(httpLoadEnv); v != "" {
		var url, dur string
		var conns int
		_, err := fmt.Sscanf(v, "%s %d %s", &url, &conns, &dur)
		d, derr := time.ParseDuration(dur)
		if err = errors.Join(err, derr); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		stop := make(chan struct{})
		time.AfterFunc(d, func() { close(stop) })
		ok, failed := httpLoad(url, conns, stop)
		_ = json.NewEncoder(os.Stdout).Encode([2]int64{ok, failed})
		os.Exit(0)
	}
	if v := os.Getenv(tickerEnv); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		if os.Getenv(clockEnv) != "" {
			bareClock(d)
			os.Exit(0)
		}
		stop := make(chan struct{})
		time.AfterFunc(d, func() { close(stop) })
		_ = json.NewEncoder(os.Stdout).Encode(bareTicker(stop))
		os.Exit(0)
	}
}

// timing is a lateness distribution with its lost ticks.
type timing struct {
	N, Lost       uint64
	P50, P99, Max time.Duration
}

func (t timing) String() string {
	return fmt.Sprintf("p50 %5.2f ms  p99 %6.2f ms  max %6.2f ms  lost %d of %d", ms(t.P50), ms(t.P99), ms(t.Max), t.Lost, t.N+t.Lost)
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func quantiles(lat []time.Duration) (p50, p99, maxd time.Duration) {
	if len(lat) == 0 {
		return 0, 0, 0
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	return lat[len(lat)/2], lat[(len(lat)-1)*99/100], lat[len(lat)-1]
}

// bareTicker measures a time.Ticker doing nothing until stop: how late
// each tick is received after its scheduled instant (the value the ticker
// delivers) and how many ticks it dropped.
func bareTicker(stop <-chan struct{}) timing {
	tk := time.NewTicker(soakPeriod)
	defer tk.Stop()
	var lat []time.Duration
	var lost uint64
	var prev time.Time
	for {
		select {
		case <-stop:
			var t timing
			t.N, t.Lost = uint64(len(lat)), lost
			t.P50, t.P99, t.Max = quantiles(lat)
			return t
		case s := <-tk.C:
			lat = append(lat, time.Since(s))
			if !prev.IsZero() {
				if gap := s.Sub(prev); gap > soakPeriod*3/2 {
					lost += uint64((gap+soakPeriod/2)/soakPeriod) - 1
				}
			}
			prev = s
		}
	}
}

// bareClock waits on the daemon's clock for d, doing nothing with the
// ticks (its CPU time is the figure).
func bareClock(d time.Duration) {
	clk, err := tick.New(soakPeriod)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	defer clk.Close()
	for end := time.Now().Add(d); time.Now().Before(end); {
		if _, err := clk.Wait(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
	}
	_ = json.NewEncoder(os.Stdout).Encode(timing{})
}

// bareTickerProcess runs a bare ticker in a child process for d; pid is
// the child's. env adds to the child's environment (clockEnv).
func bareTickerProcess(t *testing.T, d time.Duration, env ...string) (result func() timing, pid int) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(self)
	cmd.Env = append(append(os.Environ(), tickerEnv+"="+d.String()), env...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return func() timing {
		var r timing
		if err := json.NewDecoder(out).Decode(&r); err != nil {
			t.Fatalf("bare ticker process: %v", err)
		}
		_ = cmd.Wait()
		return r
	}, cmd.Process.Pid
}

// loopDoc is the daemon's GET /debug/v1/loop.
type loopDoc struct {
	Steps    uint64            `json:"steps"`
	Lost     uint64            `json:"lost"`
	BucketUs int64             `json:"bucket_us"`
	Buckets  map[string]uint64 `json:"buckets"`
}

// loopWindow is the daemon loop's timing between two snapshots, to the
// histogram's resolution (upper bucket edges).
func loopWindow(a, b loopDoc) timing {
	var idx []int
	n := map[int]uint64{}
	var total uint64
	for k, v := range b.Buckets {
		i, _ := strconv.Atoi(k)
		if d := v - a.Buckets[k]; d > 0 {
			n[i] = d
			idx = append(idx, i)
			total += d
		}
	}
	sort.Ints(idx)
	edge := func(i int) time.Duration { return time.Duration(int64(i+1)*b.BucketUs) * time.Microsecond }
	at := func(q float64) time.Duration {
		rank := uint64(q*float64(total-1)) + 1
		var seen uint64
		for _, i := range idx {
			if seen += n[i]; seen >= rank {
				return edge(i)
			}
		}
		return 0
	}
	r := timing{N: b.Steps - a.Steps, Lost: b.Lost - a.Lost}
	if total > 0 {
		r.P50, r.P99, r.Max = at(0.5), at(0.99), edge(idx[len(idx)-1])
	}
	return r
}

func (d *daemon) loop() loopDoc {
	var l loopDoc
	d.get("/debug/v1/loop", &l)
	return l
}

// cpuTime is the process's user+system time from /proc (clock ticks of
// 10 ms on Linux).
func cpuTime(t *testing.T, pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
	ut, _ := strconv.ParseInt(f[11], 10, 64) // field 14 of stat
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * 10 * time.Millisecond
}

// idleCPU is the share of one core the daemon uses over within, and
// that of two processes doing nothing but tick at 100 Hz over the same
// window: a time.Ticker, and the daemon's clock (bareClock), the floor of
// a Go loop sampling every 10 ms on this machine.
func idleCPU(t *testing.T, d *daemon, within time.Duration) (daemon, ticker, clock float64) {
	time.Sleep(2 * time.Second) // measure after start-up, not during it
	result, tpid := bareTickerProcess(t, within+time.Second)
	cresult, cpid := bareTickerProcess(t, within+time.Second, clockEnv+"=1")
	time.Sleep(200 * time.Millisecond) // and after the children's start-up
	pid := d.cmd.Process.Pid
	c0, b0, k0, t0 := cpuTime(t, pid), cpuTime(t, tpid), cpuTime(t, cpid), time.Now()
	time.Sleep(within)
	c1, b1, k1, el := cpuTime(t, pid), cpuTime(t, tpid), cpuTime(t, cpid), time.Since(t0)
	result()
	cresult()
	share := func(a, b time.Duration) float64 { return 100 * float64(b-a) / float64(el) }
	return share(c0, c1), share(b0, b1), share(k0, k1)
}

// soakConfig is the e2e configuration with the simulated meters on or off
// and info logging (the figures are for a daemon as deployed).
func soakConfig(t *testing.T, p Ports, meters bool) string {
	if meters {
		path := writeConfig(t, t.TempDir(), p, "device_id: e2e\n")
		b, _ := os.ReadFile(path)
		_ = os.WriteFile(path, []byte(strings.Replace(string(b), "level: debug", "level: info", 1)), 0o644)
		return path
	}
	cfg := fmt.Sprintf(`device_id: e2e
log: {level: info, format: json}
http: {listen: %q}
settings: {Meter1Type: 0, Meter2Type: 0}
sim: {meter1_listen: "", meter2_listen: ""}
mqtt: {url: embedded, embedded_listen: %q}
`, p.HTTP, p.MQTT)
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// commandProbe publishes charging/set ON and OFF, one at a time every
// 20 ms, until stop, and returns the time from publish to its answer on
// <base>/result.
func commandProbe(t *testing.T, url string, stop <-chan struct{}) []time.Duration {
	o := mqtttest.NewObserver(t, url)
	defer o.Close()
	results := o.Subscribe(base + "/result")
	var lat []time.Duration
	for i := 0; ; i++ {
		select {
		case <-stop:
			return lat
		case <-time.After(20 * time.Millisecond):
		}
		t0 := time.Now()
		o.Publish(base+"/charging/set", [2]string{"OFF", "ON"}[i%2], false)
		select {
		case <-results:
			lat = append(lat, time.Since(t0))
		case <-time.After(5 * time.Second):
			t.Errorf("command %d unanswered after 5 s", i)
			return lat
		}
	}
}

// httpLoad keeps conns connections busy with GET Status until stop and
// returns the number of answers and of failures.
func httpLoad(url string, conns int, stop <-chan struct{}) (ok, failed int64) {
	tr := &http.Transport{MaxIdleConnsPerHost: conns, MaxConnsPerHost: conns}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	var nOK, nFail atomic.Int64
	var wg sync.WaitGroup
	for range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				resp, err := c.Get(url)
				if err != nil {
					nFail.Add(1)
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					nOK.Add(1)
				} else {
					nFail.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	return nOK.Load(), nFail.Load()
}

// httpLoadProcess runs httpLoad in a child process for d.
func httpLoadProcess(t *testing.T, url string, conns int, d time.Duration) (ok, failed int64) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(self)
	cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%s %d %v", httpLoadEnv, url, conns, d))
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("HTTP load process: %v", err)
	}
	var n [2]int64
	if err := json.Unmarshal(out, &n); err != nil {
		t.Fatalf("HTTP load process: %v: %q", err, out)
	}
	return n[0], n[1]
}

// mqttLoad floods the broker with QoS 0 messages from clients publishers
// (and one subscriber to fan them out to) until stop.
func mqttLoad(t *testing.T, url string, clients int, stop <-chan struct{}) int64 {
	sub := mqtttest.NewObserver(t, url)
	defer sub.Close()
	var got atomic.Int64
	sub.Client().Subscribe("soak/noise", 0, func(mqtt.Client, mqtt.Message) { got.Add(1) }).Wait()
	payload := strings.Repeat("x", 512)
	var wg sync.WaitGroup
	for range clients {
		o := mqtttest.NewObserver(t, url)
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer o.Close()
			for {
				select {
				case <-stop:
					return
				default:
				}
				o.Client().Publish("soak/noise", 0, false, payload).Wait()
			}
		}()
	}
	wg.Wait()
	return got.Load()
}

// loadPhase runs load for soakFor while the daemon's loop, a bare ticker
// in a child process, a bare ticker in this process and the command probe
// are measured, and prints one block of figures.
func loadPhase(t *testing.T, d *daemon, name string, load func(stop <-chan struct{}) string) {
	url := "tcp://" + d.mqtt
	child, _ := bareTickerProcess(t, *soakFor)
	stop := make(chan struct{})
	inproc := make(chan timing, 1)
	go func() { inproc <- bareTicker(stop) }()
	cmds := make(chan []time.Duration, 1)
	go func() { cmds <- commandProbe(t, url, stop) }()
	loadDone := make(chan string, 1)
	go func() { loadDone <- load(stop) }()
	before := d.loop()
	c0, t0 := cpuTime(t, d.cmd.Process.Pid), time.Now()
	time.Sleep(*soakFor)
	cpu := 100 * float64(cpuTime(t, d.cmd.Process.Pid)-c0) / float64(time.Since(t0))
	after := d.loop()
	close(stop)
	what := <-loadDone
	lat := <-cmds
	c50, c99, cmax := quantiles(lat)
	t.Logf("\n== %s (%v): %s; the daemon used %.1f %% of a core\n"+
		"  daemon loop            %v\n"+
		"  bare ticker, process   %v\n"+
		"  bare ticker, in soak   %v\n"+
		"  commands (MQTT, %4d)   p50 %5.2f ms  p99 %6.2f ms  max %6.2f ms",
		name, *soakFor, what, cpu, loopWindow(before, after), child(), <-inproc,
		len(lat), ms(c50), ms(c99), ms(cmax))
}

// TestSoak prints the figures of README "Control loop under load": the
// control loop's lateness against a bare ticker in the same run, lost
// steps and MQTT command latency under HTTP and MQTT load, and the idle
// daemon's CPU with the simulated meters off and on.
func TestSoak(t *testing.T) {
	if !*soak {
		t.Skip("a measurement; run with -soak")
	}
	for _, meters := range []bool{false, true} {
		p := newPorts(t)
		d := launch(t, t.TempDir(), soakConfig(t, p, meters), p.MQTT, "EVSE_LOG_LEVEL=info")
		own, ticker, clock := idleCPU(t, d, *soakFor)
		t.Logf("\n== idle, simulated meters %s: %.2f %% of a core over %v (bare 100 Hz processes in the same window: a Go time.Ticker %.2f %%, the daemon's clock alone %.2f %%)",
			map[bool]string{false: "off", true: "on"}[meters], own, *soakFor, ticker, clock)
		_ = d.cmd.Process.Signal(os.Interrupt)
		<-d.exited
	}

	p := newPorts(t)
	d := launch(t, t.TempDir(), soakConfig(t, p, true), p.MQTT, "EVSE_LOG_LEVEL=info")
	d.post("/sim/v1/State", `{"EvPlugged":true,"EvRequestCharge":true}`, nil)
	loadPhase(t, d, "no load", func(stop <-chan struct{}) string { <-stop; return "nothing" })
	loadPhase(t, d, "HTTP load", func(stop <-chan struct{}) string {
		ok, failed := httpLoadProcess(t, d.base+"/webapi/v1/Status", *soakConns, *soakFor)
		return fmt.Sprintf("%d connections GET Status from another process: %d answered (%.0f/s), %d failed or refused",
			*soakConns, ok, float64(ok)/soakFor.Seconds(), failed)
	})
	loadPhase(t, d, "MQTT load", func(stop <-chan struct{}) string {
		n := mqttLoad(t, "tcp://"+d.mqtt, 4, stop)
		return fmt.Sprintf("4 clients flood QoS 0 to the embedded broker: %d delivered (%.0f/s)", n, float64(n)/soakFor.Seconds())
	})
}
