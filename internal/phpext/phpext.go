// Package phpext connects the Caddy module to the cgo extension package
// without importing it, so that the module and the hub build and test
// without PHP headers.
package phpext

import "sync"

var (
	mu    sync.Mutex
	hooks []func()
)

// OnConfigLoad registers f to run whenever Caddy loads a configuration that
// has a realtime route, before FrankenPHP (re)starts PHP for it.
func OnConfigLoad(f func()) {
	mu.Lock()
	defer mu.Unlock()
	hooks = append(hooks, f)
}

// ConfigLoading runs the OnConfigLoad functions.
func ConfigLoading() {
	mu.Lock()
	defer mu.Unlock()
	for _, f := range hooks {
		f()
	}
}
