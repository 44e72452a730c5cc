package hub

import "sync"

// The PHP extension has no request context to find the hub through: it
// reaches the API registered here by the Caddy module.
//
// During a reload two hubs can be alive at once (the running one and the
// one a new configuration starts), and a configuration that fails to load
// tears its new hub down again. The registry is therefore a stack: the
// newest live hub is current, and removing it makes the previous one
// current again.
var registry struct {
	mu   sync.Mutex
	apis []API
}

// Register makes api the one PHP calls.
func Register(api API) {
	registry.mu.Lock()
	defer registry.mu.Unlock()
	registry.apis = append(registry.apis, api)
}

// Unregister removes api; the most recently registered API still alive
// becomes current.
func Unregister(api API) {
	registry.mu.Lock()
	defer registry.mu.Unlock()
	for i := len(registry.apis) - 1; i >= 0; i-- {
		if registry.apis[i] == api {
			registry.apis = append(registry.apis[:i], registry.apis[i+1:]...)
			return
		}
	}
}

// Current returns the registered API, or nil when no hub is running.
func Current() API {
	registry.mu.Lock()
	defer registry.mu.Unlock()
	if n := len(registry.apis); n > 0 {
		return registry.apis[n-1]
	}
	return nil
}
