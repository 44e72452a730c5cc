# Realtime for FrankenPHP. Every target installs what it is missing: on a
# fresh machine `make run` and `make test` are the only commands you need.
SHELL := /bin/bash
.DEFAULT_GOAL := help

export PHP_VERSION ?= 8.4.24
BIN := bin/frankenphp
GO_PACKAGES := ./internal/... ./caddymodule/...
FUZZ_TIME ?= 10s

.PHONY: help
help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-16s %s\n", $$1, $$2}'

.PHONY: php
php: ## build (or reuse from the cache) PHP $(PHP_VERSION) ZTS + embed
	@scripts/build-php.sh $(PHP_VERSION) >/dev/null

.PHONY: build
build: php ## build bin/frankenphp with the realtime module and extension
	@scripts/build-frankenphp.sh $(BIN)

.PHONY: generate
generate: php ## regenerate the extension glue in ext/ from ext/realtime.go
	@scripts/generate.sh ext

.PHONY: check-generated
check-generated: php ## fail if the committed generated files in ext/ are stale
	@scripts/check-generated.sh

.PHONY: deps-test
deps-test: ## install what the test suites need (PHPUnit, ...)
	@scripts/install-test-deps.sh

.PHONY: run
run: build ## serve the demo app on http://localhost:8080 (memory driver)
	$(BIN) run --config php/Caddyfile --adapter caddyfile

.PHONY: test
test: build deps-test check-generated test-browser test-go test-php ## run every suite; ends with the Go and PHPUnit summaries

.PHONY: test-go
test-go: ## go vet + go test -race of the hub and Caddy module (no PHP needed), plus a bounded fuzz run
	go vet $(GO_PACKAGES)
	go test -race -count=1 $(GO_PACKAGES)
	go test -run '^$$' -fuzz FuzzDecode -fuzztime $(FUZZ_TIME) ./internal/protocol/

.PHONY: test-php
test-php: build deps-test ## the PHPUnit suite against the real binary
	$(BIN) php-cli /usr/bin/phpunit -c tests/phpunit.xml

.PHONY: test-browser
test-browser: build ## the demo in headless Chromium (playwright-core)
	scripts/install-browser.sh
	node --test tests/browser/

.PHONY: image
image: ## build the container image without a Docker daemon (buildah) and smoke-test it
	@scripts/build-image.sh

.PHONY: clean
clean: ## remove build outputs (the PHP cache outside the checkout stays)
	rm -rf bin
