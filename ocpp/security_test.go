package ocpp

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/evse-mqtt/evse-mqtt/internal/ocpptest"
)

// waitState waits for the charge point's State to satisfy ok.
func waitState(t *testing.T, c *Client, what string, ok func(State) bool) State {
	t.Helper()
	ch, stop := c.Subscribe()
	defer stop()
	deadline := time.After(5 * time.Second)
	for {
		if s := c.State(); ok(s) {
			return s
		}
		select {
		case <-ch:
		case <-deadline:
			t.Fatalf("%s: state %+v", what, c.State())
		}
	}
}

// selfSigned makes a CA-and-server certificate for 127.0.0.1 and writes
// the CA to a PEM file.
func selfSigned(t *testing.T) (*tls.Config, string) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}, MinVersion: tls.VersionTLS12}, ca
}

// Security profiles 1 and 2: HTTP Basic with the charge point's identity
// and password, over ws and over wss with the CSMS's CA; a wrong password
// or an unknown CA is never accepted.
func TestSecurityProfiles(t *testing.T) {
	tlsCfg, ca := selfSigned(t)
	for _, c := range []struct {
		name     string
		o        ocpptest.Options
		password string
		caFile   string
		accepted bool
		why      string
	}{
		{"profile 1", ocpptest.Options{User: "cp1", Password: "s3cret"}, "s3cret", "", true, ""},
		{"profile 1, wrong password", ocpptest.Options{User: "cp1", Password: "s3cret"}, "guess", "", false, "401"},
		{"profile 2", ocpptest.Options{User: "cp1", Password: "s3cret", TLS: tlsCfg}, "s3cret", ca, true, ""},
		{"profile 2, unknown CA", ocpptest.Options{User: "cp1", Password: "s3cret", TLS: tlsCfg}, "s3cret", "", false, "certificate"},
	} {
		t.Run(c.name, func(t *testing.T) {
			csms, err := ocpptest.ListenWith(c.o)
			if err != nil {
				t.Fatal(err)
			}
			defer csms.Close()
			cl, _ := newTestClient(t, csms.URL(), time.Minute)
			cl.cfg.Password, cl.cfg.CAFile = c.password, c.caFile
			run(t, cl)
			if c.accepted {
				waitState(t, cl, "accepted", func(s State) bool { return s.Connection == ConnAccepted })
				return
			}
			s := waitState(t, cl, "refused", func(s State) bool { return s.LastError != "" })
			if s.Connection != ConnDisconnected || !strings.Contains(s.LastError, c.why) || csms.Connections() != 0 {
				t.Errorf("state %+v, %d connections; want refused (%s)", s, csms.Connections(), c.why)
			}
		})
	}
}
