package webapi

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"
)

// hostNames are the names a write's Host header may carry. A browser
// fooled by DNS rebinding (a page on evil.example whose name suddenly
// resolves to the charger) sends Host evil.example and, to the browser,
// the request is same-origin, so the cross-origin check passes it. Only
// the Host tells: the charger knows its own names, and an attacker's
// domain is none of them.
//
// Accepted: any IP literal (a browser sends an address only when the user
// typed one, which rebinding cannot fake), localhost and *.localhost
// (browsers resolve them to loopback themselves), the host's name with
// and without its domain and as <name>.local (mDNS), and the configured
// http.hosts. An absent Host (HTTP/1.0 clients) is accepted: browsers
// always send one.
type hostNames map[string]bool

func newHostNames(configured []string, self string) hostNames {
	h := hostNames{}
	for _, n := range configured {
		h[normHost(n)] = true
	}
	if self = normHost(self); self != "" {
		short, _, _ := strings.Cut(self, ".")
		h[self], h[short], h[short+".local"] = true, true, true
	}
	return h
}

// normHost lowercases a name and drops a trailing dot ("evse.local." is
// the same name).
func normHost(n string) string {
	return strings.TrimSuffix(strings.ToLower(strings.TrimSpace(n)), ".")
}

// check returns "" when host (a Host header, with or without a port) is a
// name of this charger, else the reason for refusing the write.
func (h hostNames) check(host string) string {
	if host == "" {
		return ""
	}
	name := host
	if n, _, err := net.SplitHostPort(host); err == nil {
		name = n
	}
	name = strings.TrimSuffix(strings.TrimPrefix(name, "["), "]")
	if _, err := netip.ParseAddr(name); err == nil {
		return ""
	}
	name = normHost(name)
	if name == "localhost" || strings.HasSuffix(name, ".localhost") || h[name] {
		return ""
	}
	return fmt.Sprintf("write refused: Host %q is not a name of this charger (use its IP address, localhost or its host name, or add the name to http.hosts)", clipHost(host))
}

// systemHostname is the host's name for newHostNames ("" if unknown).
func systemHostname() string {
	n, err := os.Hostname()
	if err != nil {
		return ""
	}
	return n
}

// clipHost bounds the client's Host as echoed in an answer or the log.
func clipHost(s string) string {
	if len(s) <= 64 {
		return s
	}
	return s[:64] + "…"
}
