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

// TestUnfinishedHeaderFlood is the audit's attack on the built binary,
// from ten hosts (127.0.0.2–11, all loopback) at once: 400 connections,
// a quarter pushing 1 MiB of a header that never ends, the rest sending a few
// bytes of one and holding the connection (slowloris). Before the limits
// the daemon buffered all of it (1.09 GB RSS in the audit, health probes
// 5.5 s late). Now a header is capped at 8 KiB, a client at 32
// connections and other hosts together at all but the machine's own
// reserve: the process stays under 64 MB and /healthz from 127.0.0.1
// (where --healthcheck asks) answers during the flood.
func TestUnfinishedHeaderFlood(t *testing.T) {
	if testing.Short() {
		t.Skip("pushes up to 200 MiB over loopback")
	}
	d := start(t, t.TempDir(), newPorts(t), "")
	addr := d.base[len("http://"):]
	pid := d.cmd.Process.Pid
	before := rssKB(t, pid, "VmRSS")

	const hosts, perHost, bigHeader = 10, 40, 1 << 20
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
	for i := range hosts * perHost {
		src := net.IPv4(127, 0, 0, byte(2+i%hosts))
		slow := i%4 != 0 // 300 slow ones fill what other hosts may hold
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			dl := net.Dialer{LocalAddr: &net.TCPAddr{IP: src}, Timeout: 5 * time.Second}
			c, err := dl.Dial("tcp", addr)
			if err != nil {
				return // refused or reset: the caps at work
			}
			mu.Lock()
			held = append(held, c) // kept open (unfinished) until the test ends
			mu.Unlock()
			_ = c.SetWriteDeadline(deadline)
			if _, err := c.Write([]byte("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Pad: ")); err != nil || slow {
				return
			}
			for sent := 0; sent < bigHeader; sent += len(chunk) {
				if _, err := c.Write(chunk); err != nil {
					return // the server gave up on us: 431 or a closed connection
				}
			}
		}()
	}
	wg.Wait()

	// The machine itself is still served while the flood's connections
	// are held open.
	probe := &http.Client{Timeout: 5 * time.Second}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, d.base+"/healthz", nil)
	res, err := probe.Do(req)
	if err != nil {
		t.Fatalf("/healthz from 127.0.0.1 during the flood: %v", err)
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
