package broker

import (
	"strings"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/rs/zerolog"
)

func TestLoopback(t *testing.T) {
	for addr, want := range map[string]bool{
		"127.0.0.1:1883": true, "127.1.2.3:1883": true, "[::1]:1883": true, "localhost:1883": true,
		"LOCALHOST.:1883": true, "[::ffff:127.0.0.1]:1883": true,
		"0.0.0.0:1883": false, ":1883": false, "[::]:1883": false, "192.168.1.5:1883": false,
		"evse.lan:1883": false, "localhost.evil.example:1883": false, "127.0.0.1": false,
	} {
		if got := Loopback(addr); got != want {
			t.Errorf("Loopback(%q) = %v, want %v", addr, got, want)
		}
	}
}

// TestAnonymousRefusedBeyondLoopback: a broker that other hosts can reach
// does not start without credentials. The refusal comes before anything
// listens, so the test binds nothing beyond loopback.
func TestAnonymousRefusedBeyondLoopback(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:0", ":0", "[::]:0", "192.0.2.1:1883", "evse.lan:1883"} {
		b, err := Start(addr, zerolog.Nop())
		if err == nil {
			b.Close()
			t.Errorf("Start(%q) without credentials succeeded", addr)
			continue
		}
		if !strings.Contains(err.Error(), "needs credentials") || !strings.Contains(err.Error(), addr) {
			t.Errorf("Start(%q): %v, want a clear reason", addr, err)
		}
	}
	for _, addr := range []string{"127.0.0.1:0", "localhost:0"} {
		b, err := Start(addr, zerolog.Nop())
		if err != nil {
			t.Errorf("Start(%q) on loopback: %v", addr, err)
			continue
		}
		b.Close()
	}
}

// tryConnect connects with the given credentials and returns the error.
func tryConnect(t *testing.T, url, id, user, pass string) error {
	t.Helper()
	o := paho.NewClientOptions().AddBroker(url).SetClientID(id).SetAutoReconnect(false).
		SetConnectTimeout(5 * time.Second).SetConnectRetry(false)
	if user != "" {
		o.SetUsername(user).SetPassword(pass)
	}
	c := paho.NewClient(o)
	tok := c.Connect()
	if !tok.WaitTimeout(5 * time.Second) {
		t.Fatalf("%s: no CONNACK within 5 s", id)
	}
	if tok.Error() == nil {
		c.Disconnect(0)
	}
	return tok.Error()
}

// TestCredentialsRequired: with credentials, anonymous clients and wrong
// passwords get "not authorized"; the right ones publish and subscribe.
func TestCredentialsRequired(t *testing.T) {
	b, err := Start("127.0.0.1:0", zerolog.Nop(), WithCredentials("evse", "0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	for _, c := range []struct{ id, user, pass string }{
		{"anon", "", ""}, {"wrongpass", "evse", "guess"}, {"wronguser", "admin", "0123456789abcdef"},
		{"prefix", "evse", "0123456789abcde"},
	} {
		err := tryConnect(t, b.URL(), c.id, c.user, c.pass)
		if err == nil || !strings.Contains(strings.ToLower(err.Error()), "not authori") {
			t.Errorf("%s: %v, want not authorized", c.id, err)
		}
	}
	if err := tryConnect(t, b.URL(), "good", "evse", "0123456789abcdef"); err != nil {
		t.Fatalf("right credentials: %v", err)
	}
	o := paho.NewClientOptions().AddBroker(b.URL()).SetClientID("sub").SetUsername("evse").SetPassword("0123456789abcdef")
	sub := paho.NewClient(o)
	if tok := sub.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	t.Cleanup(func() { sub.Disconnect(0) })
	ch := subscribe(t, sub, "evse/#")
	if tok := sub.Publish("evse/x/set", 1, false, "ON"); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	if m := next(t, ch, "own publish"); m.payload != "ON" {
		t.Fatalf("got %+v", m)
	}
}
