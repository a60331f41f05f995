package ocpp

import (
	"strings"

	lib "github.com/lorenzodonini/ocpp-go/ocpp"
	"github.com/lorenzodonini/ocpp-go/ocpp1.6/core"
	"github.com/lorenzodonini/ocpp-go/ocpp1.6/firmware"
	"github.com/lorenzodonini/ocpp-go/ocpp1.6/localauth"
	"github.com/lorenzodonini/ocpp-go/ocpp1.6/remotetrigger"
	"github.com/lorenzodonini/ocpp-go/ocpp1.6/reservation"
	"github.com/lorenzodonini/ocpp-go/ocpp1.6/smartcharging"
	"github.com/lorenzodonini/ocpp-go/ocppj"
	"gopkg.in/go-playground/validator.v9"
)

// OCPP-J 1.6 (§4.2.3) spells one of its error codes
// "OccurenceConstraintViolation"; ocpp-go sends the 2.0 spelling and its
// validator refuses the 1.6 one, so the charge point corrects both.
const occurence16 lib.ErrorCode = "OccurenceConstraintViolation"

func init() {
	_ = ocppj.Validate.RegisterValidation("errorCode", func(fl validator.FieldLevel) bool {
		return lib.ErrorCode(fl.Field().String()) == occurence16 || ocppj.IsErrorCodeValid(fl)
	})
}

// actions16 are the actions OCPP 1.6 defines: a call of one this charge
// point does not serve is NotSupported, any other NotImplemented.
var actions16 = func() map[string]bool {
	m := map[string]bool{}
	for _, p := range []*lib.Profile{core.Profile, firmware.Profile, localauth.Profile, remotetrigger.Profile, reservation.Profile, smartcharging.Profile} {
		for name := range p.Features {
			m[name] = true
		}
	}
	return m
}()

// callErrorHook corrects the CALLERROR ocpp-go answers a malformed call
// with, to the code OCPP-J 1.6 names: a value outside its enumeration or
// bounds is PropertyConstraintViolation (ocpp-go says GenericError for its
// custom enum validators), a missing field OccurenceConstraintViolation,
// an unknown action NotImplemented.
func callErrorHook(e *lib.Error, _ string, fields []any) *lib.Error {
	if len(fields) < 3 {
		return nil
	}
	if t, ok := fields[0].(float64); !ok || t != 2 {
		return nil
	}
	action, _ := fields[2].(string)
	switch {
	case e.Code == ocppj.NotSupported && !actions16[action]:
		return lib.NewError(ocppj.NotImplemented, "unknown action "+clip(action), e.MessageId)
	case e.Code == ocppj.GenericError && strings.Contains(e.Description, "Field validation for"):
		return lib.NewError(ocppj.PropertyConstraintViolation, e.Description, e.MessageId)
	case e.Code == ocppj.OccurrenceConstraintViolation:
		return lib.NewError(occurence16, e.Description, e.MessageId)
	}
	return nil
}
