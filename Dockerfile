#
# FrankenPHP + the realtime Caddy module and PHP extension, serving the demo
# app from /app. See docs/docker.md.
#
#   docker build -t frankenphp-realtime .            (or: podman build --format docker ...)
#   docker run --rm -p 8080:8080 frankenphp-realtime
#   scripts/build-image.sh                           (no Docker daemon needed)
#
# The builder runs the project's own build (`make build`: scripts/build-php.sh
# then scripts/build-frankenphp.sh), so the image is built exactly like a
# developer's bin/frankenphp.

############################################################################
# Builder: PHP 8.4 ZTS+embed from Debian's source package, then the binary.
############################################################################
FROM debian:bookworm AS base

SHELL ["/bin/bash", "-o", "pipefail", "-c"]

# Where scripts/lib.sh keeps the PHP build and its downloads. The PHP prefix
# (/opt/realtime/php-<version>-<flagshash>) is compiled into libphp.so (ini
# and extension lookup) and into the binary's RUNPATH, so the final stage
# keeps this exact path.
ENV REALTIME_CACHE=/opt/realtime \
    DEBIAN_FRONTEND=noninteractive \
    GOPATH=/root/go \
    GOFLAGS=-buildvcs=false \
    GOTOOLCHAIN=auto

# Module proxy; override with --build-arg GOPROXY=... behind a mirror.
ARG GOPROXY=https://proxy.golang.org,direct
ENV GOPROXY=${GOPROXY}

# Go: bookworm's golang (1.19) is too old and predates toolchain switching;
# bookworm-backports' golang-go (1.23) reads go.mod's `go` line and, with
# GOTOOLCHAIN=auto, fetches that exact toolchain (golang.org/toolchain from
# the module proxy, checked against the checksum database). No tarball from
# go.dev is needed. The backports suite comes from the same mirror as the
# base image's own apt sources (scripts/debian-apt.sh mirror).
# apt settings of the machine that builds the image, for the builder's apt
# only (the runtime stage does not see them): scripts/build-image.sh passes
# the machine's Acquire::Check-Valid-Until / Check-Date (as apt.conf lines)
# when they differ from apt's defaults, e.g. on a mirror that serves an
# expired forky/sid Release file, which the machine's own apt is configured
# to accept. The builder's apt then accepts exactly what a developer build
# on that machine accepts. Empty (the default): apt's defaults.
ARG BUILD_APT_CONF=""
RUN if [ -n "$BUILD_APT_CONF" ]; then printf '%s\n' "$BUILD_APT_CONF" >/etc/apt/apt.conf.d/90build-machine; fi

WORKDIR /src
COPY scripts/lib.sh scripts/debian-apt.sh scripts/
RUN printf '%s\n' 'Types: deb' "URIs: $(scripts/debian-apt.sh mirror)" 'Suites: bookworm-backports' \
        'Components: main' 'Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg' \
        >/etc/apt/sources.list.d/bookworm-backports.sources \
 && apt-get update -qq \
 && apt-get install -y -qq --no-install-recommends -t bookworm-backports golang-go \
 && apt-get install -y -qq --no-install-recommends ca-certificates make binutils \
 && go version

# The Makefile's PHP_PREFERRED, read in a stage of its own: the PHP layer
# below depends on this one line (COPY --from is cached by content), not on
# the whole Makefile, which changes far more often than PHP does.
FROM base AS php-version
COPY Makefile ./
RUN make -s --eval 'print-php: ; @echo $(PHP_PREFERRED)' print-php >/php-preferred \
 && grep -qE '^[0-9]+\.[0-9]+\.[0-9]+-[0-9A-Za-z.+~]+$' /php-preferred

FROM base AS builder

# PHP first (~10 minutes on 2 cores), from the scripts `make php` runs
# (the source is resolved and verified by tools/phpsource): editing Go or
# PHP sources, other scripts or the Makefile does not rebuild it. This is
# exactly the Makefile's `php` target; `make build` below finds the prefix
# already built.
COPY --from=php-version /php-preferred /php-preferred
COPY go.mod go.sum ./
COPY tools/ tools/
COPY scripts/php-source.sh scripts/build-php.sh scripts/
RUN --mount=type=secret,id=ca_bundle \
    if [ -s /run/secrets/ca_bundle ]; then export SSL_CERT_FILE=/run/secrets/ca_bundle; fi; \
    scripts/build-php.sh "$(cat /php-preferred)" >/dev/null

