# syntax=docker/dockerfile:1
# Build: docker build --build-arg VERSION=0.1.0 -t evse-mqtt .
# Run:   docker run -p 8080:8080 -v evse-state:/data evse-mqtt
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=0.1.0
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/evse-mqtt ./cmd/evse-mqtt \
 && mkdir -p /out/data

# distroless: no shell, no package manager, runs as a non-root user.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/evse-mqtt /usr/local/bin/evse-mqtt
# The state directory belongs to the nonroot user (65532), so a new named
# volume mounted there is writable: Docker copies the ownership into it.
COPY --from=build --chown=65532:65532 /out/data /data
COPY config.example.yaml /etc/evse-mqtt/config.example.yaml
ENV EVSE_STATE_DIR=/data \
    EVSE_HTTP_LISTEN=:8080
VOLUME ["/data"]
# The built-in broker listens on 127.0.0.1 inside the container; to offer it
# to other containers set mqtt.embedded_listen: "0.0.0.0:1883" and publish
# the port. With compose, use the Mosquitto service instead.
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s CMD ["/usr/local/bin/evse-mqtt", "--healthcheck"]
USER nonroot:nonroot
ENTRYPOINT ["/usr/local/bin/evse-mqtt"]
