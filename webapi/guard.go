package webapi

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"net/netip"
	"strings"
)

// guard decides whether a write may proceed: the client network first
// (cheap, and it says nothing about credentials), then whether that
// network writes without credentials, then the credentials.
type guard struct {
	allow    []netip.Prefix
	noAuth   []netip.Prefix
	user     [32]byte // sha256, so comparisons take constant time whatever the length
	pass     [32]byte
	token    [32]byte
	hasBasic bool
	hasToken bool
}

func newGuard(c Config) (*guard, error) {
	ps, err := c.prefixes()
	if err != nil {
		return nil, err
	}
	na, err := c.noAuthPrefixes()
	if err != nil {
		return nil, err
	}
	g := &guard{allow: ps, noAuth: na}
	if c.Username != "" && c.Password != "" {
		g.hasBasic = true
		g.user, g.pass = sha256.Sum256([]byte(c.Username)), sha256.Sum256([]byte(c.Password))
	}
	if c.Token != "" {
		g.hasToken = true
		g.token = sha256.Sum256([]byte(c.Token))
	}
	return g, nil
}

// remoteAddr returns the client's address from the connection (proxies'
// X-Forwarded-For is not trusted: the allow-list guards the LAN).
func remoteAddr(r *http.Request) netip.Addr {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		a, err := netip.ParseAddr(r.RemoteAddr)
		if err != nil {
			return netip.Addr{}
		}
		return a.Unmap()
	}
	return ap.Addr().Unmap()
}

// allowed reports whether a may write at all.
func (g *guard) allowed(a netip.Addr) bool { return inPrefixes(a, g.allow) }

// trusted reports whether a may write without credentials.
func (g *guard) trusted(a netip.Addr) bool { return inPrefixes(a, g.noAuth) }

func inPrefixes(a netip.Addr, ps []netip.Prefix) bool {
	if !a.IsValid() {
		return false
	}
	a = a.WithZone("")
	for _, p := range ps {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// authorised checks the request's credentials; with none configured
// nobody is authorised (only trusted networks write).
func (g *guard) authorised(r *http.Request) bool {
	h := r.Header.Get("Authorization")
	if g.hasToken {
		if scheme, tok, ok := strings.Cut(h, " "); ok && strings.EqualFold(scheme, "Bearer") {
			sum := sha256.Sum256([]byte(strings.TrimSpace(tok)))
			if subtle.ConstantTimeCompare(sum[:], g.token[:]) == 1 {
				return true
			}
		}
	}
	if g.hasBasic {
		if u, p, ok := r.BasicAuth(); ok {
			us, ps := sha256.Sum256([]byte(u)), sha256.Sum256([]byte(p))
			okU := subtle.ConstantTimeCompare(us[:], g.user[:])
			okP := subtle.ConstantTimeCompare(ps[:], g.pass[:])
			if okU&okP == 1 {
				return true
			}
		}
	}
	return false
}

// challenge names the schemes a client may use after a 401.
func (g *guard) challenge() string {
	var cs []string
	if g.hasBasic {
		cs = append(cs, `Basic realm="evse-mqtt", charset="UTF-8"`)
	}
	if g.hasToken || !g.hasBasic {
		cs = append(cs, `Bearer realm="evse-mqtt"`)
	}
	return strings.Join(cs, ", ")
}
