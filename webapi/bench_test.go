package webapi

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/evse-mqtt/evse-mqtt/controller"
)

// BenchmarkStatus measures GET Status through the handler while a
// session runs (go test -bench Status ./webapi/).
func BenchmarkStatus(b *testing.B) {
	r := newRig(b, rigOpt{})
	r.plug(true)
	r.until(10*time.Second, "charging", func(st controller.Status) bool { return st.ContactorFeedback })
	req := httptest.NewRequest(http.MethodGet, "/webapi/v1/Status", nil)
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for b.Loop() {
		w := httptest.NewRecorder()
		r.srv.ServeHTTP(w, req)
		if w.Code != 200 {
			b.Fatal(w.Code)
		}
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "req/s")
}

// BenchmarkStatusTCP is the same over loopback HTTP with keep-alive,
// from parallel clients.
func BenchmarkStatusTCP(b *testing.B) {
	r := newRig(b, rigOpt{})
	ts := newLoopbackServer(b, r.srv)
	c := ts.Client()
	c.Transport.(*http.Transport).MaxIdleConnsPerHost = 64
	url := ts.URL + "/webapi/v1/Status"
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			res, err := c.Get(url)
			if err != nil {
				b.Error(err)
				return
			}
			io.Copy(io.Discard, res.Body)
			res.Body.Close()
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "req/s")
}
