#!/usr/bin/env bash
# Builds a thread-safe (ZTS) PHP with the embed SAPI from Debian's source
# package, which FrankenPHP links against. Debian ships no ZTS binaries.
#
# PREFERRED is a Debian version of php8.4 (e.g. 8.4.24-1~deb13u1). It is a
# preference: when the mirror no longer (or not yet) serves it, the newest
# version of the series that it serves is built instead
# (scripts/php-source.sh). Every tarball is verified against a signed
# checksum before it is unpacked.
#
# The install prefix is cached outside the checkout, keyed by the upstream
# version actually built and a hash of the configure flags, so a warm
# machine reuses it and a change of flags builds a new one. Safe to run
# twice at once: one run builds under a lock while the other waits, the
# build happens in a temporary directory, and the finished prefix is moved
# into place in one rename. Prints the prefix on stdout.
#
# usage: scripts/build-php.sh PREFERRED
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
scripts=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

preferred=${1:?usage: build-php.sh PREFERRED_DEBIAN_VERSION (e.g. 8.4.24-1~deb13u1)}

# intl is left out: it adds ICU's C++ to every cold build (12.5 instead of
# 11.8 minutes on 2 cores, measured 2026-11-29), and Composer installs
# bring symfony/polyfill-intl-* where it is missing. Add --enable-intl (and
# libicu-dev below, libicu72 in the Dockerfile's runtime stage) if your
# application needs it.
configure_flags=(
	--enable-embed --enable-zts --disable-zend-signals --enable-zend-max-execution-timers
	--disable-all --disable-cgi --disable-phpdbg
	--enable-bcmath --enable-ctype --with-curl --enable-dom --enable-fileinfo --enable-filter
	--enable-mbstring --with-openssl --enable-pcntl --enable-pdo --with-pdo-sqlite --with-sqlite3
	--enable-session --enable-simplexml --enable-sockets --with-sodium --enable-tokenizer
	--enable-xml --enable-xmlreader --enable-xmlwriter --with-zip --with-zlib --enable-opcache
	--with-libxml --enable-phar
)
# Without CFLAGS, PHP's configure compiles with "-g -O2": the debug info
# makes the build markedly slower and libphp several times larger, for no
# runtime difference.
php_cflags="-O2"

build_deps=(
	build-essential pkg-config xz-utils dpkg-dev gpgv curl ca-certificates
	libxml2-dev libssl-dev libcurl4-openssl-dev libsodium-dev libzip-dev libonig-dev
	libsqlite3-dev zlib1g-dev
)

flags_hash=$(printf '%s\n' "${configure_flags[@]}" "CFLAGS=$php_cflags" | sha256sum | cut -c1-12)
prefix_of() { echo "$CACHE_DIR/php-$1-$flags_hash"; }

# built tells whether a prefix is complete. Prefixes left by older scripts
# lack .source (and the files generate.sh needs): they are rebuilt.
built() { [ -f "$1/.complete" ] && [ -f "$1/.source" ]; }

# Fast path, no network: the preferred version is already built (the prefix
# is keyed by the upstream version: Debian revisions of one release share
# their upstream tarball).
prefix=$(prefix_of "${preferred%%-*}")
if built "$prefix"; then
	echo "$prefix"
	exit 0
fi

apt_install "${build_deps[@]}"
read -r version upstream tarball < <("$scripts/php-source.sh" fetch "$preferred") ||
	die "no PHP source to build (reasons above). What to do: if the Debian mirror is syncing (files 404 that its index names), retry later; otherwise set PHP_PREFERRED or add to PHP_FALLBACKS in the Makefile a php8.4 version whose .dsc and orig tarball the mirror serves (docs/development.md, PHP source)"
[ -f "$tarball" ] || die "php-source.sh fetch gave no tarball"
prefix=$(prefix_of "$upstream")

exec 8>"$prefix.lock"
if ! flock -n 8; then
	log "another build of PHP $upstream holds $prefix.lock: waiting for it"
	flock 8
fi
if built "$prefix"; then
	echo "$prefix"
	exit 0
fi

work=$(mktemp -d "$CACHE_DIR/.php-build-$upstream.XXXXXX")
trap 'rm -rf "$work"' EXIT
log "building PHP $upstream ($version) ZTS+embed into $prefix (about 8 minutes on 2 cores)"
mkdir "$work/src"
tar -xf "$tarball" -C "$work/src" --strip-components=1
(
	cd "$work/src"
	CFLAGS="$php_cflags" ./configure --prefix="$prefix" --with-config-file-path="$prefix/etc" \
		--with-config-file-scan-dir="$prefix/etc/conf.d" "${configure_flags[@]}" >configure.log 2>&1 ||
		{ tail -n 30 configure.log >&2; exit 1; }
	make -j"$(nproc)" >make.log 2>&1 || { tail -n 40 make.log >&2; exit 1; }
	# Installed under $work/root, then moved: the final path only ever holds a
	# complete prefix.
	make install INSTALL_ROOT="$work/root" >install.log 2>&1 || { tail -n 20 install.log >&2; exit 1; }
) || die "PHP $upstream failed to build (log tail above; full logs are removed with $work)"

staged="$work/root$prefix"
# The extension generator (scripts/generate.sh) runs gen_stub.php, which
# PHP installs with phpize's files: the source tree need not be kept.
[ -f "$staged/lib/php/build/gen_stub.php" ] || die "PHP $upstream installed no lib/php/build/gen_stub.php"
mkdir -p "$staged/etc/conf.d"
printf 'zend_extension=opcache\n' >"$staged/etc/conf.d/10-opcache.ini"
printf 'version=%s\nupstream=%s\ntarball=%s\nsha256=%s\n' "$version" "$upstream" "$(basename "$tarball")" \
	"$(sha256sum "$tarball" | cut -d' ' -f1)" >"$staged/.source"
touch "$staged/.complete"

# A prefix already there is incomplete or from an older script (this one
# never writes the final path before it is complete); we hold the lock, so
# no build is using it.
if [ -e "$prefix" ]; then mv -T "$prefix" "$work/stale"; fi
mv -T "$staged" "$prefix"
log "PHP $upstream ($version) ready in $prefix"
echo "$prefix"
