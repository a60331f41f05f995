package e2e

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// BenchmarkPage prints the page's weight (every file it loads, gzipped
// at level 9 as a proxy or a browser cache would hold it) and the time
// from navigation start to the first live status painted in headless
// Chromium, against the built daemon on loopback:
//
//	go test ./e2e -run '^$' -bench BenchmarkPage -benchtime 10x
func BenchmarkPage(b *testing.B) {
	d := start(b, b.TempDir(), newPorts(b), "")
	raw, gz := 0, 0
	for _, p := range []string{"/", "/app.js", "/app.css"} {
		resp, err := http.Get(d.base + p)
		if err != nil {
			b.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var z bytes.Buffer
		w, _ := gzip.NewWriterLevel(&z, gzip.BestCompression)
		w.Write(body)
		w.Close()
		raw, gz = raw+len(body), gz+z.Len()
	}
	ctx, _ := browser(b, 1280, 1000)
	var total time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := chromedp.Do(ctx, chromedp.Navigate(d.base+"/")); err != nil {
			b.Fatal(err)
		}
		ms, err := chromedp.Run(ctx, chromedp.Poll[float64](`window.evseFirstEvent`, chromedp.WithPollingTimeout(10*time.Second)))
		if err != nil {
			b.Fatal(err)
		}
		total += time.Duration(ms * float64(time.Millisecond))
	}
	b.ReportMetric(float64(gz), "gzip-bytes")
	b.ReportMetric(float64(raw), "raw-bytes")
	b.ReportMetric(float64(total.Microseconds())/1000/float64(b.N), "ms-to-first-update")
}
