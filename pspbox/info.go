package pspbox

import (
	"fmt"
	"net"
	"strings"
	"time"
)

// SystemInfo is GET SystemInfo.
type SystemInfo struct {
	Uptime           time.Duration // TimeStamp
	SystemVersion    string
	ProductType      string
	MAC              string // upper case, colon separated: E0:E2:E6:52:AA:D4
	WiFiInfo         string
	HeapInfo         string
	GeneralInfo      string
	OTAMsg           string
	OTACheckAllowed  bool
	OTAUpdateAllowed bool
}

var infoNames = []string{
	"TimeStamp", "SystemVersion", "ProductType", "MAC", "WiFiInfo", "HeapInfo",
	"GeneralInfo", "OTAMsg", "OTACheckAllowed", "OTAUpdateAllowed",
}

// DecodeSystemInfo decodes GET SystemInfo. SystemVersion, ProductType and
// MAC are required (they name the device); the MAC must be a 6-byte
// hardware address and is normalised to upper-case, colon-separated form.
func DecodeSystemInfo(b []byte) (SystemInfo, error) {
	ms, err := readObject(b, maxMembers)
	if err != nil {
		return SystemInfo{}, docError("SystemInfo", err)
	}
	var si SystemInfo
	f := newFieldSet("SystemInfo")
	for _, m := range ms {
		name := canonical(m.Key, infoNames)
		if name == "" {
			continue
		}
		f.seen[name] = true
		var err error
		switch name {
		case "TimeStamp":
			var v int64
			v, err = whole(m.Raw, 0, maxTimestampMs)
			si.Uptime = time.Duration(v) * time.Millisecond
		case "SystemVersion":
			si.SystemVersion, err = text(m.Raw, 32)
		case "ProductType":
			si.ProductType, err = text(m.Raw, 32)
		case "MAC":
			var s string
			if s, err = text(m.Raw, 32); err == nil {
				si.MAC, err = normaliseMAC(s)
			}
		case "WiFiInfo":
			si.WiFiInfo, err = text(m.Raw, 128)
		case "HeapInfo":
			si.HeapInfo, err = text(m.Raw, 64)
		case "GeneralInfo":
			si.GeneralInfo, err = text(m.Raw, maxString)
		case "OTAMsg":
			si.OTAMsg, err = text(m.Raw, maxString)
		case "OTACheckAllowed":
			si.OTACheckAllowed, err = boolean(m.Raw)
		case "OTAUpdateAllowed":
			si.OTAUpdateAllowed, err = boolean(m.Raw)
		}
		if err != nil {
			f.fail(name, err)
		}
	}
	f.require("SystemVersion", "ProductType", "MAC")
	if err := f.err(); err != nil {
		return SystemInfo{}, err
	}
	return si, nil
}

func normaliseMAC(s string) (string, error) {
	hw, err := net.ParseMAC(s)
	if err != nil || len(hw) != 6 {
		return "", fmt.Errorf("%s is not a 6-byte MAC address", quote(s))
	}
	return strings.ToUpper(hw.String()), nil
}
