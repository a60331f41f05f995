package bridge

import (
	"errors"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

func TestConfigYAMLOverDefaults(t *testing.T) {
	doc := `
url: ssl://broker.example:8883
username: evse
password: secret
insecure_skip_verify: true
keepalive: 45s
qos: 0
`
	cfg := Defaults()
	dec := yaml.NewDecoder(strings.NewReader(doc))
	dec.KnownFields(true)
	if err := dec.Decode(&cfg); err != nil {
		t.Fatal(err)
	}
	cfg = cfg.WithDeviceID("abc123")
	want := Config{
		URL: "ssl://broker.example:8883", EmbeddedListen: "127.0.0.1:1883",
		Username: "evse", Password: "secret", InsecureSkipVerify: true,
		ClientID: "evse-mqtt-abc123", BaseTopic: "evse/abc123",
		Keepalive: 45 * time.Second, MaxReconnectInterval: time.Second, QoS: 0,
	}
	if cfg != want {
		t.Fatalf("got  %+v\nwant %+v", cfg, want)
	}
	if err := cfg.Validate("mqtt"); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	tc, err := cfg.tlsConfig()
	if err != nil || tc == nil || !tc.InsecureSkipVerify {
		t.Fatalf("tls config = %+v, %v", tc, err)
	}
}

func TestConfigUnknownFieldRejected(t *testing.T) {
	cfg := Defaults()
	dec := yaml.NewDecoder(strings.NewReader("uri: tcp://x:1883\n"))
	dec.KnownFields(true)
	if err := dec.Decode(&cfg); err == nil {
		t.Fatal("misspelt field accepted")
	}
}

func TestWithDeviceIDKeepsExplicitValues(t *testing.T) {
	cfg := Defaults()
	cfg.ClientID, cfg.BaseTopic = "mine", "garage/evse"
	if got := cfg.WithDeviceID("x"); got.ClientID != "mine" || got.BaseTopic != "garage/evse" {
		t.Fatalf("got %q %q", got.ClientID, got.BaseTopic)
	}
	if got := Defaults().WithDeviceID("x"); got.Availability() != "evse/x/availability" {
		t.Fatalf("availability = %q", got.Availability())
	}
}

func TestValidateReportsEveryProblemWithPath(t *testing.T) {
	cfg := Config{
		URL:                  "http://broker",
		CertFile:             "/nonexistent/cert.pem",
		CAFile:               "/nonexistent/ca.pem",
		ClientID:             "a+b",
		BaseTopic:            "/evse/#",
		Keepalive:            0,
		MaxReconnectInterval: -1,
		QoS:                  3,
	}
	err := cfg.Validate("mqtt")
	if err == nil {
		t.Fatal("no error")
	}
	msg := err.Error()
	for _, want := range []string{
		`mqtt.url: scheme "http"`,
		"mqtt.cert_file: cert_file and key_file must be given together",
		"mqtt.ca_file: stat /nonexistent/ca.pem",
		"mqtt.cert_file: stat /nonexistent/cert.pem",
		"mqtt.client_id:",
		"mqtt.base_topic: \"/evse/#\" must not contain wildcards",
		"mqtt.base_topic: \"/evse/#\" must not start or end with /",
		"mqtt.keepalive:",
		"mqtt.max_reconnect_interval:",
		"mqtt.qos: 3",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("missing %q in:\n%s", want, msg)
		}
	}
	if n := len(strings.Split(msg, "\n")); n != 10 {
		t.Errorf("%d problems reported, want 10:\n%s", n, msg)
	}
}

func TestValidateURLs(t *testing.T) {
	for _, tc := range []struct {
		url string
		ok  bool
	}{
		{"tcp://127.0.0.1:1883", true},
		{"ssl://broker:8883", true},
		{"ws://broker:9001/mqtt", true},
		{"wss://broker:443/mqtt", true},
		{"mqtt://broker:1883", true},
		{"embedded", true},
		{"", false},
		{"broker:1883", false},
		{"tcp://", false},
		{"udp://broker:1883", false},
	} {
		cfg := Defaults()
		cfg.URL = tc.url
		if err := cfg.Validate(""); (err == nil) != tc.ok {
			t.Errorf("url %q: err = %v, want ok=%v", tc.url, err, tc.ok)
		}
	}
	cfg := Defaults()
	cfg.EmbeddedListen = "1883"
	if err := cfg.Validate("mqtt"); err == nil || !strings.Contains(err.Error(), "mqtt.embedded_listen") {
		t.Fatalf("bad embedded_listen: %v", err)
	}
}

func TestNewRefusesUnresolvedConfig(t *testing.T) {
	if _, err := New(Defaults().WithDeviceID("x"), testLog()); !errors.Is(err, ErrUnresolved) {
		t.Fatalf("embedded URL: err = %v, want ErrUnresolved", err)
	}
	cfg := Defaults()
	cfg.URL = "tcp://127.0.0.1:1883"
	if _, err := New(cfg, testLog()); !errors.Is(err, ErrUnresolved) {
		t.Fatalf("no device id: err = %v, want ErrUnresolved", err)
	}
}
