// Command evse-scenario runs the power-limiting scenarios of issue 6 on
// the simulator with a virtual clock — a +5 kW load step while charging
// at the limit, a 24-hour PV-and-house trace with passing clouds, and
// load steps with cars that draw less than they are offered (issue 9
// item 6) — for our limiter and two reference control laws, and prints
// markdown tables.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/evse-mqtt/evse-mqtt/scenario"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	o := scenario.DefaultOptions()
	fs := flag.NewFlagSet("evse-scenario", flag.ContinueOnError)
	fs.SetOutput(stderr)
	seed := fs.Uint64("seed", o.Day.Seed, "seed of the day trace's clouds and appliances")
	fs.IntVar(&o.DayLimit, "day-limit", o.DayLimit, "ControlLimit of the day scenario [W] (0: PV surplus only)")
	fs.IntVar(&o.StepLimit, "step-limit", o.StepLimit, "ControlLimit of the load-step scenario [W]")
	fs.DurationVar(&o.DayLength, "day-length", o.DayLength, "length of the day scenario (virtual time)")
	fs.DurationVar(&o.DayFrom, "day-from", o.DayFrom, "time of day the day scenario starts")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	o.Day.Seed = *seed
	began := time.Now()
	r := scenario.Compare(o, scenario.Laws())
	if err := r.Markdown(stdout); err != nil {
		fmt.Fprintf(stderr, "evse-scenario: write: %v\n", err)
		return 1
	}
	fmt.Fprintf(stderr, "evse-scenario: %v of virtual time per law in %v\n", o.DayLength, time.Since(began).Round(time.Millisecond))
	return 0
}
