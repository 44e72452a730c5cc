# Realtime for FrankenPHP. Every target installs what it is missing: on a
# fresh machine `make run` and `make test` are the only commands you need.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# The php8.4 Debian source version to build: a preference. When the mirror
# does not serve it, the newest version it serves is built and the
# drift check at the end of `make test` says to update this line.
PHP_PREFERRED ?= 8.4.24-1~deb13u1
# Older versions known to have been published, tried through their signed
# .dsc when neither the preferred one nor any version an index names can be
# downloaded (the pool cannot be listed). Newest first.
PHP_FALLBACKS ?= 8.4.23-1~deb13u1 8.4.16-1 8.4.11-1
export PHP_FALLBACKS
BIN := bin/frankenphp
GO_PACKAGES := ./internal/... ./caddymodule/... ./tools/... ./bench/...
FUZZ_TIME ?= 10s
# node --test runs one test file at a time on 2 CPUs (availableParallelism
# - 1); the Pusher suite's files mostly wait (activity timeouts, closes), so
# three at once take 35 s instead of 80. Browser and Laravel files drive
# Chromium: two at once.
NODE_TEST_FILES ?= 3

.PHONY: help
help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-16s %s\n", $$1, $$2}'

.PHONY: php
php: ## build (or reuse from the cache) PHP 8.4 ZTS + embed; records its prefix in bin/php-prefix
	@mkdir -p bin && prefix=$$(scripts/build-php.sh '$(PHP_PREFERRED)') && echo "$$prefix" >bin/php-prefix

.PHONY: check-php-source
check-php-source: php ## fail when a fresh machine would not get the PHP source this build uses (drift)
	@scripts/php-source.sh check '$(PHP_PREFERRED)' "$$(cat bin/php-prefix)"

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
run: build ## serve the demo app on port 8080, any host (memory driver); prints the URLs to open
	@scripts/demo-setup.sh
	@addr="$${REALTIME_DEMO_ADDRESS:-http://:8080}"; \
	case "$$addr" in \
	http://:*|:*) \
		port="$${addr##*:}"; urls="http://localhost:$$port"; \
		for ip in $$(hostname -I 2>/dev/null); do \
			case "$$ip" in *:*) urls="$$urls http://[$$ip]:$$port" ;; *) urls="$$urls http://$$ip:$$port" ;; esac; \
		done ;; \
	*://*) urls="$$addr" ;; \
	*) urls="https://$$addr" ;; \
	esac; \
	echo; echo "Realtime demo: open $${urls%% *}"; \
	echo "  Laravel Echo tab (Pusher protocol): $${urls%% *}/echo.php"; \
	for u in $${urls#* }; do [ "$$u" = "$${urls%% *}" ] || echo "  from another machine: $$u"; done; \
	echo "  (Ctrl+C stops the server)"; echo
	$(BIN) run --config php/Caddyfile --adapter caddyfile

.PHONY: test
test: build deps-test check-generated test-browser test-laravel test-pusher test-go test-php check-php-source ## every suite, then the PHP source drift check

.PHONY: test-go
test-go: ## go vet + go test -race of the hub and Caddy module (no PHP needed), plus a bounded fuzz run
	go vet $(GO_PACKAGES)
	go test -race -count=1 $(GO_PACKAGES)
	go test -run '^$$' -fuzz FuzzDecode -fuzztime $(FUZZ_TIME) ./internal/protocol/

.PHONY: test-php
test-php: build deps-test ## the PHPUnit suite against the real binary
	$(BIN) php-cli /usr/bin/phpunit -c tests/phpunit.xml

.PHONY: test-pusher
test-pusher: build deps-test ## pusher-js, Laravel Echo and the Pusher Node SDK against the binary (tests/pusher)
	scripts/install-browser.sh
	scripts/npm-ci-once.sh tests/pusher
	node --test --test-concurrency=$(NODE_TEST_FILES) tests/pusher/

.PHONY: test-laravel
test-laravel: build ## a real Laravel 10 app with Laravel Echo in headless Chromium (tests/laravel)
	scripts/install-laravel-tests.sh
	node --test --test-concurrency=2 tests/laravel/

.PHONY: test-browser
test-browser: build ## the demo in headless Chromium (playwright-core)
	scripts/install-browser.sh
	node --test --test-concurrency=2 tests/browser/

.PHONY: bench
bench: build ## benchmarks against bare gws and Mercure, palindromic order, pinned (about 7 minutes; docs/benchmarks.md)
	BENCH_SKIP_BUILD=1 scripts/bench.sh

.PHONY: bench-smoke
bench-smoke: build ## every benchmark system and scenario at tiny N (< 1 minute); fails when one cannot run or loses a message, never on speed
	BENCH_SKIP_BUILD=1 SMOKE=1 scripts/bench.sh

# make test runs the benchmark smoke too (a prerequisite added on its own
# line; the test rule above is unchanged).
test: bench-smoke

.PHONY: image
image: ## build the container image without a Docker daemon (buildah) and smoke-test it
	@scripts/build-image.sh

.PHONY: clean
clean: ## remove build outputs (the PHP cache outside the checkout stays)
	rm -rf bin
