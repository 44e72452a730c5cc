#!/usr/bin/env bash
# Regenerates the extension's C glue, arginfo and stub from the
# //export_php annotations of ext/realtime.go with `frankenphp
# extension-init`, run by a bootstrap binary built without the extension.
#
# usage: scripts/generate.sh [DIR]   (DIR defaults to ext/; the staleness
# check generates into a scratch copy and compares)
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"

dir=$(realpath "${1:-$ROOT/ext}")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# gen_stub.php (kept in the PHP prefix by build-php.sh) loads PHP-Parser
# from PHP-Parser-<version>/ next to itself and would download it
# otherwise: give a private copy Debian trixie's php-parser (arch all).
gen_stub="$work/gen_stub.php"
cp "$PHP_PREFIX/lib/php/build/gen_stub.php" "$gen_stub"
parser_version=$(sed -n 's/^ *\$version = "\([0-9.]*\)";.*/\1/p' "$gen_stub" | head -n1)
[ -n "$parser_version" ] || die "gen_stub.php no longer names its PHP-Parser version (\$version = "x.y.z" in initPhpParser): update scripts/generate.sh"
parser=$(debian_unpack php-parser)
mkdir -p "$work/PHP-Parser-$parser_version/lib"
ln -s "$parser/usr/share/php/PhpParser" "$work/PHP-Parser-$parser_version/lib/PhpParser"

bootstrap="$ROOT/bin/frankenphp-bootstrap"
"$(dirname "${BASH_SOURCE[0]}")/build-frankenphp.sh" "$bootstrap" realtime_bootstrap
log "extension-init $dir/realtime.go"
# The generator keeps an existing README.md: remove it so it is rewritten.
rm -f "$dir/README.md"
(cd "$dir" && GEN_STUB_SCRIPT="$gen_stub" "$bootstrap" extension-init realtime.go >/dev/null)

# The generator has no union types (and emits broken C for ?string); SPEC
# §5 declares user ids int|string, realtime_trigger()'s channels
# string|array and its except socket id ?string. The Go side enforces
# exactly that (TypeError otherwise), so declare it in the stub and let
# gen_stub.php rebuild the arginfo from it.
stub="$dir/realtime.stub.php"
rewrite() { # FROM TO, literal strings
	local text
	text=$(<"$stub")
	[[ $text == *"$1"* ]] ||
		die "the generated stub no longer declares '$1': the '$2' rewrite in scripts/generate.sh does not apply any more; update it"
	printf '%s\n' "${text//"$1"/"$2"}" >"$stub"
}
rewrite 'mixed $userId' 'int|string $userId'
rewrite 'mixed $channels' 'string|array $channels'
rewrite 'mixed $exceptSocketId = null' '?string $exceptSocketId = null'
php "$gen_stub" "$stub" >/dev/null
