package hub

import "sync/atomic"

// The PHP extension has no request context to find the hub through: it
// reaches the API registered here by the Caddy module (or by php-cli's
// Valkey client).
var current atomic.Pointer[apiHolder]

type apiHolder struct{ api API }

// Register makes api the one PHP calls.
func Register(api API) { current.Store(&apiHolder{api}) }

// Unregister removes api if it is still the registered one, so that a hub
// being torn down after its replacement registered does not remove it.
func Unregister(api API) {
	if h := current.Load(); h != nil && h.api == api {
		current.CompareAndSwap(h, nil)
	}
}

// Current returns the registered API, or nil when no hub is running.
func Current() API {
	if h := current.Load(); h != nil {
		return h.api
	}
	return nil
}
