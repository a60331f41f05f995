package webapi

import "time"

// MQTTState is the broker connection as /healthz and /api/v1/status
// report it. The daemon fills it from the MQTT bridge.
type MQTTState struct {
	// Connected is true while the bridge has a live connection.
	Connected bool `json:"connected"`
	// Error says why it is not connected: the broker's refusal, the
	// network, DNS or TLS error, or that MQTT could not be started.
	Error string `json:"error,omitempty"`
	// Since is when the connection came up or went down.
	Since time.Time `json:"since"`
	// URL is the broker the daemon talks to (credentials never appear).
	URL string `json:"url,omitempty"`
}

// degradedReason is what /healthz says about an MQTT link that is not up;
// "" when it is up or when the daemon has no MQTT.
func (s *Server) degradedReason() string {
	if s.o.MQTT == nil {
		return ""
	}
	m := s.o.MQTT()
	if m.Connected {
		return ""
	}
	reason := m.Error
	if reason == "" {
		reason = "connecting"
	}
	if m.URL != "" {
		reason = "not connected to " + m.URL + ": " + reason
	} else {
		reason = "not connected: " + reason
	}
	if !m.Since.IsZero() {
		reason += " (since " + m.Since.UTC().Format(time.RFC3339) + ")"
	}
	return reason
}
