package config

import (
	"slices"
	"strings"
	"testing"
)

// TestHTTPWriteLists: by default only loopback writes without
// credentials; the example documents the defaults; an empty list in the
// file trusts nobody (it must not fall back to the default), and
// http.hosts and bad entries are read and reported.
func TestHTTPWriteLists(t *testing.T) {
	d := Defaults()
	if want := []string{"127.0.0.0/8", "::1/128"}; !slices.Equal(d.HTTP.WriteWithoutCredentials, want) {
		t.Fatalf("default write_without_credentials %v, want %v", d.HTTP.WriteWithoutCredentials, want)
	}
	ex, err := Load("../config.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ex.HTTP.WriteWithoutCredentials, d.HTTP.WriteWithoutCredentials) || !slices.Equal(ex.HTTP.WriteAllow, d.HTTP.WriteAllow) {
		t.Errorf("the example's lists differ from the defaults: %+v", ex.HTTP)
	}
	c, err := Decode(strings.NewReader("http:\n  write_without_credentials: []\n  hosts: [evse.fritz.box]\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.HTTP.WriteWithoutCredentials) != 0 || !slices.Equal(c.HTTP.Hosts, []string{"evse.fritz.box"}) {
		t.Errorf("decoded %+v", c.HTTP)
	}
	_, err = Decode(strings.NewReader("http:\n  write_without_credentials: [lan]\n  hosts: [\"http://evse\"]\n"))
	if err == nil || !strings.Contains(err.Error(), "http.write_without_credentials[0]") || !strings.Contains(err.Error(), "http.hosts[0]") {
		t.Errorf("bad entries: %v", err)
	}
}