# Go modules in their own layer.
#
# Behind a TLS-intercepting proxy, pass a CA bundle that trusts it as the
# build secret "ca_bundle" (docker build --secret
# id=ca_bundle,src=/etc/ssl/certs/ca-certificates.crt .); it is used for
# these downloads only and never lands in a layer. Without it the builder's
# own ca-certificates are used.
COPY go.mod go.sum ./
RUN --mount=type=secret,id=ca_bundle \
    if [ -s /run/secrets/ca_bundle ]; then export SSL_CERT_FILE=/run/secrets/ca_bundle; fi; \
    go mod download && go version

COPY . .
RUN --mount=type=secret,id=ca_bundle \
    if [ -s /run/secrets/ca_bundle ]; then export SSL_CERT_FILE=/run/secrets/ca_bundle; fi; \
    make build

# Stage the runtime tree under /out, laid out as it will be in the image: the
# PHP prefix at its compiled-in path (only libphp.so, the extensions and the
# ini files; no CLI, headers or build files), the binary, and the demo app.
RUN set -eux; \
    runpath=$(readelf -d bin/frankenphp | sed -n 's/.*(RUNPATH).*\[\(.*\)\]/\1/p'); \
    prefix=${runpath%/lib}; \
    test -f "$prefix/lib/libphp.so" -a -d "$prefix/etc"; \
    mkdir -p "/out$prefix/lib/php" /out/usr/local/bin; \
    cp -a "$prefix/etc" "/out$prefix/"; \
    cp -a "$prefix/lib/libphp.so" "/out$prefix/lib/"; \
    cp -a "$prefix/lib/php/extensions" "/out$prefix/lib/php/"; \
    strip --strip-unneeded "/out$prefix/lib/libphp.so" "/out$prefix"/lib/php/extensions/*/*.so; \
    ln -s "$prefix" /out/usr/local/php; \
    install -m 0755 bin/frankenphp /out/usr/local/bin/frankenphp; \
    strip /out/usr/local/bin/frankenphp; \
    cp -a php /out/app; \
    rm -f /out/app/var/secret.key /out/app/var/*.tmp

############################################################################
# Runtime
############################################################################
FROM debian:bookworm-slim

# The shared libraries libphp.so needs (readelf -d: NEEDED entries) and their
# packages (dpkg -S); libc6/libgcc-s1 are already in the base image.
RUN apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        ca-certificates libcurl4 libonig5 libsodium23 libsqlite3-0 libssl3 libxml2 libzip4 zlib1g \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/cache/apt/archives/*.deb /var/log/apt /var/log/dpkg.log \
 && groupadd --system --gid 10001 frankenphp \
 && useradd --uid 10001 --gid frankenphp --home-dir /data --no-create-home \
        --shell /usr/sbin/nologin frankenphp

COPY --from=builder /out/ /

# Fail the build, not the first request, if a library is missing or PHP
# cannot find its ini files and opcache at the compiled-in prefix.
RUN set -eux; \
    if ldd /usr/local/bin/frankenphp | grep 'not found'; then exit 1; fi; \
    frankenphp version; \
    frankenphp php-cli -r 'foreach (["Zend OPcache", "realtime", "curl", "mbstring", "openssl", "pdo_sqlite", "sodium", "zip"] as $e) { if (!extension_loaded($e)) { fwrite(STDERR, "extension $e is not loaded\n"); exit(1); } } echo "PHP ", PHP_VERSION, " ZTS, extensions ok\n";'; \
    mkdir -p /data /config; \
    chown frankenphp:frankenphp /data /config /app/var

# Caddy keeps its state (autosaved config, certificates, locks) under the
# XDG directories; mount volumes there to keep certificates across restarts.
ENV XDG_CONFIG_HOME=/config \
    XDG_DATA_HOME=/data \
    REALTIME_DEMO_ADDRESS=:8080 \
    REALTIME_DEMO_ROOT=/app/public

WORKDIR /app
USER frankenphp
EXPOSE 8080

CMD ["frankenphp", "run", "--config", "/app/Caddyfile", "--adapter", "caddyfile"]
