//go:build !realtime_bootstrap

package main

// The bootstrap build (tag realtime_bootstrap) leaves the extension out: it
// is the binary that runs `extension-init` to generate the extension's glue.
import _ "github.com/frankenphp-realtime/realtime/ext"
