package e2e

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/evse-mqtt/evse-mqtt/internal/mqtttest"
)

// TestEmbeddedBrokerBeyondLoopbackNeedsLogin: with embedded_listen on all
// interfaces the daemon used to take anonymous commands from the LAN. Now
// it generates a password in the state dir, its own bridge logs in with
// it, and anonymous clients are refused.
//
// The broker listens on 0.0.0.0 for the few seconds of the test (there is
// no other way to make it reachable beyond loopback), but every
// connection the test makes goes to 127.0.0.1, and the broker refuses
// anyone without the password throughout.
func TestEmbeddedBrokerBeyondLoopbackNeedsLogin(t *testing.T) {
	p := newPorts(t)
	_, port, _ := net.SplitHostPort(p.MQTT)
	p.MQTT = "0.0.0.0:" + port
	state := t.TempDir()
	d := start(t, state, p, "device_id: e2e\n")
	url := "tcp://127.0.0.1:" + port

	path := filepath.Join(state, "mqtt-password")
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatalf("no password file: %v", err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("password file mode %v, want 0600", fi.Mode().Perm())
	}
	raw, _ := os.ReadFile(path)
	pass := strings.TrimSpace(string(raw))
	if len(pass) < 32 {
		t.Fatalf("password %q too short", pass)
	}
	if logs := d.log(); strings.Contains(logs, pass) || !strings.Contains(logs, path) {
		t.Errorf("the log must name the file and not print the password:\n%s", logs)
	}

	for _, c := range []struct{ id, user, pass string }{{"anon", "", ""}, {"guess", "evse", "guess"}} {
		o := paho.NewClientOptions().AddBroker(url).SetClientID(c.id).SetAutoReconnect(false).SetConnectTimeout(5 * time.Second)
		if c.user != "" {
			o.SetUsername(c.user).SetPassword(c.pass)
		}
		cl := paho.NewClient(o)
		tok := cl.Connect()
		if !tok.WaitTimeout(5 * time.Second) {
			t.Fatalf("%s: no CONNACK within 5 s", c.id)
		}
		if tok.Error() == nil {
			cl.Disconnect(0)
			t.Errorf("%s: connected to a broker reachable from the LAN", c.id)
		} else if !strings.Contains(strings.ToLower(tok.Error().Error()), "not authori") {
			t.Errorf("%s: %v, want not authorized", c.id, tok.Error())
		}
	}

	// With the generated login a client gets in, and the daemon's own
	// bridge did too: it is online.
	o := mqtttest.NewObserverWith(t, url, func(o *paho.ClientOptions) { o.SetUsername("evse").SetPassword(pass) })
	waitOnline(t, o)
}
