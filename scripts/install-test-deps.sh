#!/usr/bin/env bash
# Installs what the test suites need and the machine lacks. Idempotent and
# quick when everything is present.
source "$(dirname "$0")/lib.sh"

"$(dirname "$0")/install-phpunit.sh"
"$(dirname "$0")/install-valkey.sh"
# composer validate --strict (tests/Unit/ComposerJsonTest.php) and the
# Laravel app of the Laravel Integration tests (tests/laravel-app).
"$(dirname "$0")/install-composer.sh"
"$(dirname "$0")/install-laravel.sh"
