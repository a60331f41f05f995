package webapi

import (
	"errors"
	"net/http"
)

// Errors of Login.
var (
	// ErrLoginRefused: the Host, the Origin or the client network would
	// refuse any write from this client; credentials were not looked at.
	ErrLoginRefused = errors.New("login refused: writes are not possible from this client")
	// ErrBadCredentials: the request's Authorization is missing or wrong.
	ErrBadCredentials = errors.New("wrong credentials")
	// ErrBusy: another attempt of this client is being judged or held;
	// this one was not judged (see throttle).
	ErrBusy = errors.New("too many login attempts at once from this address: try again later")
)

// Login checks a login request of the local page exactly as a write is
// checked (Host, cross-origin, client network) and then its
// Authorization header (Bearer token or Basic) against the configured
// credentials, so a session is only ever handed to a client that could
// have written with those credentials itself. It answers nothing; the
// caller sets the session. Wrong credentials are throttled as the
// WebAPI's are (throttle): their answer is held, and the right ones are
// always accepted.
func (s *Server) Login(r *http.Request) error {
	if s.hosts.check(r.Host) != "" || s.xo.Check(r) != nil || !s.guard.allowed(remoteAddr(r)) {
		return ErrLoginRefused
	}
	ok, busy := s.throttle.judge(r.Context(), remoteAddr(r), func() bool { return s.guard.authorised(r) })
	switch {
	case busy:
		return ErrBusy
	case !ok:
		s.log.Warn().Str("remote", r.RemoteAddr).Msg("login failed")
		return ErrBadCredentials
	}
	return nil
}

// NeedsCredentials reports whether a write from r's client needs
// credentials (it is not from a network that writes without them), so
// the page can ask for a login only where one is needed.
func (s *Server) NeedsCredentials(r *http.Request) bool {
	return !s.guard.trusted(remoteAddr(r))
}
