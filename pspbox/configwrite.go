package pspbox

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/netip"
	"sort"
	"strings"

	"github.com/evse-mqtt/evse-mqtt/settings"
)

// RejectedError is a SystemConfig write refused, by our rules (nothing
// was sent) or by the box, with a reason per field.
type RejectedError struct {
	ByBox   bool
	Reasons map[string]string // field (as requested or answered) → reason
}

func (e *RejectedError) Error() string {
	keys := make([]string, 0, len(e.Reasons))
	for k := range e.Reasons {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + ": " + e.Reasons[k]
	}
	who := "SystemConfig rejected"
	if e.ByBox {
		who = "SystemConfig refused by the box"
	}
	return clip(who+": "+strings.Join(parts, "; "), 600)
}

// Is matches ErrRefused (the box said no) or ErrInvalid (we did).
func (e *RejectedError) Is(target error) bool {
	return (e.ByBox && target == ErrRefused) || (!e.ByBox && target == ErrInvalid)
}

// UpdateConfig applies a SystemConfig request (field → JSON value, as the
// WebAPI and MQTT take it) to the box: it reads the box's settings,
// validates the request with the project's rules (settings.Patch), POSTs
// only the fields whose value changes (with the address of a meter whose
// type changes to an IP type, which the guide requires in the same
// request), and confirms them with a GET. It returns the settings read
// back. A bad request is a *RejectedError and nothing is sent.
func (c *Client) UpdateConfig(ctx context.Context, req map[string]json.RawMessage) (SystemConfig, error) {
	unlock, err := c.lockWriter(ctx)
	if err != nil {
		return SystemConfig{}, err
	}
	defer unlock()
	cur, err := c.SystemConfig(ctx)
	if err != nil {
		return SystemConfig{}, fmt.Errorf("SystemConfig: reading the settings first: %w", err)
	}
	next, _, bad := settings.Patch(cur.Settings, req, c.o.HardwareMax)
	if bad != nil {
		return cur, &RejectedError{Reasons: bad}
	}
	return c.writeConfig(ctx, cur, next)
}

// changedFields lists, in the vendor's order, the fields to send to turn
// cur into next: those that differ, plus a meter's address when its type
// changes to one that needs an address in the same request.
func changedFields(cur, next settings.Settings) []settings.Field {
	need := map[string]bool{}
	for _, f := range settings.Fields {
		if f.Value(&cur) != f.Value(&next) {
			need[f.Name] = true
		}
	}
	if need["Meter1Type"] && settings.IsIPMeter(next.Meter1Type) {
		need["Meter1Ip"] = true
	}
	if need["Meter2Type"] && (settings.IsIPMeter(next.Meter2Type) || next.Meter2Type == settings.MeterRemoteSuperv) {
		need["Meter2Ip"] = true
	}
	var fs []settings.Field
	for _, f := range settings.Fields {
		if need[f.Name] {
			fs = append(fs, f)
		}
	}
	return fs
}

// configBody writes the fields of s as one JSON object in the given order.
func configBody(s settings.Settings, fs []settings.Field) []byte {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, f := range fs {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(f.Name)
		v, _ := json.Marshal(f.Value(&s)) // ints, bools and strings always marshal
		b.Write(k)
		b.WriteByte(':')
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes()
}

// writeConfig sends the difference between cur and next and confirms it.
// The caller holds the writer's turn.
func (c *Client) writeConfig(ctx context.Context, cur SystemConfig, next settings.Settings) (SystemConfig, error) {
	fs := changedFields(cur.Settings, next)
	if len(fs) == 0 {
		return cur, nil // nothing to change: nothing sent
	}
	rep, postErr := c.do(ctx, http.MethodPost, "SystemConfig", configBody(next, fs))
	var boxSaid error
	if postErr == nil {
		ca, err := DecodeConfigAnswer(rep.body)
		switch {
		case err != nil:
			boxSaid = err
		case len(ca.Refused) > 0 || rep.status != http.StatusOK:
			if len(ca.Refused) == 0 {
				ca.Refused = map[string]string{"status": fmt.Sprintf("HTTP %d", rep.status)}
			}
			boxSaid = &RejectedError{ByBox: true, Reasons: ca.Refused}
		}
	}
	// Confirm with a GET whatever the answer said: the box's settings are
	// the truth, and a write whose answer was lost may have applied.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.o.Timeout)
	defer cancel()
	got, err := c.SystemConfig(rctx)
	if err != nil {
		return cur, fmt.Errorf("%w: SystemConfig sent, reading it back failed: %v", ErrUnconfirmed, err)
	}
	var missing []string
	for _, f := range fs {
		if f.Value(&got.Settings) != f.Value(&next) {
			missing = append(missing, fmt.Sprintf("%s=%v (box: %v)", f.Name, f.Value(&next), f.Value(&got.Settings)))
		}
	}
	switch {
	case len(missing) == 0:
		return got, nil
	case boxSaid != nil:
		return got, boxSaid
	case postErr != nil:
		return got, fmt.Errorf("%w: SystemConfig lost in flight (%v); not in force: %s; not resent", ErrUnconfirmed, postErr, clip(strings.Join(missing, ", "), 300))
	default:
		return got, fmt.Errorf("%w: SystemConfig answered, but not in force: %s", ErrUnconfirmed, clip(strings.Join(missing, ", "), 300))
	}
}

// FieldChange is one setting the bridge changed on the box.
type FieldChange struct {
	Name     string
	Old, New any
}

func (f FieldChange) String() string { return fmt.Sprintf("%s %v → %v", f.Name, f.Old, f.New) }

// SetSupervisor makes the bridge the box's external supervisor: Meter2Type
// 7 (remote control) with Meter2Ip = local, in the same request as the
// guide requires, and ControlStrategy 1 if it is off, because the box
// reports and applies an available power only while its limiting
// algorithm runs. Nothing else is changed. It returns the changes made
// (none when the box is already so), for the log: a control meter that was
// on Meter2 is no longer read by the box.
func (c *Client) SetSupervisor(ctx context.Context, local netip.Addr) ([]FieldChange, error) {
	if !local.IsValid() {
		return nil, fmt.Errorf("%w: supervisor address unknown", ErrInvalid)
	}
	ip := local.Unmap().WithZone("").String()
	unlock, err := c.lockWriter(ctx)
	if err != nil {
		return nil, err
	}
	defer unlock()
	cur, err := c.SystemConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("SetSupervisor: reading the settings first: %w", err)
	}
	next := cur.Settings
	next.Meter2Type, next.Meter2Ip = settings.MeterRemoteSuperv, ip
	next.ControlStrategy = 1
	fs := changedFields(cur.Settings, next)
	// Our rules, for the fields this changes only.
	for _, e := range next.Validate("", c.o.HardwareMax) {
		for _, f := range fs {
			if f.Name == e.Field {
				return nil, &RejectedError{Reasons: map[string]string{e.Field: e.Reason}}
			}
		}
	}
	got, err := c.writeConfig(ctx, cur, next)
	var changes []FieldChange
	for _, f := range fs {
		if f.Value(&cur.Settings) != f.Value(&got.Settings) {
			changes = append(changes, FieldChange{f.Name, f.Value(&cur.Settings), f.Value(&got.Settings)})
		}
	}
	return changes, err
}
