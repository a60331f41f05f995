package command

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/evse-mqtt/evse-mqtt/jsonstrict"
)

// MaxPayload bounds an MQTT command payload. The largest real command (a
// <base>/set with every SystemConfig field) is under 400 bytes; anything
// past this is refused before it is decoded.
const MaxPayload = 4 << 10

// MQTTTopics are the command topic filters under <base>/, each answered
// on <base>/result. docs/mqtt.md documents them.
var MQTTTopics = []string{"set", "charging/set", "boost/set", "power_available/set", "config/+/set", "system/set", "mode/set", "grid/set", "phases/set"}

// MQTTResult answers one MQTT command: the name <base>/result reports it
// under, the client's "transaction" echoed, and the reply.
type MQTTResult struct {
	Command     string
	Transaction json.RawMessage
	Reply       Reply
	// Quiet: an applied grid reading is not answered on <base>/result
	// (one a second would flood it); a refused one is.
	Quiet bool
}

// MQTT runs a command published on <base>/<sub>, where sub is one of
// MQTTTopics with the wildcard filled in (config/ChargeCurrent/set). The
// payload goes through the same strict decoding as the WebAPI's bodies
// (jsonstrict) and the same table.
func (t *Table) MQTT(sub string, payload []byte, o Origin) MQTTResult {
	name := strings.TrimSuffix(sub, "/set")
	if name == sub {
		name = "set" // "set" itself has no suffix to strip
	}
	res := MQTTResult{Command: jsonstrict.Shorten([]byte(name))} // a topic level can be 64 KiB
	if len(payload) > MaxPayload {
		t.oversize.note(t, sub, len(payload))
		res.Reply = ErrorReply(http.StatusRequestEntityTooLarge,
			fmt.Sprintf("payload of %d bytes refused; commands are at most %d bytes", len(payload), MaxPayload))
		return res
	}
	switch {
	case sub == "set" || sub == "system/set":
		req, tx, err := decodeCommand(payload)
		res.Transaction = tx
		switch {
		case err != nil:
			res.Reply = ErrorReply(http.StatusBadRequest, err.Error())
		case sub == "set":
			res.Reply = t.Set(req, o)
		default:
			res.Reply = t.SystemInfo(req, o)
		}
	case sub == "charging/set" || sub == "boost/set":
		on, err := onOff(payload)
		switch {
		case err != nil:
			res.Reply = ErrorReply(http.StatusBadRequest, err.Error())
		case sub == "charging/set":
			res.Reply = t.Charging(on, o)
		default:
			res.Reply = t.Boost(on, o)
		}
	case sub == "mode/set":
		res.Reply = t.Mode(map[string]json.RawMessage{CmdMode: scalar(payload)}, o)
	case sub == "phases/set":
		res.Reply = t.Mode(map[string]json.RawMessage{CmdPhases: scalar(payload)}, o)
	case sub == "grid/set":
		res.Reply = t.Grid(payload, o)
		res.Quiet = res.Reply.Applied()
	case sub == "power_available/set":
		res.Reply = t.PowerAvailable(json.RawMessage(bytes.TrimSpace(payload)), o)
	case strings.HasPrefix(sub, "config/") && strings.HasSuffix(sub, "/set"):
		field := strings.TrimSuffix(strings.TrimPrefix(sub, "config/"), "/set")
		res.Reply = t.SystemConfig(map[string]json.RawMessage{field: scalar(payload)}, o)
	default:
		res.Reply = ErrorReply(http.StatusNotFound, "no such command topic "+jsonstrict.Quote(sub))
	}
	return res
}

// decodeCommand parses a JSON object command strictly and takes its
// optional "transaction" value out (it is echoed in the result, not a
// command).
func decodeCommand(p []byte) (map[string]json.RawMessage, json.RawMessage, error) {
	req, err := jsonstrict.ObjectBytes(p)
	if err != nil {
		if err == jsonstrict.ErrNotObject || err == jsonstrict.ErrEmpty {
			return nil, nil, fmt.Errorf("payload %w", jsonstrict.ErrNotObject)
		}
		return nil, nil, fmt.Errorf("payload: %w", err)
	}
	var tx json.RawMessage
	var txKey string
	for k, v := range req {
		if strings.EqualFold(k, "transaction") {
			if txKey != "" {
				return nil, nil, fmt.Errorf("payload: transaction given twice (%q and %q)", txKey, k)
			}
			tx, txKey = v, k
			delete(req, k)
		}
	}
	if tx != nil {
		if t := bytes.TrimSpace(tx); len(t) > MaxTransaction || len(t) == 0 || !(t[0] == '"' || t[0] == '-' || t[0] >= '0' && t[0] <= '9') {
			// Echoed whole in the result, so it must be short; a
			// correlation id is a string or a number.
			return nil, nil, fmt.Errorf("payload: transaction must be a JSON string or number of at most %d bytes, got %s", MaxTransaction, jsonstrict.Shorten(t))
		}
	}
	if len(req) == 0 {
		return nil, tx, fmt.Errorf("no command objects in the payload")
	}
	return req, tx, nil
}

// MaxTransaction bounds the "transaction" a client may have echoed.
const MaxTransaction = 128

// onOff reads ON/OFF (also true/false, 1/0) as Home Assistant and simple
// flows send them.
func onOff(p []byte) (bool, error) {
	switch strings.ToUpper(strings.TrimSpace(string(p))) {
	case "ON", "TRUE", "1":
		return true, nil
	case "OFF", "FALSE", "0":
		return false, nil
	}
	return false, fmt.Errorf("payload must be ON or OFF, got %s", jsonstrict.Shorten(bytes.TrimSpace(p)))
}

// scalar takes a config value as a JSON value (16, true, "x"); a bare
// word that is not JSON (an address such as 192.168.0.30) is a string.
// The field's strict decoder then judges the type: null stays null and is
// refused.
func scalar(p []byte) json.RawMessage {
	p = bytes.TrimSpace(p)
	if json.Valid(p) {
		return json.RawMessage(p)
	}
	b, _ := json.Marshal(string(p))
	return b
}

// oversizeLog logs refused oversized payloads at most once a minute, with
// how many it left out: a flood of them must not flood the log too.
type oversizeLog struct {
	mu       sync.Mutex
	last     time.Time
	silenced int
}

// oversizeEvery is how often an oversized payload is logged at most.
const oversizeEvery = time.Minute

func (l *oversizeLog) note(t *Table, sub string, size int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := t.now()
	if !l.last.IsZero() && now.Sub(l.last) < oversizeEvery {
		l.silenced++
		return
	}
	t.log.Warn().Str("surface", "mqtt").Str("topic", jsonstrict.Shorten([]byte(sub))).Int("bytes", size).Int("limit", MaxPayload).
		Int("more_since_last_log", l.silenced).Msg("oversized command payload refused")
	l.last, l.silenced = now, 0
}
