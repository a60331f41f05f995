package webapi

// OCPPState is the OCPP central-system connection and the transaction in
// progress, as /api/v1/status ("ocpp") and the MQTT status document
// ("OCPP") report them. The daemon fills it from the charge point
// (package ocpp); absent when OCPP is off.
type OCPPState struct {
	// Connection is disconnected, pending, rejected or accepted.
	Connection string `json:"connection"`
	// Transaction is the central system's transactionId of the session
	// in progress; 0 without one or before the central system gave it.
	Transaction int `json:"transaction"`
	// LocalTransaction is the charge point's own id of that session.
	LocalTransaction int `json:"local_transaction"`
	// Queued counts transaction messages waiting for the central system.
	Queued int `json:"queued"`
	// Error is why the connection last ended or failed.
	Error string `json:"error,omitempty"`
}

// ocppState returns the provider's state, nil without one.
func (s *Server) ocppState() *OCPPState {
	if s.o.OCPP == nil {
		return nil
	}
	st := s.o.OCPP()
	return &st
}
