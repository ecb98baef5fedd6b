# syntax=docker/dockerfile:1
# The image of any one Firebreak service, named by the SERVICE build argument
# (ingest, scorer, reach, escalation, notifier or console). Build from the
# repository root, since the modules share go.work and every service needs
# services/platform and proto beside it:
#
#   docker build --build-arg SERVICE=escalation --build-arg VERSION=$(git describe --always) -t firebreak/escalation .
#
# Without a container engine, `make images` builds the same images with
# tools/cmd/imagebuild.
ARG GO_VERSION=1.26

FROM --platform=$BUILDPLATFORM golang:${GO_VERSION} AS build
ARG SERVICE
ARG TARGETOS=linux
ARG TARGETARCH=amd64
ARG VERSION=dev
WORKDIR /src
RUN case "${SERVICE}" in ingest|scorer|reach|escalation|notifier|console) ;; \
      *) echo "--build-arg SERVICE=\"${SERVICE}\": want ingest, scorer, reach, escalation, notifier or console" >&2; exit 1 ;; esac
# Build in workspace mode, exactly as `make build` does: go.work needs every
# module's go.mod, but only the service's own sources and the modules it imports.
ENV CGO_ENABLED=0
COPY go.work go.work.su[m] ./
COPY proto/go.mod proto/go.su[m] proto/
COPY services/platform/go.mod services/platform/go.su[m] services/platform/
COPY services/ingest/go.mod services/ingest/go.su[m] services/ingest/
COPY services/scorer/go.mod services/scorer/go.su[m] services/scorer/
COPY services/reach/go.mod services/reach/go.su[m] services/reach/
COPY services/escalation/go.mod services/escalation/go.su[m] services/escalation/
COPY services/notifier/go.mod services/notifier/go.su[m] services/notifier/
COPY services/console/go.mod services/console/go.su[m] services/console/
COPY tools/go.mod tools/go.su[m] tools/
COPY proto/ proto/
COPY services/platform/ services/platform/
COPY services/${SERVICE}/ services/${SERVICE}/
# The binary keeps the service's name; "service" links to it because an
# exec-form ENTRYPOINT cannot name a build argument.
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    GOOS=$TARGETOS GOARCH=$TARGETARCH go build -trimpath \
      -ldflags "-s -w -X github.com/firebreak/firebreak/services/platform/config.Version=${VERSION}" \
      -o /out/${SERVICE} ./services/${SERVICE}/cmd/${SERVICE} && \
    ln -s ${SERVICE} /out/service

# distroless/static: CA certificates, tzdata and /etc/passwd, no shell, no
# package manager; the nonroot variant runs as 65532:65532.
FROM gcr.io/distroless/static-debian12:nonroot
ARG SERVICE
ARG VERSION=dev
LABEL org.opencontainers.image.title="firebreak-${SERVICE}" \
      org.opencontainers.image.description="Firebreak ${SERVICE} service" \
      org.opencontainers.image.source="https://github.com/firebreak/firebreak" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${VERSION}"
COPY --from=build /out/ /usr/local/bin/
USER 65532:65532
WORKDIR /
EXPOSE 8080 9090
ENTRYPOINT ["/usr/local/bin/service"]
