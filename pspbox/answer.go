package pspbox

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/evse-mqtt/evse-mqtt/settings"
	"github.com/evse-mqtt/evse-mqtt/units"
)

// Answer texts the guide shows.
const (
	answerSetPrefix     = "Set=>"
	AnswerNoAction      = "no action"
	AnswerPerforming    = "Performing"
	AnswerSupervisorOff = "supervisor IP not set"
)

// maxAnswerItems bounds an answer: one item per object sent, and we send
// at most the 13 SystemConfig fields.
const maxAnswerItems = 32

// Answer is the box's answer to a POST: one status text per object sent,
// in the box's order ({"ChargeStartToggle":"Set=>False", ...}).
type Answer []AnswerItem

// AnswerItem is one object's answer.
type AnswerItem struct {
	Key  string
	Text string
}

// Get returns the answer for key, matched case-insensitively.
func (a Answer) Get(key string) (string, bool) {
	for _, it := range a {
		if strings.EqualFold(it.Key, key) {
			return it.Text, true
		}
	}
	return "", false
}

// DecodeAnswer decodes the answer to any POST: a JSON object whose values
// are strings. The project's own daemon answers a request it cannot read
// with {"error": "..."}, which decodes as an item "error".
func DecodeAnswer(b []byte) (Answer, error) {
	ms, err := readObject(b, maxAnswerItems)
	if err != nil {
		return nil, docError("answer", err)
	}
	a := make(Answer, 0, len(ms))
	for _, m := range ms {
		if _, err := text([]byte(strconv.Quote(m.Key)), 64); err != nil {
			return nil, docError("answer", fmt.Errorf("key %s: %w", quote(m.Key), err))
		}
		t, err := text(m.Raw, maxString)
		if err != nil {
			return nil, docError("answer", fmt.Errorf("%s: %w", quote(m.Key), err))
		}
		a = append(a, AnswerItem{m.Key, t})
	}
	return a, nil
}

// SetValue reads "Set=>x" and returns x.
func SetValue(t string) (string, bool) {
	if len(t) >= len(answerSetPrefix) && strings.EqualFold(t[:len(answerSetPrefix)], answerSetPrefix) {
		return t[len(answerSetPrefix):], true
	}
	return "", false
}

// refusal is the error for an answer that is not the success the request
// asked for; the text is the box's reason, clipped.
func refusal(kind error, key, t string) error {
	return fmt.Errorf("%w: %s answered %q", kind, key, clip(t, 160))
}

// DecodeToggleAnswer reads the answer to a toggle (key is
// ChargeStartToggle or ChargeBoostToggle): "Set=>True" or "Set=>False" is
// the new state; any other text is the box's refusal (ErrRefused).
func DecodeToggleAnswer(b []byte, key string) (bool, error) {
	a, err := DecodeAnswer(b)
	if err != nil {
		return false, err
	}
	t, ok := a.Get(key)
	if !ok {
		return false, docError("EvseCtrl", fmt.Errorf("no answer for %s", key))
	}
	v, ok := SetValue(t)
	if !ok {
		return false, refusal(ErrRefused, key, t)
	}
	switch {
	case strings.EqualFold(v, "true"):
		return true, nil
	case strings.EqualFold(v, "false"):
		return false, nil
	}
	return false, docError("EvseCtrl", fmt.Errorf("%s: %s is neither Set=>True nor Set=>False", key, quote(t)))
}

// MaxPower bounds EVSEPowerAvailable, as the project's command table does.
const MaxPower units.Watts = 1_000_000

// DecodePowerAnswer reads the answer to EVSEPowerAvailable: "Set=>4600"
// is the power in force; "supervisor IP not set" is ErrSupervisorNotSet;
// any other text is ErrRefused (the project's daemon, for instance,
// refuses a write from an address other than Meter2Ip).
func DecodePowerAnswer(b []byte) (units.Watts, error) {
	a, err := DecodeAnswer(b)
	if err != nil {
		return 0, err
	}
	const key = "EVSEPowerAvailable"
	t, ok := a.Get(key)
	if !ok {
		return 0, docError("EvseCtrl", errors.New("no answer for "+key))
	}
	if strings.EqualFold(strings.TrimSpace(t), AnswerSupervisorOff) {
		return 0, ErrSupervisorNotSet
	}
	v, ok := SetValue(t)
	if !ok {
		return 0, refusal(ErrRefused, key, t)
	}
	w, err := number([]byte(v), 0, float64(MaxPower))
	if err != nil {
		return 0, docError("EvseCtrl", fmt.Errorf("%s: %w", key, err))
	}
	return units.Watts(w), nil
}

// ConfigAnswer is the answer to POST SystemConfig, split into the fields
// the box set (canonical name → value text after "Set=>") and the ones it
// refused (the key as answered → reason).
type ConfigAnswer struct {
	Set     map[string]string
	Refused map[string]string
}

// DecodeConfigAnswer reads the answer to POST SystemConfig. The guide
// shows none; the project's daemon answers each field "Set=>x" or with a
// reason, which is what this reads. A field named "Set=>" that is not a
// settings field is refused as garbage.
func DecodeConfigAnswer(b []byte) (ConfigAnswer, error) {
	a, err := DecodeAnswer(b)
	if err != nil {
		return ConfigAnswer{}, err
	}
	ca := ConfigAnswer{Set: map[string]string{}, Refused: map[string]string{}}
	for _, it := range a {
		v, ok := SetValue(it.Text)
		if !ok {
			ca.Refused[it.Key] = it.Text
			continue
		}
		f, known := settings.LookupField(it.Key)
		if !known {
			return ConfigAnswer{}, docError("SystemConfig", fmt.Errorf("%s set, but it is no SystemConfig field", quote(it.Key)))
		}
		ca.Set[f.Name] = v
	}
	return ca, nil
}

// DecodeServiceAnswer reads the answer to a SystemInfo service code:
// {"Reset":"Performing"}. Any other text for the code is ErrRefused.
func DecodeServiceAnswer(b []byte, code string) (string, error) {
	a, err := DecodeAnswer(b)
	if err != nil {
		return "", err
	}
	t, ok := a.Get(code)
	if !ok {
		if e, isErr := a.Get("error"); isErr {
			return "", refusal(ErrRefused, code, e)
		}
		return "", docError("SystemInfo", fmt.Errorf("no answer for %s", quote(code)))
	}
	if !strings.EqualFold(t, AnswerPerforming) {
		return t, refusal(ErrRefused, code, t)
	}
	return AnswerPerforming, nil
}
