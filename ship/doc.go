// Package ship holds no code: its tests check what users install and run
// rather than import — the container image (Dockerfile), the Compose stack
// with Mosquitto (examples/compose), the systemd unit (examples/systemd)
// and the Debian package (packaging/) — with the real tools: a Docker
// engine, docker-compose, mosquitto, systemd-analyze and dpkg.
package ship
