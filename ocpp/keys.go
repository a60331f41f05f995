package ocpp

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/lorenzodonini/ocpp-go/ocpp1.6/core"
)

// key is a standard OCPP 1.6 configuration key this charge point knows.
type key struct {
	name     string
	def      string
	readOnly bool
	check    func(string) error // nil: any value of a read-write key
}

// Measurands this charge point samples (MeterValuesSampledData).
var supportedMeasurands = []string{"Energy.Active.Import.Register", "Power.Active.Import", "Current.Import", "Current.Offered"}

func intIn(lo, hi int) func(string) error {
	return func(v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < lo || n > hi {
			return fmt.Errorf("must be an integer %d…%d", lo, hi)
		}
		return nil
	}
}

func measurands(v string) error {
	if v == "" {
		return nil
	}
	for _, m := range strings.Split(v, ",") {
		ok := false
		for _, s := range supportedMeasurands {
			ok = ok || strings.TrimSpace(m) == s
		}
		if !ok {
			return fmt.Errorf("unsupported measurand %q", m)
		}
	}
	return nil
}

const defaultMeasurands = "Energy.Active.Import.Register,Power.Active.Import,Current.Import,Current.Offered"

// keys are the configuration keys, in the order GetConfiguration lists them.
var keys = []key{
	{name: "AuthorizeRemoteTxRequests", def: "false", readOnly: true},
	{name: "ClockAlignedDataInterval", def: "0", check: intIn(0, 86400)},
	{name: "ConnectionTimeOut", def: "60", check: intIn(0, 3600)},
	{name: "GetConfigurationMaxKeys", def: "50", readOnly: true},
	{name: "HeartbeatInterval", def: "300", check: intIn(0, 86400)},
	{name: "LocalAuthorizeOffline", def: "true", readOnly: true},
	{name: "LocalPreAuthorize", def: "false", readOnly: true},
	{name: "MeterValuesAlignedData", def: "Energy.Active.Import.Register", check: measurands},
	{name: "MeterValuesSampledData", def: defaultMeasurands, check: measurands},
	{name: "MeterValuesSampledDataMaxLength", def: "4", readOnly: true},
	{name: "MeterValueSampleInterval", def: "60", check: intIn(0, 86400)},
	{name: "NumberOfConnectors", def: "1", readOnly: true},
	{name: "ResetRetries", def: "0", readOnly: true},
	{name: "StopTransactionOnEVSideDisconnect", def: "true", readOnly: true},
	{name: "StopTransactionOnInvalidId", def: "true", readOnly: true},
	{name: "StopTxnAlignedData", def: "", check: measurands},
	{name: "StopTxnSampledData", def: "", check: measurands},
	{name: "SupportedFeatureProfiles", def: "Core,SmartCharging,RemoteTrigger", readOnly: true},
	{name: "TransactionMessageAttempts", def: "0", check: intIn(0, 100)},
	{name: "TransactionMessageRetryInterval", def: "10", check: intIn(0, 3600)},
	{name: "UnlockConnectorOnEVSideDisconnect", def: "true", readOnly: true},
	{name: "WebSocketPingInterval", def: "0", check: intIn(0, 3600)},
	{name: "ChargeProfileMaxStackLevel", def: strconv.Itoa(maxStackLevel), readOnly: true},
	{name: "ChargingScheduleAllowedChargingRateUnit", def: "Current,Power", readOnly: true},
	{name: "ChargingScheduleMaxPeriods", def: strconv.Itoa(maxPeriods), readOnly: true},
	{name: "MaxChargingProfilesInstalled", def: strconv.Itoa(maxProfiles), readOnly: true},
	{name: "LivenessTimeout", readOnly: true}, // vendor key: the configured liveness bound, in s
}

func lookupKey(name string) (key, bool) {
	for _, k := range keys {
		if k.name == name {
			return k, true
		}
	}
	return key{}, false
}

// keyValue returns a key's value in force; call with the store locked.
func (c *Client) keyValue(k key) string {
	if k.name == "LivenessTimeout" {
		return strconv.Itoa(int(c.cfg.Liveness.Seconds()))
	}
	if v, ok := c.st.d.Keys[k.name]; ok {
		return v
	}
	return k.def
}

// keyInt returns an integer key's value in force.
func (c *Client) keyInt(name string) int {
	c.st.mu.Lock()
	defer c.st.mu.Unlock()
	k, _ := lookupKey(name)
	n, _ := strconv.Atoi(c.keyValue(k))
	return n
}

// keyString returns a key's value in force.
func (c *Client) keyString(name string) string {
	c.st.mu.Lock()
	defer c.st.mu.Unlock()
	k, _ := lookupKey(name)
	return c.keyValue(k)
}

// OnGetConfiguration lists the keys asked for (all when none), unknown
// ones apart.
func (c *Client) OnGetConfiguration(req *core.GetConfigurationRequest) (*core.GetConfigurationConfirmation, error) {
	c.heard()
	c.st.mu.Lock()
	defer c.st.mu.Unlock()
	var known []core.ConfigurationKey
	var unknown []string
	add := func(k key) {
		v := c.keyValue(k)
		known = append(known, core.ConfigurationKey{Key: k.name, Readonly: k.readOnly, Value: &v})
	}
	if len(req.Key) == 0 {
		for _, k := range keys {
			add(k)
		}
	}
	for _, n := range req.Key {
		if k, ok := lookupKey(n); ok {
			add(k)
		} else {
			unknown = append(unknown, n)
		}
	}
	conf := core.NewGetConfigurationConfirmation(known)
	conf.UnknownKey = unknown
	return conf, nil
}

// OnChangeConfiguration sets a read-write key and persists it: an unknown
// key is NotSupported, a read-only one or a bad value Rejected.
func (c *Client) OnChangeConfiguration(req *core.ChangeConfigurationRequest) (*core.ChangeConfigurationConfirmation, error) {
	c.heard()
	k, ok := lookupKey(req.Key)
	switch {
	case !ok:
		return core.NewChangeConfigurationConfirmation(core.ConfigurationStatusNotSupported), nil
	case k.readOnly:
		return core.NewChangeConfigurationConfirmation(core.ConfigurationStatusRejected), nil
	case k.check != nil && k.check(req.Value) != nil:
		c.log.Info().Str("key", req.Key).Err(k.check(req.Value)).Msg("ChangeConfiguration rejected")
		return core.NewChangeConfigurationConfirmation(core.ConfigurationStatusRejected), nil
	}
	c.st.mu.Lock()
	prev, had := c.st.d.Keys[k.name]
	c.st.d.Keys[k.name] = req.Value
	if err := c.st.save(); err != nil {
		if had {
			c.st.d.Keys[k.name] = prev
		} else {
			delete(c.st.d.Keys, k.name)
		}
		c.st.mu.Unlock()
		c.log.Error().Err(err).Msg("ChangeConfiguration not persisted")
		return core.NewChangeConfigurationConfirmation(core.ConfigurationStatusRejected), nil
	}
	c.st.mu.Unlock()
	c.kick(kickTimers)
	return core.NewChangeConfigurationConfirmation(core.ConfigurationStatusAccepted), nil
}
