package bridge

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"github.com/evse-mqtt/evse-mqtt/internal/mqtttest"
)

// tlsFiles is a throwaway PKI: a CA, a server certificate for 127.0.0.1
// and a client certificate, all as PEM files.
type tlsFiles struct {
	ca, serverCert, serverKey, clientCert, clientKey string
}

func (f *tlsFiles) clientTLS(t testing.TB) *tls.Config {
	t.Helper()
	pemCA, err := os.ReadFile(f.ca)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pemCA)
	cert, err := tls.LoadX509KeyPair(f.clientCert, f.clientKey)
	if err != nil {
		t.Fatal(err)
	}
	return &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
}

func newPKI(t *testing.T) *tlsFiles {
	t.Helper()
	dir := t.TempDir()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "evse-mqtt test CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}
	f := &tlsFiles{ca: filepath.Join(dir, "ca.pem")}
	writePEM(t, f.ca, "CERTIFICATE", caDER)

	leaf := func(name string, serial int64, usage x509.ExtKeyUsage, ips []net.IP) (string, string) {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(serial),
			Subject:      pkix.Name{CommonName: name},
			NotBefore:    now.Add(-time.Hour),
			NotAfter:     now.Add(time.Hour),
			KeyUsage:     x509.KeyUsageDigitalSignature,
			ExtKeyUsage:  []x509.ExtKeyUsage{usage},
			IPAddresses:  ips,
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &key.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		keyDER, err := x509.MarshalECPrivateKey(key)
		if err != nil {
			t.Fatal(err)
		}
		certPath, keyPath := filepath.Join(dir, name+".pem"), filepath.Join(dir, name+".key")
		writePEM(t, certPath, "CERTIFICATE", der)
		writePEM(t, keyPath, "EC PRIVATE KEY", keyDER)
		return certPath, keyPath
	}
	f.serverCert, f.serverKey = leaf("server", 2, x509.ExtKeyUsageServerAuth, []net.IP{net.IPv4(127, 0, 0, 1)})
	f.clientCert, f.clientKey = leaf("client", 3, x509.ExtKeyUsageClientAuth, nil)
	return f
}

func writePEM(t *testing.T, path, typ string, der []byte) {
	t.Helper()
	// 0600 is enough: the test config keeps mosquitto from dropping root (user root).
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestTLSClientCertificate runs mosquitto with a TLS listener that demands
// a client certificate from the test CA; the bridge must verify the server
// with ca_file and present cert_file/key_file.
func TestTLSClientCertificate(t *testing.T) {
	pki := newPKI(t)
	tlsPort := mqtttest.FreePort(t)
	b := mqtttest.StartWith(t, fmt.Sprintf("listener %d 127.0.0.1\ncafile %s\ncertfile %s\nkeyfile %s\nrequire_certificate true\n",
		tlsPort, pki.ca, pki.serverCert, pki.serverKey))
	b.WaitListening(tlsPort)
	tlsURL := "ssl://127.0.0.1:" + strconv.Itoa(tlsPort)

	cfg := testConfig(t, tlsURL)
	cfg.CAFile, cfg.CertFile, cfg.KeyFile = pki.ca, pki.clientCert, pki.clientKey
	c, connects := newClient(t, cfg)
	got := make(chan mqtttest.Message, 4)
	c.Handle(c.Base()+"/set", true, func(_ string, p []byte) { got <- mqtttest.Message{Payload: string(p)} })
	start(t, c)
	waitConnect(t, connects, 5*time.Second)
	if v := mqtttest.RetainedPayload(t, b.URL(), cfg.Availability()); v != "online" {
		t.Fatalf("availability over TLS = %q", v)
	}
	// Observed over TLS too, proving the listener really is TLS.
	obs := mqtttest.NewObserverWith(t, tlsURL, func(o *mqtt.ClientOptions) { o.SetTLSConfig(pki.clientTLS(t)) })
	obs.Publish(c.Base()+"/set", "ON", false)
	if m := mqtttest.Next(t, got, 5*time.Second, "command over TLS"); m.Payload != "ON" {
		t.Fatalf("got %q", m.Payload)
	}
}

func TestTLSConfigRejectsBadFiles(t *testing.T) {
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(notPEM, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := Defaults().WithDeviceID("x")
	cfg.URL, cfg.CAFile = "ssl://127.0.0.1:8883", notPEM
	if _, err := New(cfg, testLog()); err == nil {
		t.Fatal("New accepted a CA file without certificates")
	}
	cfg.URL = "tcp://127.0.0.1:1883"
	if tc, err := cfg.tlsConfig(); err != nil || tc != nil {
		t.Fatalf("plain URL got TLS config %v, %v", tc, err)
	}
}

// TestWebSocketURL connects over mosquitto's websockets listener.
func TestWebSocketURL(t *testing.T) {
	wsPort := mqtttest.FreePort(t)
	b := mqtttest.StartWith(t, fmt.Sprintf("listener %d 127.0.0.1\nprotocol websockets\n", wsPort))
	b.WaitListening(wsPort)
	cfg := testConfig(t, "ws://127.0.0.1:"+strconv.Itoa(wsPort)+"/mqtt")
	c, connects := newClient(t, cfg)
	start(t, c)
	waitConnect(t, connects, 5*time.Second)
	if v := mqtttest.RetainedPayload(t, b.URL(), cfg.Availability()); v != "online" {
		t.Fatalf("availability over websockets = %q", v)
	}
}
