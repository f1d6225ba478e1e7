# syntax=docker/dockerfile:1
# gatehouse's container image: a static binary on distroless's static
# image (CA certificates, tzdata, /etc/passwd with the nonroot user), run
# as that user, with a read-only root filesystem allowed: the SQLite
# database and its generated secret live in the /data volume. With
# PostgreSQL (GATEHOUSE_DATABASE_URL=postgres://...) /data stays empty.
#
#   docker build -t gatehouse --build-arg VERSION=$(git describe --tags --always --dirty) \
#     --build-arg COMMIT=$(git rev-parse HEAD) --build-arg DATE=$(git log -1 --format=%cI) .
#   docker run --read-only -p 8000:8000 -v gatehouse-data:/data gatehouse
#
# docs/operations.md has the settings a deployment needs (allowed hosts,
# trusted proxies, the issuer, the secret).

ARG GO_VERSION=1.26

FROM golang:${GO_VERSION}-bookworm AS build
WORKDIR /src
# The module cache layer is rebuilt only when the dependencies change.
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=""
ARG COMMIT=""
ARG DATE=""
# modernc.org/sqlite is pure Go: no cgo, so the binary needs no libc.
ENV CGO_ENABLED=0
RUN bi=github.com/gatehouse-auth/gatehouse/internal/buildinfo && \
    go build -trimpath -buildvcs=false \
      -ldflags "-s -w -X $bi.version=${VERSION} -X $bi.commit=${COMMIT} -X $bi.date=${DATE}" \
      -o /out/gatehouse ./cmd/gatehouse && \
    mkdir -p /out/data

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/gatehouse /usr/local/bin/gatehouse
# Owned by the nonroot user (65532), so a new named volume mounted here is too.
COPY --from=build --chown=65532:65532 /out/data /data
USER 65532:65532
WORKDIR /data
ENV GATEHOUSE_ADDR=0.0.0.0:8000 \
    GATEHOUSE_DATABASE_URL=/data/gatehouse.db \
    GATEHOUSE_LOG_FORMAT=json
VOLUME ["/data"]
EXPOSE 8000
# No curl in the image: gatehouse asks its own /readyz (exit 0 or 1).
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["/usr/local/bin/gatehouse", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/gatehouse"]
CMD ["serve"]
