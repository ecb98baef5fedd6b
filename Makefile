# Firebreak's one entry point. `make help` lists the targets.

SHELL := /bin/bash
GO ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X github.com/firebreak/firebreak/services/platform/config.Version=$(VERSION)
SERVICES := ingest scorer reach escalation notifier console
# Every package of every module in go.work; `./...` would stop at module borders.
PACKAGES = $(shell $(GO) list -m -f '{{.Dir}}/...')
BUF := $(GO) run github.com/bufbuild/buf/cmd/buf@v1.75.0
REDIS_URL ?= redis://127.0.0.1:6379/0
export REDIS_URL

.PHONY: screenshots backtest-twcs help build test test-e2e test-race bench lint proto tidy run images chaos check-redis check-chromium train eval eval-replies chart-lint deploy-check manifests

help: ## list the targets
	@grep -hE '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-13s %s\n", $$1, $$2}'

run: check-redis ## run every service in one process (embedded NATS under ./data, Redis at REDIS_URL)
	$(GO) run -ldflags "$(LDFLAGS)" ./tools/cmd/allinone

test: check-redis check-chromium ## unit, integration and end-to-end tests (real NATS embedded per test, real Redis; installs Chromium for the console's browser test if missing)
	$(GO) test -count=1 -timeout 8m $(PACKAGES)

screenshots: check-redis ## regenerate docs/img/console-*.png from the console's browser test (needs chromium)
	@mkdir -p docs/img
	FIREBREAK_SCREENSHOTS_DIR=$(CURDIR)/docs/img $(GO) test -count=1 -run TestConsoleInABrowser ./tools/e2e/

test-e2e: check-redis ## only the end-to-end tests of the whole flow
	$(GO) test -count=1 -v ./tools/e2e/...

test-race: check-redis ## the tests under the race detector (slower)
	$(GO) test -race -count=1 -timeout 15m $(PACKAGES)

bench: check-redis ## micro-benchmarks, then a short load run: throughput vs the broker's ceiling, p50/p99 at 1,000/s, cost of sync always, scale-out with 1, 2 and 4 replicas, each service apart
	$(GO) test -count=1 -run '^$$' -bench . -benchmem -benchtime 100ms -timeout 10m $(PACKAGES)
	@mkdir -p bin/load
	$(GO) run ./tools/cmd/loadgen --redis-url own --rate 1000 --rate-duration 10s --fast-duration 8s --ceiling-duration 4s --scale 1,2,4 --apart \
	  --json bin/load/summary.json --html bin/load/report.html --cpuprofile bin/load/cpu.pprof
	@echo "profile: go tool pprof -top bin/load/cpu.pprof (CPU of the whole in-process stack during the fast phase)"

chaos: ## fault injection (not in `make test`, ~10 min): two replicas per service on a 3-node nats-server cluster and a Redis Cluster; SIGKILLs, leader kills, outages, failover, bad receivers, full streams
	@command -v redis-server >/dev/null && command -v redis-cli >/dev/null || { echo "make chaos starts its own Redis Cluster; install redis-server and redis-cli (apt-get install redis-server)"; exit 2; }
	$(GO) run ./tools/cmd/chaos

build: ## build the services and the firebreak CLI into bin/
	@mkdir -p bin
	for s in $(SERVICES); do CGO_ENABLED=0 $(GO) build -trimpath -ldflags "$(LDFLAGS)" -o bin/$$s ./services/$$s/cmd/$$s || exit 1; done
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "$(LDFLAGS)" -o bin/firebreak ./tools/cmd/firebreak

lint: ## gofmt, go vet and buf lint
	@out=$$(gofmt -l $$(git ls-files '*.go' | grep -v '\.pb\.go$$')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PACKAGES)
	cd proto && $(BUF) lint

proto: ## regenerate the protobuf Go code (checked in) and lint the protos
	cd proto && $(BUF) lint && $(BUF) generate

tidy: ## go mod tidy in every module
	for d in $$($(GO) list -m -f '{{.Dir}}'); do (cd $$d && $(GO) mod tidy) || exit 1; done

# The console's browser test drives Debian's Chromium: a fresh machine gets
# it from apt (as root, or through sudo).
check-chromium:
	@command -v chromium >/dev/null || { \
	  echo "installing Debian's chromium for the console's browser test"; \
	  if [ "$$(id -u)" = 0 ]; then apt=apt-get; else apt="sudo apt-get"; fi; \
	  $$apt install -y chromium >/dev/null || { $$apt update >/dev/null && $$apt install -y chromium >/dev/null; } || \
	  { echo "could not install chromium; install it (apt-get install chromium) and run make test again"; exit 2; }; }

check-redis:
	@$(GO) run ./tools/cmd/redisping "$(REDIS_URL)"

images: ## build OCI image tarballs bin/images/<svc>.tar without a container engine
	@for s in $(SERVICES); do \
	  CGO_ENABLED=0 GOOS=linux GOARCH=amd64 $(GO) build -trimpath -ldflags "$(LDFLAGS)" -o bin/linux_amd64/$$s ./services/$$s/cmd/$$s || exit 1; \
	done
	$(GO) run ./tools/cmd/imagebuild -bin-dir bin/linux_amd64 -out-dir bin/images -version $(VERSION) -revision "$$(git rev-parse HEAD 2>/dev/null)" $(SERVICES)

chart-lint: ## render, lint and check the Helm chart (Helm SDK, strict k8s types, restricted pod security)
	$(GO) test -count=1 -run 'TestChart' ./tools/deploycheck

deploy-check: ## check the chart, kustomize overlays, dashboard, Dockerfiles and images
	$(GO) test -count=1 ./tools/deploycheck ./tools/imagebuild

manifests: ## regenerate deploy/base/firebreak.yaml from the chart
	$(GO) test -count=1 -run TestKustomizeBaseIsTheRenderedChart ./tools/deploycheck -update

train: ## retrain both built-in scorer models (reproduces the checked-in files byte for byte)
	$(GO) run ./tools/cmd/firebreak train --data ../shared/data --out services/scorer/score/model/default/sentiment.fbm.gz
	$(GO) run ./tools/cmd/firebreak train --preset airline --in ../shared/data/airline-sentiment/train.csv --label-column airline_sentiment --weight-column airline_sentiment_confidence --out services/scorer/score/model/airline/sentiment.fbm.gz

backtest-twcs: ## replay the customer-support-on-twitter sample through the default policy: cases, first answers, breaches, flagged brand replies, hand-offs
	$(GO) run ./tools/cmd/firebreak backtest --policy default --in ../shared/data/customer-support-on-twitter/twcs-5000.csv --limit 10

eval: ## in-domain and cross-domain tables of both scorer models against naive Bayes and the lexicon (shared data)
	$(GO) run ./tools/cmd/firebreak eval --data ../shared/data --agent-voice services/scorer/score/testdata/agent-voice.csv
	$(GO) run ./tools/cmd/firebreak eval-replies

eval-replies: ## the reply check: flag rates on labelled replies, the twcs brand replies and the Stanford Politeness quartiles
	$(GO) run ./tools/cmd/firebreak eval-replies
