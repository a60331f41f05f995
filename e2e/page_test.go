package e2e

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// The page's acceptance runs in a real headless Chromium (Debian's
// chromium, which .ci/run installs) against the built daemon on the
// simulator. As root it re-runs itself inside a fresh network namespace
// whose only interface is lo, so the page provably needs no internet; the
// browser's network log is checked for any request leaving loopback too.
const (
	envBinary = "EVSE_E2E_BINARY" // the child's daemon binary
	envNetns  = "EVSE_PAGE_NETNS" // set in the child: it runs in the namespace
	envShots  = "EVSE_PAGE_SHOTS" // where screenshots go (default: a new temp dir, logged)
)

// chromiumPath finds Debian's chromium; without it the test is skipped
// locally but fails in CI, where .ci/run installs it.
func chromiumPath(t testing.TB) string {
	for _, p := range []string{"chromium", "chromium-browser"} {
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("chromium is not installed (.ci/run installs Debian's chromium)")
	}
	t.Skip("chromium not installed: apt-get install chromium")
	return ""
}

// inNetns re-runs the test named run inside a new network namespace with
// only lo up, when it is root and not already there. It reports whether
// the caller is the one to run the test body (the child, or a non-root
// run where no namespace can be made).
func inNetns(t *testing.T, run string) bool {
	t.Helper()
	if os.Getenv(envNetns) != "" {
		return true
	}
	if os.Geteuid() != 0 {
		t.Log("not root: running without a network namespace")
		return true
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "unshare", "--net", "--", "sh", "-c", `ip link set lo up && exec "$@"`, "sh",
		os.Args[0], "-test.run", "^"+run+"$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), envNetns+"=1", envBinary+"="+binary)
	out, err := cmd.CombinedOutput()
	t.Logf("inside a network namespace with only lo:\n%s", out)
	if err != nil {
		t.Fatalf("the test inside the namespace failed: %v", err)
	}
	if !strings.Contains(string(out), "--- PASS: "+run) {
		t.Fatalf("the test did not pass inside the namespace")
	}
	return false
}

// assertNoRouteOut checks that the namespace has no route but loopback's:
// /proc/net/route lists no IPv4 route and no interface but lo is up.
func assertNoRouteOut(t *testing.T) {
	t.Helper()
	data, err := os.ReadFile("/proc/net/route")
	if err != nil {
		t.Fatal(err)
	}
	if lines := strings.Split(strings.TrimSpace(string(data)), "\n"); len(lines) > 1 {
		t.Fatalf("the namespace has IPv4 routes:\n%s", data)
	}
	ifs, err := net.Interfaces()
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range ifs {
		if i.Flags&net.FlagUp != 0 && i.Flags&net.FlagLoopback == 0 {
			t.Fatalf("interface %s is up in the namespace", i.Name)
		}
	}
}

// browser starts headless Chromium and returns a tab's context and the
// URLs of every request the page sent.
func browser(t testing.TB, width, height int) (context.Context, func() []string) {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.NoSandbox, // root in CI; the page is our own
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("dns-prefetch-disable", true),
		chromedp.WindowSize(width, height),
	)
	actx, acancel := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	ctx, tcancel := context.WithTimeout(ctx, 60*time.Second)
	t.Cleanup(func() { tcancel(); cancel(); acancel() })
	var mu sync.Mutex
	var urls []string
	if err := chromedp.Listen(ctx, func(ev any) {
		if e, ok := ev.(*network.EventRequestWillBeSent); ok {
			mu.Lock()
			urls = append(urls, e.Request.URL)
			mu.Unlock()
		}
	}); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	return ctx, func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), urls...)
	}
}

// assertLoopbackOnly fails for any request whose host is not a loopback
// address.
func assertLoopbackOnly(t *testing.T, urls []string) {
	t.Helper()
	if len(urls) == 0 {
		t.Fatal("the network log is empty: the listener saw nothing")
	}
	for _, u := range urls {
		p, err := url.Parse(u)
		if err != nil {
			t.Errorf("request to %q: %v", u, err)
			continue
		}
		if p.Scheme == "data" || p.Scheme == "about" || p.Scheme == "blob" {
			continue
		}
		ip := net.ParseIP(p.Hostname())
		if ip == nil || !ip.IsLoopback() {
			t.Errorf("request leaves loopback: %s", u)
		}
	}
}

