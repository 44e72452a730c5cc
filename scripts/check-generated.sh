#!/usr/bin/env bash
# Fails when the generated files committed in ext/ differ from what
# `make generate` produces from ext/realtime.go.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
cp "$root/ext/realtime.go" "$scratch/" # the generator reads only the annotated source
"$(dirname "${BASH_SOURCE[0]}")/generate.sh" "$scratch"
stale=0
for f in "$root"/ext/*; do
	name=$(basename "$f")
	[ -e "$scratch/$name" ] || continue
	if ! diff -u "$f" "$scratch/$name" >&2; then
		stale=1
	fi
done
for f in "$scratch"/*; do
	[ -e "$root/ext/$(basename "$f")" ] || { echo "generated file ext/$(basename "$f") is not committed" >&2; stale=1; }
done
[ "$stale" -eq 0 ] || die "ext/ is stale: run 'make generate' and commit the result"
log "generated files in ext/ are up to date"
