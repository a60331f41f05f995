package fakebox

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

const prefix = "/webapi/v1/"

// handle answers one request: record it, apply the quirks, then serve the
// document.
func (b *Box) handle(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 64<<10))
	doc := strings.TrimPrefix(r.URL.Path, prefix)
	remote := ""
	if ap, err := netip.ParseAddrPort(r.RemoteAddr); err == nil {
		remote = ap.Addr().Unmap().WithZone("").String()
	}
	b.mu.Lock()
	b.requests = append(b.requests, Request{r.Method, doc, string(body), remote})
	q := b.quirks
	if q.Doc != "" && q.Doc != doc {
		q = Quirks{OldFirmware: q.OldFirmware, Floats: q.Floats}
	}
	b.mu.Unlock()

	if q.Slow > 0 {
		t := time.NewTimer(q.Slow)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return
		}
	}
	if q.Hangup {
		hangup(w)
		return
	}
	status, out, drop := b.answer(r.Method, doc, body, remote, q)
	if drop {
		hangup(w)
		return
	}
	if q.Garbage {
		out = []byte("<html>\x00\xff{{{ not json")
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	if q.Huge > len(out) && len(out) > 0 && out[0] == '{' {
		// The document padded inside its braces with spaces, streamed so
		// a client that stops reading stops us.
		pad := bytes.Repeat([]byte{' '}, 32<<10)
		if _, err := w.Write(out[:1]); err != nil {
			return
		}
		for left := q.Huge - len(out); left > 0; left -= len(pad) {
			if _, err := w.Write(pad[:min(left, len(pad))]); err != nil {
				return
			}
		}
		out = out[1:]
	}
	w.Write(out)
}

// hangup closes the connection without an answer.
func hangup(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if c, _, err := hj.Hijack(); err == nil {
			c.Close()
			return
		}
	}
	panic(http.ErrAbortHandler)
}

// answer serves a document: status, body, and whether to drop the
// connection instead of answering.
func (b *Box) answer(method, doc string, body []byte, remote string, q Quirks) (int, []byte, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	get := method == http.MethodGet
	switch {
	case doc == "Status" && get:
		return 200, b.statusDoc(q), false
	case doc == "SystemConfig" && get:
		return 200, b.configDoc(q), false
	case doc == "SystemInfo" && get:
		return 200, b.infoDoc(q), false
	case (doc == "Meter1" || doc == "Meter2") && get:
		return 200, b.meterDoc(int(doc[5]-'0'), q), false
	case doc == "EvseCtrl" && method == http.MethodPost:
		return b.evseCtrl(body, remote)
	case doc == "SystemConfig" && method == http.MethodPost:
		if b.dropCfg > 0 {
			b.dropCfg--
			if b.dropCfgApp {
				b.postConfig(body)
			}
			return 0, nil, true
		}
		s, out := b.postConfig(body)
		return s, out, false
	case doc == "SystemInfo" && method == http.MethodPost:
		s, out := b.postInfo(body)
		return s, out, false
	}
	return 404, []byte(`{"error":"no such document"}`), false
}

// obj writes a JSON object in the order given; numbers follow the Floats
// quirk.
type obj struct {
	b      bytes.Buffer
	floats bool
}

func (o *obj) key(k string) {
	if o.b.Len() == 0 {
		o.b.WriteByte('{')
	} else {
		o.b.WriteByte(',')
	}
	o.str(k)
	o.b.WriteByte(':')
}

func (o *obj) str(s string) {
	e := json.NewEncoder(&o.b)
	e.SetEscapeHTML(false)
	e.Encode(s)
	o.b.Truncate(o.b.Len() - 1)
}

func (o *obj) Num(k string, v float64) {
	o.key(k)
	t := strconv.FormatFloat(v, 'f', -1, 64)
	if o.floats && !strings.ContainsAny(t, ".e") {
		t += ".0"
	}
	o.b.WriteString(t)
}

func (o *obj) Str(k, v string) { o.key(k); o.str(v) }

func (o *obj) Bool(k string, v bool) { o.key(k); fmt.Fprint(&o.b, v) }

func (o *obj) Raw(k string, v []byte) { o.key(k); o.b.Write(v) }

func (o *obj) bytes() []byte {
	if o.b.Len() == 0 {
		return []byte("{}")
	}
	o.b.WriteByte('}')
	return o.b.Bytes()
}

const uptimeMs = 179760

func (b *Box) phases() float64 {
	if b.cfg.Charge3Phase {
		return 3
	}
	return 1
}

// supervised says the box takes its available power from a supervisor
// and applies it: Meter2Type 7 and the limiting algorithm on.
func (b *Box) supervised() bool { return b.cfg.Meter2Type == 7 && b.cfg.ControlStrategy == 1 }

