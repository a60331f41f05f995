package command

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/evse-mqtt/evse-mqtt/jsonstrict"
)

// SystemConfig runs the vendor's POST SystemConfig request: validated as
// a whole by settings.Patch (through the controller), persisted, applied,
// each field answered "Set=>value".
func (t *Table) SystemConfig(req map[string]json.RawMessage, o Origin) Reply {
	return t.run(req, o, GroupSystemConfig)
}

// Service codes of SystemInfo's SCode.
const (
	SCodeReset          = "Reset"
	SCodeFactoryDefault = "FactoryDefault"
	SCodeWiFiSetToAP    = "WiFiSetToAP"
)

// SystemInfo object names.
const (
	objSCode       = "SCode"
	objSCodeData   = "SCodeData"
	objUpdateCheck = "UpdateCheckToggle"
	objUpdateRun   = "UpdateRunToggle"
)

var infoEntries = []Command{
	{objSCode, KindString, GroupSystemInfo},
	{objSCodeData, KindString, GroupSystemInfo},
	{objUpdateCheck, KindBool, GroupSystemInfo},
	{objUpdateRun, KindBool, GroupSystemInfo},
}

var serviceCodes = []string{SCodeReset, SCodeFactoryDefault, SCodeWiFiSetToAP}

// SystemInfo runs the vendor's POST SystemInfo request. Keys match
// case-insensitively (the guide itself writes "Scode"). A service code is
// answered under its own name, as the guide shows: {"Reset":"Performing"}.
// Firmware updates come as a new release or container image, so the
// update toggles and WiFiSetToAP answer "not supported".
func (t *Table) SystemInfo(req map[string]json.RawMessage, o Origin) (rep Reply) {
	defer func() { t.observe(o, rep) }()
	if r, bad := checkShape(req); bad {
		return r
	}
	bad := Reply{Status: http.StatusBadRequest}
	seen := map[string]string{}
	var code string
	toggles := map[string]bool{}
	for _, k := range sortedKeys(req) {
		name := ""
		for _, e := range infoEntries {
			if strings.EqualFold(e.Name, k) {
				name = e.Name
			}
		}
		if name == "" {
			bad.set(k, "unknown object")
			continue
		}
		if prev, dup := seen[name]; dup {
			bad.set(k, "given twice (also as "+prev+")")
			continue
		}
		seen[name] = k
		raw := bytes.TrimSpace(req[k])
		switch name {
		case objSCode, objSCodeData:
			s, err := jsonstrict.String(raw)
			if err != nil {
				bad.set(k, err.Error())
				continue
			}
			if name == objSCodeData {
				continue // data for a code; none of ours takes any
			}
			code = canonicalCode(s)
			if code == "" {
				bad.set(k, fmt.Sprintf("unknown service code %s (known: %s)", jsonstrict.Quote(s), strings.Join(serviceCodes, ", ")))
			}
		default:
			v, err := parseBool(raw)
			if err != nil {
				bad.set(k, err.Error())
				continue
			}
			toggles[name] = v.(bool)
		}
	}
	if _, ok := seen[objSCodeData]; ok && code == "" && len(bad.Keys) == 0 {
		bad.set(seen[objSCodeData], "SCodeData needs an SCode")
	}
	if len(bad.Keys) > 0 {
		for _, k := range sortedKeys(req) {
			if _, ok := bad.Values[k]; !ok && !strings.EqualFold(k, objSCodeData) {
				bad.set(k, NotApplied)
			}
		}
		return bad
	}
	r := Reply{Status: http.StatusOK}
	for _, name := range []string{objUpdateCheck, objUpdateRun} {
		if on, ok := toggles[name]; ok {
			if on {
				r.set(seen[name], Unsupported)
			} else {
				r.set(seen[name], NoAction)
			}
		}
	}
	if code != "" {
		answer, status := t.service(code, o)
		r.set(code, answer)
		r.Status = max(r.Status, status)
	}
	return r
}

func canonicalCode(s string) string {
	for _, c := range serviceCodes {
		if strings.EqualFold(c, strings.TrimSpace(s)) {
			return c
		}
	}
	return ""
}

// service performs a service code.
func (t *Table) service(code string, o Origin) (string, int) {
	var f func() error
	switch code {
	case SCodeReset:
		f = t.svc.Reset
	case SCodeFactoryDefault:
		f = t.svc.FactoryDefault
	case SCodeWiFiSetToAP:
		f = t.svc.WiFiSetToAP
	}
	if f == nil {
		return Unsupported, http.StatusOK
	}
	t.log.Warn().Str("surface", o.Surface).Stringer("remote", o.Remote).Str("code", code).Msg("service code")
	if err := f(); err != nil {
		t.log.Error().Err(err).Str("code", code).Msg("service code failed")
		return "failed: " + err.Error(), http.StatusInternalServerError
	}
	return Performing, http.StatusOK
}
