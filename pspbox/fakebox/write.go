package fakebox

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"net"
	"net/netip"
	"sort"
	"strconv"
	"strings"
)

// decodeRequest reads a request object; the second result is an error
// answer when it is not one.
func decodeRequest(body []byte) (map[string]json.RawMessage, []byte) {
	var req map[string]json.RawMessage
	if err := json.Unmarshal(body, &req); err != nil || req == nil {
		return nil, []byte(`{"error":"malformed JSON"}`)
	}
	return req, nil
}

func setBool(on bool) string {
	if on {
		return "Set=>True"
	}
	return "Set=>False"
}

// reply writes answers in the order of keys.
func reply(keys []string, ans map[string]string) []byte {
	o := &obj{}
	for _, k := range keys {
		o.Str(k, ans[k])
	}
	return o.bytes()
}

func sortedKeys(m map[string]json.RawMessage) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// evseCtrl runs POST EvseCtrl. The guide answers each object: "Set=>X"
// with the new state, "no action" for a false toggle, and "supervisor IP
// not set" for a power write without a supervisor configured.
func (b *Box) evseCtrl(body []byte, remote string) (int, []byte, bool) {
	req, bad := decodeRequest(body)
	if bad != nil {
		return 400, bad, false
	}
	keys := sortedKeys(req)
	ans := map[string]string{}
	toggled := false
	for _, k := range keys {
		raw := bytes.TrimSpace(req[k])
		switch k {
		case "ChargeStartToggle", "ChargeBoostToggle":
			var on bool
			if json.Unmarshal(raw, &on) != nil {
				ans[k] = "must be true or false"
				continue
			}
			if !on {
				ans[k] = "no action"
				continue
			}
			if !toggled && b.drop > 0 {
				b.drop--
				if b.dropApplies {
					b.toggle(k)
				}
				return 0, nil, true
			}
			toggled = true
			if k == "ChargeBoostToggle" && !b.started {
				ans[k] = "not allowed: no charging session"
				continue
			}
			ans[k] = setBool(b.toggle(k))
		case "EVSEPowerAvailable":
			ans[k] = b.powerWrite(raw, remote)
		default:
			ans[k] = "unknown object"
		}
	}
	return 200, reply(keys, ans), false
}

// toggle flips a state and returns the new one; Status reads may lag.
func (b *Box) toggle(k string) bool {
	b.lagStarted, b.lagBoosted = b.started, b.boosted
	b.lag, b.lagNext = b.lagNext, 0
	b.toggles[k]++
	if k == "ChargeStartToggle" {
		b.started = !b.started
		if !b.started {
			b.boosted = false
		}
		return b.started
	}
	b.boosted = !b.boosted
	return b.boosted
}

// powerWrite takes the supervisor's power: only with Meter2Type 7 and
// Meter2Ip set, and (the guide's intent: the address is how the box knows
// its supervisor) only from that address.
func (b *Box) powerWrite(raw []byte, remote string) string {
	var w float64
	if len(raw) == 0 || raw[0] == '"' || json.Unmarshal(raw, &w) != nil || w < 0 {
		return "must be a number of watts"
	}
	if b.cfg.Meter2Type != 7 || b.cfg.Meter2Ip == "" {
		return "supervisor IP not set"
	}
	if remote != b.cfg.Meter2Ip {
		return fmt.Sprintf("refused: request from %s, supervisor is %s", remote, b.cfg.Meter2Ip)
	}
	b.power, b.powerSet = w, true
	return "Set=>" + strconv.FormatFloat(w, 'f', -1, 64)
}

