// Command frankenphp is FrankenPHP with the realtime module and extension
// built in: the standard Caddy modules, FrankenPHP (Mercure included), the
// realtime Caddy module, and the realtime PHP extension.
package main

import (
	"fmt"
	"runtime/debug"

	"github.com/caddyserver/caddy/v2"
	caddycmd "github.com/caddyserver/caddy/v2/cmd"
	_ "github.com/caddyserver/caddy/v2/modules/standard"
	"github.com/dunglas/frankenphp"
	_ "github.com/dunglas/frankenphp/caddy"

	_ "github.com/frankenphp-realtime/realtime/caddymodule"
)

// phpSource is the Debian source version of the PHP this binary links
// (e.g. 8.4.24-1~deb13u1), set by scripts/build-frankenphp.sh.
var phpSource = "unknown"

func main() {
	// `frankenphp version` (and the admin API's build info) print this line.
	caddy.CustomVersion = versionLine()
	caddycmd.Main()
}

// versionLine names every component a bug report needs; Caddy appends its
// own version: FrankenPHP v1.12.2 PHP 8.4.24 (Debian source
// 8.4.24-1~deb13u1) realtime (devel) Caddy v2.11.9 h1:...
func versionLine() string {
	mods := map[string]string{}
	realtime := "(devel)"
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			mods[d.Path] = d.Version
		}
		if bi.Main.Version != "" {
			realtime = bi.Main.Version
		}
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				realtime += " " + s.Value[:12]
			}
		}
	}
	return fmt.Sprintf("FrankenPHP %s PHP %s (Debian source %s) realtime %s Caddy",
		mods["github.com/dunglas/frankenphp"], frankenphp.Version().Version, phpSource, realtime)
}