func shotsDir(t testing.TB) string {
	dir := os.Getenv(envShots)
	if dir == "" {
		var err error
		if dir, err = os.MkdirTemp("", "evse-page-shots-"); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

func screenshot(t *testing.T, ctx context.Context, dir, name string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	path := filepath.Join(dir, name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", path)
}

// js evaluates an expression in the page.
func js[T any](t *testing.T, ctx context.Context, expr string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		t.Fatalf("evaluating %s: %v", expr, err)
	}
	return v
}

// waitJS waits, in the page, until expr is truthy: a MutationObserver
// re-checks it on every DOM change, so the wait ends with the change
// itself, not at a polling tick.
func waitJS(t *testing.T, ctx context.Context, expr string, within time.Duration) {
	t.Helper()
	if _, err := chromedp.Run(ctx, chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingMutation(), chromedp.WithPollingTimeout(within))); err != nil {
		t.Fatalf("page: %s not true within %v: %v", expr, within, err)
	}
}

// postAuth writes to the daemon with its token (loopback writes need
// credentials in this configuration too).
func (d *daemon) postAuth(path, body string) (int, string) {
	d.t.Helper()
	tok, err := os.ReadFile(filepath.Join(d.stateDir, "api-token"))
	if err != nil {
		d.t.Fatalf("token: %v", err)
	}
	return postFrom(d.t.(*testing.T), http.DefaultClient, d.base+path, body, "Authorization", "Bearer "+strings.TrimSpace(string(tok)))
}

// pageDaemon starts the daemon with auth on for every client
// (write_without_credentials: []) and auto start off, so Start is the
// page's to press.
func pageDaemon(t *testing.T) *daemon {
	t.Helper()
	p := newPorts(t)
	cfg := fmt.Sprintf(`log:
  level: info
  format: json
http:
  listen: %q
  write_without_credentials: []
settings:
  ChargeAutoStart: false
  Meter1Type: 4
  Meter1Ip: %q
  Meter2Type: 4
  Meter2Ip: %q
sim:
  meter1_listen: %q
  meter2_listen: %q
mqtt:
  url: embedded
  embedded_listen: %q
`, p.HTTP, p.Meter1, p.Meter2, p.Meter1, p.Meter2, p.MQTT)
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	return launch(t, t.TempDir(), path, p.MQTT)
}

// TestPageInBrowser is the page's acceptance: it loads and works with no
// route out, nothing leaves loopback, a plug-in shows up live within
// 500 ms, a write without logging in is refused and after logging in
// Start closes the contactor, and an out-of-range current shows the
// server's reason next to the field with nothing changed. Auth is on for
// every client (write_without_credentials: []), so the browser on
// loopback stands for one on the LAN.
func TestPageInBrowser(t *testing.T) {
	chromiumPath(t)
	if !inNetns(t, "TestPageInBrowser") {
		return
	}
	if os.Getenv(envNetns) != "" {
		assertNoRouteOut(t)
	}
	d := pageDaemon(t)
	shots := shotsDir(t)
	ctx, requests := browser(t, 1280, 1000)

	if err := chromedp.Do(ctx, chromedp.Navigate(d.base+"/")); err != nil {
		t.Fatal(err)
	}
	waitJS(t, ctx, `document.getElementById('link').textContent === 'live' && document.getElementById('state').textContent === 'idle'`, 10*time.Second)
	if !js[bool](t, ctx, `!document.getElementById('login-open').hidden`) {
		t.Error("the page does not offer a login although writes need credentials")
	}

	// Plug in: the page shows "connected" within 500 ms of the write, on
	// the open stream (a marker set before survives: no reload).
	js[bool](t, ctx, `window.noReload = true`)
	t0 := time.Now()
	if code, b := d.postAuth("/sim/v1/State", `{"EvPlugged":true,"EvRequestCharge":true,"EvResponseMs":100}`); code != 200 {
		t.Fatalf("plug in: %d %s", code, b)
	}
	waitJS(t, ctx, `document.getElementById('state').textContent === 'connected'`, 2*time.Second)
	if took := time.Since(t0); took > 500*time.Millisecond {
		t.Errorf("\"connected\" shown %v after the plug-in, want ≤ 500 ms", took)
	} else {
		t.Logf("\"connected\" shown %v after the plug-in", took.Round(time.Millisecond))
	}
	if !js[bool](t, ctx, `window.noReload === true`) {
		t.Error("the page reloaded")
	}
	screenshot(t, ctx, shots, "status")

	// Start without logging in: refused, the login opens, nothing moves.
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.ID("start"))); err != nil {
		t.Fatal(err)
	}
	waitJS(t, ctx, `!document.getElementById('login').hidden && document.getElementById('login-msg').textContent.includes('Log in')`, 5*time.Second)
	if s := d.sim(); s.Contactor {
		t.Fatal("Start without credentials closed the contactor")
	}
	screenshot(t, ctx, shots, "login")

	// A wrong token is refused; the right one logs in.
	if err := chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.ID("login-token"), "not-the-token"),
		chromedp.Click(chromedp.ID("login-go"))); err != nil {
		t.Fatal(err)
	}
	waitJS(t, ctx, `document.getElementById('login-msg').textContent === 'wrong credentials'`, 5*time.Second)
	tok, err := os.ReadFile(filepath.Join(d.stateDir, "api-token"))
	if err != nil {
		t.Fatal(err)
	}
	// Right after the failure the holder of the token still gets in (a
	// failure only delays its own answer, OpenEVSE's rule).
	if err := chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.ID("login-token"), strings.TrimSpace(string(tok))),
		chromedp.Click(chromedp.ID("login-go"))); err != nil {
		t.Fatal(err)
	}
	waitJS(t, ctx, `document.getElementById('login').hidden && !document.getElementById('logout').hidden`, 5*time.Second)
	if js[bool](t, ctx, `document.cookie.includes('evse_session')`) {
		t.Error("the session cookie is readable by the page's script (not HttpOnly)")
	}
	if js[bool](t, ctx, `JSON.stringify(localStorage).includes(`+fmt.Sprintf("%q", strings.TrimSpace(string(tok)))+`) || JSON.stringify(sessionStorage).includes(`+fmt.Sprintf("%q", strings.TrimSpace(string(tok)))+`)`) {
		t.Error("the page stored the token")
	}

	// Logged in: Start closes the contactor (seen through /sim/v1/State).
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.ID("start"))); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, func() string {
		if s := d.sim(); !s.Contactor {
			return fmt.Sprintf("contactor open after Start: %+v", s)
		}
		return ""
	})
	waitJS(t, ctx, `document.getElementById('state').textContent === 'charging' && document.getElementById('start').textContent === 'Stop'`, 5*time.Second)
	waitJS(t, ctx, `Number(document.getElementById('power').textContent) > 0`, 10*time.Second)
	screenshot(t, ctx, shots, "charging")

	// An out-of-range current: the server's reason next to the field,
	// nothing changed.
	var before map[string]any
	d.get("/webapi/v1/SystemConfig", &before)
	if err := chromedp.Do(ctx,
		chromedp.SetValue(chromedp.ID("current"), "99"),
		chromedp.Click(chromedp.ID("current-set"))); err != nil {
		t.Fatal(err)
	}
	waitJS(t, ctx, `document.getElementById('current-err').textContent !== ''`, 5*time.Second)
	reason := js[string](t, ctx, `document.getElementById('current-err').textContent`)
	if !strings.Contains(reason, "must be 6") || !strings.Contains(reason, "got 99") {
		t.Errorf("reason next to the field: %q, want the server's", reason)
	}
	var after map[string]any
	d.get("/webapi/v1/SystemConfig", &after)
	if before["ChargeCurrent"] != after["ChargeCurrent"] {
		t.Errorf("ChargeCurrent changed from %v to %v", before["ChargeCurrent"], after["ChargeCurrent"])
	}
	screenshot(t, ctx, shots, "current-refused")

	// The settings form: a bad field is named next to it, nothing applied.
	if err := chromedp.Do(ctx, chromedp.Navigate(d.base+"/#settings")); err != nil {
		t.Fatal(err)
	}
	waitJS(t, ctx, `document.getElementById('f-PhaseCurrentLimit') !== null`, 5*time.Second)
	if err := chromedp.Do(ctx,
		chromedp.SetValue(chromedp.ID("f-ChargeCurrentBoost"), "20"),
		chromedp.SetValue(chromedp.ID("f-PhaseCurrentLimit"), "9999"),
		chromedp.Click(chromedp.ID("settings-save"))); err != nil {
		t.Fatal(err)
	}
	waitJS(t, ctx, `document.getElementById('err-PhaseCurrentLimit').textContent !== ''`, 5*time.Second)
	var after2 map[string]any
	d.get("/webapi/v1/SystemConfig", &after2)
	if after2["ChargeCurrentBoost"] != before["ChargeCurrentBoost"] || after2["PhaseCurrentLimit"] != before["PhaseCurrentLimit"] {
		t.Errorf("a refused settings form changed something: %v → %v", before, after2)
	}
	screenshot(t, ctx, shots, "settings")

	for _, view := range []string{"meters", "log"} {
		if err := chromedp.Do(ctx, chromedp.Navigate(d.base+"/#"+view)); err != nil {
			t.Fatal(err)
		}
		sel := map[string]string{"meters": `document.querySelectorAll('#meters table').length === 2`, "log": `document.querySelectorAll('#log li').length >= 2`}[view]
		waitJS(t, ctx, sel, 5*time.Second)
		screenshot(t, ctx, shots, view)
	}
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile), chromedp.Navigate(d.base+"/")); err != nil {
		t.Fatal(err)
	}
	waitJS(t, ctx, `document.getElementById('state').textContent === 'charging'`, 5*time.Second)
	if w := js[float64](t, ctx, `document.documentElement.scrollWidth`); w > 390 {
		t.Errorf("on a phone the page is %v px wide, wider than the 390 px screen", w)
	}
	screenshot(t, ctx, shots, "phone")
	assertLoopbackOnly(t, requests())
	t.Logf("%d requests, all to loopback; screenshots in %s", len(requests()), shots)
}