func (b *Box) statusDoc(q Quirks) []byte {
	started, boosted := b.started, b.boosted
	if b.lag > 0 {
		b.lag--
		started, boosted = b.lagStarted, b.lagBoosted
	}
	state, cur := 1.0, 0.0 // EVSE_IDLE_A1_A2
	if b.plugged {
		state = 4 // EVSE_EV_CONNECTED_B1_B2
		if started {
			cur = float64(b.cfg.ChargeCurrent)
			if boosted {
				cur = float64(b.cfg.ChargeCurrentBoost)
			}
			if b.supervised() {
				// Whole amperes the supervisor's power allows; below
				// 6 A the box pauses.
				cur = min(cur, float64(int(b.power/(230*b.phases()))))
			}
			if cur >= 6 {
				state = 5 // EVSE_EV_CHARGE_C1_C2
			} else {
				cur = 0
			}
		}
	}
	o := &obj{floats: q.Floats}
	o.Num("TimeStamp", uptimeMs)
	o.Str("SystemVersion", b.version)
	o.Str("WiFiInfo", "559EVSE:60%")
	o.Num("EvseState", state)
	o.Bool("ThreePhaseCharging", b.cfg.Charge3Phase)
	o.Num("ActualCurrent", cur)
	o.Num("PPCodedCurrent", 0)
	o.Num("ActualPower", cur*230*b.phases())
	if b.cfg.ControlStrategy == 1 { // "only when active limiting ... algorithm"
		avail := float64(b.cfg.ControlLimit)
		if b.cfg.Meter2Type == 7 {
			avail = b.power
		}
		o.Num("ActualPowerAvailable", avail)
	}
	o.Num("ActualEnergy", b.energyWs)
	sec := int64(b.session / time.Second)
	o.Str("ActualDuration", fmt.Sprintf("%02dh:%02dm:%02ds", sec/3600, sec/60%60, sec%60))
	if !q.OldFirmware {
		o.Num("ActualDurationTotalSeconds", float64(sec))
	}
	o.Bool("AutoStartAllowed", b.cfg.ChargeAutoStart)
	o.Bool("StartStopAllowed", true)
	o.Bool("BoostAllowed", started)
	o.Bool("ChargerStarted", started)
	o.Bool("ChargeBoosted", boosted)
	o.Num("Meter1Status", 0)
	o.Num("Meter2Status", 0)
	return o.bytes()
}

func (b *Box) configDoc(q Quirks) []byte {
	c := b.cfg
	o := &obj{floats: q.Floats}
	o.Num("TimeStamp", uptimeMs)
	o.Str("SystemVersion", b.version)
	o.Num("ChargerMode", float64(c.ChargerMode))
	o.Num("LockMethod", float64(c.LockMethod))
	o.Num("ChargeCurrent", float64(c.ChargeCurrent))
	o.Num("ChargeCurrentBoost", float64(c.ChargeCurrentBoost))
	o.Num("Meter1Type", float64(c.Meter1Type))
	o.Str("Meter1Ip", c.Meter1Ip)
	o.Num("Meter2Type", float64(c.Meter2Type))
	o.Str("Meter2Ip", c.Meter2Ip)
	o.Num("PhaseCurrentLimit", float64(c.PhaseCurrentLimit))
	o.Num("ControlStrategy", float64(c.ControlStrategy))
	o.Num("ControlLimit", float64(c.ControlLimit))
	o.Bool("ChargeAutoStart", c.ChargeAutoStart)
	o.Bool("Charge3Phase", c.Charge3Phase)
	return o.bytes()
}

func (b *Box) infoDoc(q Quirks) []byte {
	o := &obj{floats: q.Floats}
	o.Num("TimeStamp", uptimeMs)
	o.Str("SystemVersion", b.version)
	o.Str("ProductType", "01100200")
	o.Str("MAC", b.mac)
	o.Str("WiFiInfo", "559EVSE,RSSI:-49dB/68%")
	o.Str("HeapInfo", "0x022DF0/0x02D230")
	o.Str("GeneralInfo", "System: Failure free")
	o.Str("OTAMsg", "")
	o.Bool("OTACheckAllowed", true)
	o.Bool("OTAUpdateAllowed", false)
	return o.bytes()
}

func (b *Box) meterDoc(n int, q Quirks) []byte {
	typ := b.cfg.Meter1Type
	if n == 2 {
		typ = b.cfg.Meter2Type
	}
	data := &obj{floats: q.Floats}
	if typ != 0 && typ != 7 {
		for _, r := range b.meters[n] {
			reg := &obj{floats: q.Floats}
			reg.Str("Desc", r.Desc)
			reg.Num("ErrCounter", float64(r.ErrCounter))
			reg.Num("Value", r.Value)
			reg.Str("DataStatus", r.Status)
			data.Raw(r.Key, reg.bytes())
		}
	}
	inner := &obj{floats: q.Floats}
	inner.Num("TimeStamp", uptimeMs)
	inner.Raw("ModbusData", data.bytes())
	outer := &obj{}
	outer.Raw(fmt.Sprintf("Meter%d", n), inner.bytes())
	return outer.bytes()
}
