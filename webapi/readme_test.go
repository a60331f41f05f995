package webapi

import (
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/evse-mqtt/evse-mqtt/controller"
)

// TestREADMESession replays the README's curl session on the simulator
// and checks every answer it documents, so the README cannot rot.
func TestREADMESession(t *testing.T) {
	doc, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	// Pairs of: curl -s -d 'BODY' $E/PATH  followed by  # ANSWER.
	re := regexp.MustCompile(`curl -s -d '([^']*)' \$E(/webapi/v1/\w+|/sim/v1/State)\n(?:# (\{.*\}))?`)
	r := newRig(t, rigOpt{})
	n := 0
	for _, m := range re.FindAllStringSubmatch(string(doc), -1) {
		body, path, want := m[1], m[2], m[3]
		if path == "/sim/v1/State" {
			if bad := r.sim.Update([]byte(body)); len(bad) > 0 {
				t.Fatalf("sim %s: %v", body, bad)
			}
			r.until(10*time.Second, "charging", func(st controller.Status) bool { return st.ContactorFeedback })
			continue
		}
		x := r.post(path, body)
		n++
		if want != "" && string(x.body) != want {
			t.Errorf("README: %s %s\n got %s\nwant %s", path, body, x.body, want)
		}
		r.run(time.Second)
	}
	if n < 6 {
		t.Fatalf("found only %d documented requests; did the README's format change?", n)
	}
	if ext := string(r.get("/api/v1/status").body); !strings.Contains(ext, `"limit_source":"boost"`) {
		t.Errorf("extended status at the end: %s", ext)
	}
}
