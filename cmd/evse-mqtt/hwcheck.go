package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/evse-mqtt/evse-mqtt/daemon"
	"github.com/evse-mqtt/evse-mqtt/hw"
	"github.com/evse-mqtt/evse-mqtt/hw/periph"
)

// runHWCheck is `evse-mqtt hwcheck`: read every input of the periph
// board once and print it; with --pulse, and only with no vehicle
// connected, drive each output once and report its feedback. Run it
// with the daemon stopped: both would drive the same pins.
func runHWCheck(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("evse-mqtt hwcheck", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o daemon.Options
	fs.StringVar(&o.ConfigPath, "config", os.Getenv("EVSE_CONFIG"), "configuration file with hardware.driver: periph [EVSE_CONFIG]")
	pulse := fs.Bool("pulse", false, "also drive each output once (pilot PWM and −12 V, contactors, lock, RCM test); refused unless the pilot reads state A")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	o.StateDir = os.TempDir() // hwcheck writes no state; this only satisfies the loader
	cfg, err := daemon.LoadConfig(o)
	if err != nil {
		fmt.Fprintf(stderr, "evse-mqtt hwcheck: %v\n", strings.ReplaceAll(err.Error(), "\n", "\n  "))
		return 2
	}
	if cfg.Hardware.Driver != "periph" {
		fmt.Fprintln(stderr, "evse-mqtt hwcheck: the configuration has no real hardware (hardware.driver is not periph)")
		return 2
	}
	drv, err := periph.OpenHost(cfg.Hardware.Periph, "hardware.periph.", periph.Options{LockMethod: hw.LockMethod(cfg.Settings.LockMethod)})
	if err != nil {
		fmt.Fprintf(stderr, "evse-mqtt hwcheck: %v\n", strings.ReplaceAll(err.Error(), "\n", "\n  "))
		return 1
	}
	defer drv.Close() // every output safe, also after Ctrl-C
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	wait := func(d time.Duration) bool {
		select {
		case <-ctx.Done():
			return false
		case <-time.After(d):
			return true
		}
	}
	drv.Read(wait).Print(stdout)
	if e := drv.Errors(); e != "" {
		fmt.Fprintln(stdout, "i/o errors: ", e)
	}
	if !*pulse {
		return 0
	}
	fmt.Fprintln(stdout, "pulsing outputs:")
	err = drv.Pulse(stdout, wait)
	if e := drv.Errors(); e != "" {
		fmt.Fprintln(stdout, "i/o errors: ", e)
	}
	if err != nil {
		fmt.Fprintln(stderr, "evse-mqtt hwcheck:", err)
		return 1
	}
	return 0
}
