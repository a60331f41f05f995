package periph

import (
	"fmt"

	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpioreg"
	"periph.io/x/conn/v3/i2c/i2creg"
	"periph.io/x/conn/v3/spi/spireg"
	"periph.io/x/host/v3"
)

// OpenHost initialises periph's host drivers and opens the configured
// hardware on this machine. prefix names the configuration section in
// errors ("hardware.periph.").
func OpenHost(cfg Config, prefix string, o Options) (*Driver, error) {
	if _, err := host.Init(); err != nil {
		return nil, fmt.Errorf("%speriph host drivers: %w", prefix, err)
	}
	parts := Parts{
		Pin: func(name string) gpio.PinIO {
			if p := gpioreg.ByName(name); p != nil {
				return p
			}
			return nil
		},
		I2C:    i2creg.Open,
		SPI:    spireg.Open,
		Prefix: prefix,
	}
	d, err := Open(cfg, parts, o)
	if err != nil && len(gpioreg.All()) == 0 {
		err = fmt.Errorf("%w\n(periph found no GPIO pins at all: not a supported board, or no access to /dev/gpiochip* and /sys/class/gpio)", err)
	}
	return d, err
}
