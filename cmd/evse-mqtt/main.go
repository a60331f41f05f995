// Command evse-mqtt runs the PSP EVSE charger controller as a daemon: the
// IEC 61851 control loop, the vendor's WebAPI, Modbus meters and the MQTT
// bridge with Home Assistant discovery. Without a configuration file it
// runs the simulator, so it can be tried with no hardware at all.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/rs/zerolog"

	"github.com/evse-mqtt/evse-mqtt/daemon"
)

// Set by -ldflags "-X main.version=1.2.3".
var version = "0.1.0"

func main() {
	os.Exit(run(os.Args[1:], os.Stderr))
}

func run(args []string, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "hwcheck" {
		return runHWCheck(args[1:], os.Stdout, stderr)
	}
	fs := flag.NewFlagSet("evse-mqtt", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o daemon.Options
	fs.StringVar(&o.ConfigPath, "config", os.Getenv("EVSE_CONFIG"), "configuration file (YAML); default $CONFIGURATION_DIRECTORY/config.yaml if it exists, else none: the simulator with defaults [EVSE_CONFIG]")
	fs.StringVar(&o.StateDir, "state-dir", os.Getenv("EVSE_STATE_DIR"), "directory for persisted settings and counters [EVSE_STATE_DIR]")
	fs.StringVar(&o.HTTPListen, "http-listen", os.Getenv("EVSE_HTTP_LISTEN"), "HTTP listen address (default :8080) [EVSE_HTTP_LISTEN]")
	fs.StringVar(&o.MQTTURL, "mqtt-url", os.Getenv("EVSE_MQTT_URL"), "MQTT broker URL, or \"embedded\" [EVSE_MQTT_URL]")
	fs.StringVar(&o.LogLevel, "log-level", os.Getenv("EVSE_LOG_LEVEL"), "trace, debug, info, warn or error [EVSE_LOG_LEVEL]")
	showVersion := fs.Bool("version", false, "print the version and exit")
	healthcheck := fs.Bool("healthcheck", false, "ask the running daemon's /healthz, print ok, degraded (MQTT down: exit 0) or unhealthy (exit 1), for container health checks")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *showVersion {
		fmt.Fprintln(os.Stdout, "evse-mqtt", version)
		return 0
	}
	o.Version = version
	found := ""
	if o.ConfigPath == "" {
		// A packaged install: /etc/evse-mqtt/config.yaml under systemd
		// (ConfigurationDirectory=) and in the container image.
		found = daemon.FoundConfig()
		o.ConfigPath = found
	}

	cfg, err := daemon.LoadConfig(o)
	if err != nil {
		fmt.Fprintf(stderr, "evse-mqtt: %v\n", strings.ReplaceAll(err.Error(), "\n", "\n  "))
		return 2
	}
	if *healthcheck {
		return checkHealth(cfg.HTTP.Listen, os.Stdout, stderr)
	}
	log := newLogger(stderr, cfg.Log.Format, cfg.Log.Level)
	if found != "" {
		log.Info().Str("config", found).Msg("configuration found in $CONFIGURATION_DIRECTORY (no --config)")
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := daemon.Run(ctx, o, log); err != nil {
		log.Error().Err(err).Msg("evse-mqtt failed")
		return 1
	}
	return 0
}

// newLogger logs for people on a terminal and as JSON lines otherwise
// (journald, docker logs, log shippers).
func newLogger(w io.Writer, format, level string) zerolog.Logger {
	lvl, err := zerolog.ParseLevel(strings.ToLower(level))
	if err != nil {
		lvl = zerolog.InfoLevel
	}
	console := format == "console"
	if format == "auto" {
		if f, ok := w.(*os.File); ok && isatty.IsTerminal(f.Fd()) {
			console = true
		}
	}
	if console {
		w = zerolog.ConsoleWriter{Out: w, TimeFormat: time.TimeOnly}
	}
	return zerolog.New(w).Level(lvl).With().Timestamp().Logger()
}

// checkHealth asks the local daemon's /healthz and says what it answered
// on stdout: "ok", or "degraded: <why>" (exit 0: the charger works, only
// MQTT is down), or "unhealthy: <why>" (exit 1).
func checkHealth(listen string, stdout, stderr io.Writer) int {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		fmt.Fprintln(stderr, "healthcheck:", err)
		return 1
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	c := http.Client{Timeout: 3 * time.Second}
	resp, err := c.Get("http://" + net.JoinHostPort(host, port) + "/healthz")
	if err != nil {
		fmt.Fprintln(stderr, "healthcheck:", err)
		return 1
	}
	defer resp.Body.Close()
	var h struct{ Status, Reason, MQTT string }
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	_ = json.Unmarshal(body, &h) // an unreadable body still has its status code
	why := strings.TrimSpace(strings.Join(nonEmpty(h.Reason, h.MQTT), "; "))
	switch {
	case resp.StatusCode != http.StatusOK:
		fmt.Fprintf(stdout, "unhealthy: status %d %s\n", resp.StatusCode, why)
		return 1
	case h.Status == "degraded":
		fmt.Fprintf(stdout, "degraded: mqtt %s\n", why)
	default:
		fmt.Fprintln(stdout, "ok")
	}
	return 0
}

func nonEmpty(s ...string) []string {
	var out []string
	for _, v := range s {
		if v != "" {
			out = append(out, v)
		}
	}
	return out
}