// postConfig runs POST SystemConfig: validated as a whole, nothing
// applied if anything is wrong, each object answered.
func (b *Box) postConfig(body []byte) (int, []byte) {
	req, bad := decodeRequest(body)
	if bad != nil {
		return 400, bad
	}
	keys := sortedKeys(req)
	next := b.cfg
	reasons := map[string]string{}
	for _, k := range keys {
		if r := setConfig(&next, k, bytes.TrimSpace(req[k])); r != "" {
			reasons[k] = r
		}
	}
	// The guide: an IP meter type only with its address in the same
	// request. Meter2Type 7 names the supervisor by Meter2Ip.
	if _, ok := req["Meter1Type"]; ok && next.Meter1Type >= 4 && next.Meter1Type <= 6 {
		if _, ip := req["Meter1Ip"]; !ip {
			reasons["Meter1Type"] = "IP meter type needs Meter1Ip in the same request"
		}
	}
	if _, ok := req["Meter2Type"]; ok && next.Meter2Type >= 4 && next.Meter2Type <= 7 {
		if _, ip := req["Meter2Ip"]; !ip {
			reasons["Meter2Type"] = "IP meter type needs Meter2Ip in the same request"
		}
	}
	if next.Meter2Type == 7 {
		if _, err := netip.ParseAddr(next.Meter2Ip); err != nil && reasons["Meter2Ip"] == "" {
			reasons["Meter2Ip"] = "supervisor address must be an IP address"
		}
	}
	ans := map[string]string{}
	if len(reasons) > 0 {
		for _, k := range keys {
			ans[k] = "not applied: request rejected"
			if r, ok := reasons[k]; ok {
				ans[k] = r
			}
		}
		return 400, reply(keys, ans)
	}
	b.cfg = next
	for _, k := range keys {
		ans[k] = "Set=>" + strings.Trim(string(bytes.TrimSpace(req[k])), `"`)
	}
	return 200, reply(keys, ans)
}

// setConfig sets one field, or says why not.
func setConfig(c *Config, k string, raw []byte) string {
	intField := map[string]struct {
		p      *int
		lo, hi int
	}{
		"ChargerMode":        {&c.ChargerMode, 0, 1},
		"LockMethod":         {&c.LockMethod, 0, 1},
		"ChargeCurrent":      {&c.ChargeCurrent, 6, 32},
		"ChargeCurrentBoost": {&c.ChargeCurrentBoost, 6, 32},
		"Meter1Type":         {&c.Meter1Type, 0, 6},
		"Meter2Type":         {&c.Meter2Type, 0, 7},
		"PhaseCurrentLimit":  {&c.PhaseCurrentLimit, 6, 100},
		"ControlStrategy":    {&c.ControlStrategy, 0, 1},
		"ControlLimit":       {&c.ControlLimit, 0, 1000000},
	}
	if f, ok := intField[k]; ok {
		var v float64
		if len(raw) == 0 || raw[0] == '"' || json.Unmarshal(raw, &v) != nil || v != math.Trunc(v) {
			return "must be a whole number"
		}
		if v < float64(f.lo) || v > float64(f.hi) {
			return fmt.Sprintf("must be %d…%d, got %v", f.lo, f.hi, v)
		}
		*f.p = int(v)
		return ""
	}
	switch k {
	case "Meter1Ip", "Meter2Ip":
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return "must be a string"
		}
		if s != "" && !hostOK(s) {
			return "must be an IP address or host[:port]"
		}
		if k == "Meter1Ip" {
			c.Meter1Ip = s
		} else {
			c.Meter2Ip = s
		}
	case "ChargeAutoStart", "Charge3Phase":
		var v bool
		if json.Unmarshal(raw, &v) != nil {
			return "must be true or false"
		}
		if k == "ChargeAutoStart" {
			c.ChargeAutoStart = v
		} else {
			c.Charge3Phase = v
		}
	default:
		return "unknown object"
	}
	return ""
}

func hostOK(s string) bool {
	if _, err := netip.ParseAddr(s); err == nil {
		return true
	}
	if h, _, err := net.SplitHostPort(s); err == nil {
		s = h
	}
	return s != "" && !strings.ContainsAny(s, " /\\\"")
}

// postInfo runs POST SystemInfo service codes.
func (b *Box) postInfo(body []byte) (int, []byte) {
	req, bad := decodeRequest(body)
	if bad != nil {
		return 400, bad
	}
	var code string
	for k, v := range req {
		if strings.EqualFold(k, "SCode") {
			json.Unmarshal(v, &code)
		}
	}
	switch code {
	case "Reset":
		b.started, b.boosted = false, false
	case "FactoryDefault":
		b.cfg = DefaultConfig()
	case "WiFiSetToAP":
	default:
		return 400, reply([]string{"SCode"}, map[string]string{"SCode": "unknown service code"})
	}
	return 200, reply([]string{code}, map[string]string{code: "Performing"})
}
