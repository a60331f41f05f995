# evse-mqtt as a container: a static binary on an empty (scratch) image.
#
#   docker build -t evse-mqtt .
#   docker buildx build --platform linux/amd64,linux/arm64,linux/arm/v7 -t evse-mqtt .
#
# Needs BuildKit (the default builder of Docker 23 and later; older engines:
# DOCKER_BUILDKIT=1). The build stage runs on the builder's own platform and
# cross-compiles for TARGETARCH, so the arm images need no emulation.
FROM --platform=$BUILDPLATFORM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=0.1.0
ARG TARGETOS TARGETARCH TARGETVARIANT
# The runtime image has no shell and no package manager, so everything it
# holds is laid out here under /out: the binary, a passwd entry for the
# non-root user 65532 (ssl:// MQTT and logs want a name), CA certificates
# for ssl:// brokers, and the state directory owned by that user (a new
# named volume mounted on /data copies this ownership, so it is writable).
RUN set -e; \
    if [ "$TARGETARCH" = arm ]; then v="${TARGETVARIANT#v}"; export GOARM="${v:-7}"; fi; \
    CGO_ENABLED=0 GOOS="${TARGETOS:-linux}" GOARCH="${TARGETARCH:-amd64}" \
      go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/usr/local/bin/evse-mqtt ./cmd/evse-mqtt; \
    mkdir -p /out/etc/ssl/certs /out/etc/evse-mqtt /out/data; \
    echo 'evse:x:65532:65532:evse-mqtt:/data:/sbin/nologin' > /out/etc/passwd; \
    echo 'evse:x:65532:' > /out/etc/group; \
    cp /etc/ssl/certs/ca-certificates.crt /out/etc/ssl/certs/; \
    cp config.example.yaml /out/etc/evse-mqtt/config.example.yaml

FROM scratch
COPY --from=build /out/usr /usr
COPY --from=build /out/etc /etc
COPY --from=build --chown=65532:65532 /out/data /data
# Not settings that override your YAML: these are the lowest-ranked
# defaults, the same variables systemd's ConfigurationDirectory= and
# StateDirectory= set. A file mounted at /etc/evse-mqtt/config.yaml is read
# without --config; its state_dir and http.listen win over /data and :8080.
# Flags and EVSE_* variables win over the YAML.
ENV CONFIGURATION_DIRECTORY=/etc/evse-mqtt \
    STATE_DIRECTORY=/data
VOLUME ["/data"]
# The WebAPI (http.listen, default :8080). The built-in broker listens on
# 127.0.0.1 inside the container; next to other containers use Mosquitto
# (examples/compose).
EXPOSE 8080
# ok / degraded: mqtt <why> (exit 0: the charger works) / unhealthy (exit 1:
# the control loop has not stepped for 5 s). It reads the same config, so a
# changed http.listen is followed.
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 CMD ["/usr/local/bin/evse-mqtt", "--healthcheck"]
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/evse-mqtt"]
