package command

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"

	"github.com/evse-mqtt/evse-mqtt/jsonstrict"
	"github.com/evse-mqtt/evse-mqtt/settings"
)

// parsed is one accepted control object of a request.
type parsed struct {
	key string
	e   ctrlEntry
	v   any
}

// run validates a whole request against the entries of groups, then —
// only when every object is good — applies the settings change (through
// the controller, which persists first) and the control commands in table
// order.
func (t *Table) run(req map[string]json.RawMessage, o Origin, groups ...Group) (out Reply) {
	defer func() { t.observe(o, out) }()
	if r, bad := checkShape(req); bad {
		return r
	}
	allowCfg := slices.Contains(groups, GroupSystemConfig)
	keys := sortedKeys(req)
	bad := map[string]string{}
	var ctrl []parsed
	cfg := map[string]json.RawMessage{}
	seen := map[string]string{} // canonical name → request key
	for _, k := range keys {
		e, ok := lookupCtrl(k, groups...)
		if !ok {
			if _, isField := settings.LookupField(k); allowCfg && isField {
				cfg[k] = req[k] // settings.Patch judges these, duplicates included
				continue
			}
			bad[k] = "unknown object"
			continue
		}
		if prev, dup := seen[e.Name]; dup {
			bad[k] = "given twice (also as " + prev + ")"
			continue
		}
		seen[e.Name] = k
		v, err := e.parse(req[k])
		if err != nil {
			bad[k] = err.Error()
			continue
		}
		ctrl = append(ctrl, parsed{k, e, v})
	}
	for _, c := range conflicts {
		a, okA := seen[c[0]]
		b, okB := seen[c[1]]
		if okA && okB {
			bad[b] = "conflicts with " + a + " in the same request"
		}
	}
	if len(cfg) > 0 {
		// A dry run of the same rules the controller applies, so a bad
		// field also stops the control objects of this request.
		_, _, cbad := settings.Patch(t.ctl.Settings(), cfg, int(t.ctl.Params().HardwareMax))
		for k, r := range cbad {
			bad[k] = r
		}
	}
	if len(bad) > 0 {
		r := Reply{Status: http.StatusBadRequest}
		for _, k := range keys {
			if reason, ok := bad[k]; ok {
				r.set(k, reason)
			} else {
				r.set(k, NotApplied)
			}
		}
		t.log.Info().Str("surface", o.Surface).Stringer("remote", o.Remote).Interface("rejected", bad).Msg("request rejected")
		return ordered(r)
	}

	r := Reply{Status: http.StatusOK}
	if len(cfg) > 0 {
		if !t.applySettings(cfg, &r) {
			for _, p := range ctrl {
				r.set(p.key, NotApplied)
			}
			return ordered(r)
		}
	}
	sort.SliceStable(ctrl, func(i, j int) bool { return ctrlIndex(ctrl[i].e.Name) < ctrlIndex(ctrl[j].e.Name) })
	for _, p := range ctrl {
		answer, status := p.e.apply(t, p.v, o)
		r.set(p.key, answer)
		r.Status = max(r.Status, status)
	}
	// Debug: a supervisor writes its power every few seconds; settings
	// changes are logged by the controller.
	t.log.Debug().Str("surface", o.Surface).Stringer("remote", o.Remote).Interface("answers", r.Values).Msg("request applied")
	return ordered(r)
}

// MaxName bounds an object name: every name the table knows is far
// shorter, and answers are keyed by the names a client sent, so a longer
// one is refused as a whole rather than echoed.
const MaxName = 64

// checkShape refuses a request with no objects or with a name too long to
// be any command, before anything is answered per object.
func checkShape(req map[string]json.RawMessage) (Reply, bool) {
	if len(req) == 0 {
		return ErrorReply(http.StatusBadRequest, "request has no objects"), true
	}
	for k := range req {
		if len(k) > MaxName {
			return ErrorReply(http.StatusBadRequest, fmt.Sprintf("unknown object %s: names are at most %d bytes", jsonstrict.Quote(k), MaxName)), true
		}
	}
	return Reply{}, false
}

// applySettings puts a validated SystemConfig change in force and answers
// each field with its new value. It reports whether the change applied.
func (t *Table) applySettings(cfg map[string]json.RawMessage, r *Reply) bool {
	changes, next, bad, err := t.ctl.UpdateSettings(cfg)
	switch {
	case err != nil:
		r.Status = http.StatusInternalServerError
		if statusFor(err) == http.StatusServiceUnavailable {
			r.Status = http.StatusServiceUnavailable
		}
		for k := range cfg {
			r.set(k, "not applied: "+err.Error())
		}
		return false
	case bad != nil:
		// The charger's state refuses the change (ChargerMode or
		// LockMethod while a vehicle is connected), or the settings
		// changed between the dry run and now (another writer).
		r.Status = http.StatusConflict
		for k := range cfg {
			if reason, ok := bad[k]; ok {
				r.set(k, reason)
			} else {
				r.set(k, NotApplied)
			}
		}
		return false
	}
	for _, c := range changes {
		r.set(c.Key, "Set=>"+jsonText(c.Field.Value(&next)))
	}
	return true
}

// jsonText writes v as JSON does, without the quotes of a string
// ("Set=>16", "Set=>true", "Set=>192.168.0.30").
func jsonText(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

func sortedKeys(req map[string]json.RawMessage) []string {
	keys := make([]string, 0, len(req))
	for k := range req {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func ctrlIndex(name string) int {
	for i, e := range ctrlEntries {
		if e.Name == name {
			return i
		}
	}
	return len(ctrlEntries)
}

// rank orders answers as the table lists commands; unknown names last.
func rank(key string) int {
	for i, c := range Commands() {
		if strings.EqualFold(c.Name, key) {
			return i
		}
	}
	return 1 << 20
}

// ordered sorts a reply's keys by table order, then by name.
func ordered(r Reply) Reply {
	sort.SliceStable(r.Keys, func(i, j int) bool {
		ri, rj := rank(r.Keys[i]), rank(r.Keys[j])
		if ri != rj {
			return ri < rj
		}
		return r.Keys[i] < r.Keys[j]
	})
	return r
}
