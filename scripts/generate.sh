#!/usr/bin/env bash
# Regenerates the extension's C glue, arginfo and stub from the
# //export_php annotations of ext/realtime.go with `frankenphp
# extension-init`, run by a bootstrap binary built without the extension.
#
# usage: scripts/generate.sh [DIR]   (DIR defaults to ext/; the staleness
# check generates into a scratch copy and compares)
source "$(dirname "$0")/env.sh"

dir=${1:-ext}
bootstrap="$CACHE_DIR/frankenphp-bootstrap"

# gen_stub.php needs PHP-Parser 5 under build/; it would download it
# otherwise. Debian trixie's php-parser (arch all) provides it.
parser_link="$PHP_SRC/build/PHP-Parser-5.0.0/lib/PhpParser"
if [ ! -e "$parser_link/Parser.php" ]; then
	parser_dir="$CACHE_DIR/php-parser"
	if [ ! -d "$parser_dir/usr/share/php/PhpParser" ]; then
		trixie_update_once
		mkdir -p "$CACHE_DIR/debs" && rm -f "$CACHE_DIR"/debs/php-parser_*.deb
		(cd "$CACHE_DIR/debs" && trixie apt-get download -qq php-parser >/dev/null)
		dpkg -x "$CACHE_DIR"/debs/php-parser_*.deb "$parser_dir"
	fi
	mkdir -p "$(dirname "$parser_link")"
	ln -sfn "$parser_dir/usr/share/php/PhpParser" "$parser_link"
fi

"$(dirname "$0")/build-frankenphp.sh" "$bootstrap" realtime_bootstrap
log "extension-init $dir/realtime.go"
(cd "$dir" && GEN_STUB_SCRIPT="$PHP_SRC/build/gen_stub.php" "$bootstrap" extension-init realtime.go >/dev/null)

# The generator has no union types; SPEC §5 declares user ids int|string.
# The Go side enforces exactly that (TypeError otherwise), so declare it in
# the stub and let gen_stub.php rebuild the arginfo from it.
sed -i 's/mixed \$userId/int|string $userId/' "$dir/realtime.stub.php"
php "$PHP_SRC/build/gen_stub.php" "$dir/realtime.stub.php" >/dev/null
