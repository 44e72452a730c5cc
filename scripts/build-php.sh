#!/usr/bin/env bash
# Builds a thread-safe (ZTS) PHP with the embed SAPI from Debian's source
# package, which FrankenPHP links against. Debian ships no ZTS binaries.
#
# The install prefix is cached outside the checkout, keyed by the PHP version
# and a hash of the configure flags, so a warm machine reuses it and a change of
# flags builds a new one. Prints the prefix on stdout.
#
# usage: scripts/build-php.sh 8.4.24
source "$(dirname "$0")/lib.sh"

version=${1:?usage: build-php.sh VERSION}
series=${version%.*}

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
	build-essential pkg-config xz-utils dpkg-dev
	libxml2-dev libssl-dev libcurl4-openssl-dev libsodium-dev libzip-dev libonig-dev
	libsqlite3-dev zlib1g-dev
)

key="$version-$(printf '%s\n' "${configure_flags[@]}" "CFLAGS=$php_cflags" | sha256sum | cut -c1-12)"
prefix="$CACHE_DIR/php-$key"
src="$CACHE_DIR/php-src-$version"

if [ -f "$prefix/.complete" ]; then
	echo "$prefix"
	exit 0
fi

apt_install "${build_deps[@]}"

if [ ! -f "$src/.extracted" ]; then
	dl="$CACHE_DIR/download"
	mkdir -p "$dl"
	if ! ls "$dl"/php"$series"_"$version".orig.tar.* >/dev/null 2>&1; then
		trixie_update_once
		log "downloading Debian source package php$series (trixie)"
		(cd "$dl" && trixie apt-get source --download-only -qq "php$series" >/dev/null)
	fi
	tarball=$(ls "$dl"/php"$series"_"$version".orig.tar.* 2>/dev/null | head -n1) ||
		true
	[ -n "$tarball" ] || die "Debian trixie no longer serves PHP $version (found: $(ls "$dl" | tr '\n' ' ')); set PHP_VERSION in the Makefile to the version it serves"
	rm -rf "$src" && mkdir -p "$src"
	tar -xf "$tarball" -C "$src" --strip-components=1
	touch "$src/.extracted"
fi

log "building PHP $version ZTS+embed into $prefix (about 8 minutes on 2 cores)"
build="$CACHE_DIR/php-build-$key"
rm -rf "$build" "$prefix"
cp -a "$src" "$build"
(
	cd "$build"
	CFLAGS="$php_cflags" ./configure --prefix="$prefix" --with-config-file-path="$prefix/etc" \
		--with-config-file-scan-dir="$prefix/etc/conf.d" "${configure_flags[@]}" >configure.log 2>&1 ||
		{ tail -n 30 configure.log >&2; exit 1; }
	make -j"$(nproc)" >make.log 2>&1 || { tail -n 40 make.log >&2; exit 1; }
	make install >install.log 2>&1 || { tail -n 20 install.log >&2; exit 1; }
)
mkdir -p "$prefix/etc/conf.d"
printf 'zend_extension=opcache\n' >"$prefix/etc/conf.d/10-opcache.ini"
rm -rf "$build"
touch "$prefix/.complete"
log "PHP $version ready in $prefix"
echo "$prefix"
