// Command frankenphp is FrankenPHP with the realtime module and extension
// built in: the standard Caddy modules, FrankenPHP (Mercure included), the
// realtime Caddy module, and the realtime PHP extension.
package main

import (
	caddycmd "github.com/caddyserver/caddy/v2/cmd"
	_ "github.com/caddyserver/caddy/v2/modules/standard"
	_ "github.com/dunglas/frankenphp/caddy"

	_ "github.com/frankenphp-realtime/realtime/caddymodule"
)

func main() {
	caddycmd.Main()
}
