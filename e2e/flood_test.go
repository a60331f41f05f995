package e2e

import (
	"bufio"
	"bytes"
	"context"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"
)

// rssKB reads a VmRSS-style field (VmRSS, VmHWM) of pid, in KiB.
func rssKB(t testing.TB, pid int, field string) int {
	t.Helper()
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		t.Fatalf("reading /proc/%d/status: %v", pid, err)
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		if v, ok := bytes.CutPrefix(sc.Bytes(), []byte(field+":")); ok {
			f := bytes.Fields(v)
			if len(f) >= 1 {
				n, err := strconv.Atoi(string(f[0]))
				if err == nil {
					return n
				}
			}
		}
	}
	t.Fatalf("no %s in /proc/%d/status", field, pid)
	return 0
}

// TestUnfinishedHeaderFlood is the audit's attack on the built binary: 400
// connections from one client each push 1 MiB of a header that never
// ends. Before the limits the daemon buffered all of it (1.09 GB RSS,
// health probes 5.5 s late). Now the header is capped at 8 KiB, the client
// at 32 connections and the process stays under 64 MB; another client
// (127.0.0.2, still loopback) gets /healthz answered meanwhile.
func TestUnfinishedHeaderFlood(t *testing.T) {
	if testing.Short() {
		t.Skip("pushes up to 400 MiB over loopback")
	}
	d := start(t, t.TempDir(), newPorts(t), "")
	addr := d.base[len("http://"):]
	pid := d.cmd.Process.Pid
	before := rssKB(t, pid, "VmRSS")

	const conns, perConn = 400, 1 << 20
	chunk := bytes.Repeat([]byte("a"), 16<<10)
	deadline := time.Now().Add(60 * time.Second) // bounds the whole attack
	var (
		mu   sync.Mutex
		held []net.Conn
		wg   sync.WaitGroup
	)
	defer func() {
		mu.Lock()
		for _, c := range held {
			c.Close()
		}
		mu.Unlock()
	}()
	sem := make(chan struct{}, 50) // dials in flight: stay within the listen backlog
	for range conns {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			c, err := net.DialTimeout("tcp", addr, 5*time.Second)
			if err != nil {
				return // refused or reset: the caps at work
			}
			mu.Lock()
			held = append(held, c) // kept open (unfinished) until the test ends
			mu.Unlock()
			_ = c.SetWriteDeadline(deadline)
			if _, err := c.Write([]byte("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Pad: ")); err != nil {
				return
			}
			for sent := 0; sent < perConn; sent += len(chunk) {
				if _, err := c.Write(chunk); err != nil {
					return // the server gave up on us: 431 or a closed connection
				}
			}
		}()
	}
	wg.Wait()

	// A different client on loopback is still served while the flood's
	// connections are held open.
	probe := &http.Client{
		Timeout: 5 * time.Second,
		Transport: &http.Transport{DialContext: (&net.Dialer{
			LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 2)},
		}).DialContext},
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, d.base+"/healthz", nil)
	res, err := probe.Do(req)
	if err != nil {
		t.Fatalf("/healthz from another client during the flood: %v", err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("/healthz during the flood: %d", res.StatusCode)
	}

	peak, now := rssKB(t, pid, "VmHWM"), rssKB(t, pid, "VmRSS")
	t.Logf("RSS before %d KiB, after the flood %d KiB, peak %d KiB", before, now, peak)
	if peak >= 64<<10 {
		t.Fatalf("peak RSS %d KiB under the flood, want < 64 MiB", peak)
	}
}
