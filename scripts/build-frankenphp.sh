#!/usr/bin/env bash
# Builds the FrankenPHP binary with the realtime module and extension, against
# the PHP that `make php` recorded in bin/php-prefix.
# usage: scripts/build-frankenphp.sh OUTPUT [extra go build tags]
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"

out=$(realpath -m "${1:?usage: build-frankenphp.sh OUTPUT [TAGS]}")
tags="$GO_TAGS${2:+,$2}"
# The PHP source in use, shown by `frankenphp version` (cmd/frankenphp).
php_source=$(sed -n 's/^version=//p' "$PHP_PREFIX/.source")
log "go build -tags $tags -o $out ./cmd/frankenphp (PHP $php_source)"
cd "$ROOT"
go build -tags "$tags" -ldflags "-X main.phpSource=$php_source" -o "$out" ./cmd/frankenphp
