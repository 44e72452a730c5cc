#!/usr/bin/env bash
# Runs `npm ci` in a test directory when its node_modules is missing or its
# package-lock.json changed (see npm_ci_once in lib.sh). Node.js itself
# comes with scripts/install-browser.sh.
#
# usage: scripts/npm-ci-once.sh DIR
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
npm_ci_once "$(realpath "${1:?usage: npm-ci-once.sh DIR}")"
