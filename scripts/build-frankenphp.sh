#!/usr/bin/env bash
# Builds the FrankenPHP binary with the realtime module and extension.
# usage: scripts/build-frankenphp.sh OUTPUT [extra go build tags]
source "$(dirname "$0")/env.sh"

out=${1:?usage: build-frankenphp.sh OUTPUT [TAGS]}
tags="$GO_TAGS${2:+,$2}"
log "go build -tags $tags -o $out ./cmd/frankenphp"
go build -tags "$tags" -o "$out" ./cmd/frankenphp
