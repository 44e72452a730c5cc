// Package bridge holds the process-wide state that connects the Caddy
// module to the PHP extension, and nothing else: the PHP functions run on
// PHP threads with no request context, so they find the hub, and tell the
// module's own endpoint calls from other requests, through here. Keeping
// it in one small package keeps every other package free of globals.
package bridge

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"sync"
	"sync/atomic"

	"github.com/frankenphp-realtime/realtime/internal/hub"
)

// The hub API PHP calls. During a reload two hubs can be alive at once (the
// running one and the one a new configuration starts), and a configuration
// that fails to load tears its new hub down again. The registry is
// therefore a stack: the newest live hub is current, and removing it makes
// the previous one current again.
var registry struct {
	mu      sync.Mutex
	apis    []hub.API
	current atomic.Pointer[hub.API] // the top of apis: read on every PHP call
}

// Register makes api the one PHP calls.
func Register(api hub.API) {
	registry.mu.Lock()
	defer registry.mu.Unlock()
	registry.apis = append(registry.apis, api)
	registry.current.Store(&api)
}

// Unregister removes api; the most recently registered API still alive
// becomes current.
func Unregister(api hub.API) {
	registry.mu.Lock()
	defer registry.mu.Unlock()
	for i := len(registry.apis) - 1; i >= 0; i-- {
		if registry.apis[i] == api {
			registry.apis = append(registry.apis[:i], registry.apis[i+1:]...)
			break
		}
	}
	if n := len(registry.apis); n > 0 {
		top := registry.apis[n-1] // a copy: the slice is shifted in place
		registry.current.Store(&top)
	} else {
		registry.current.Store(nil)
	}
}

// Current returns the registered API, or nil when no hub runs in this
// process (php-cli).
func Current() hub.API {
	if p := registry.current.Load(); p != nil {
		return *p
	}
	return nil
}

var configHooks struct {
	mu    sync.Mutex
	hooks []func() error
}

// OnConfigLoad registers f to run whenever Caddy loads a configuration that
// has a realtime route, before FrankenPHP (re)starts PHP for it. An error
// fails the configuration.
func OnConfigLoad(f func() error) {
	configHooks.mu.Lock()
	defer configHooks.mu.Unlock()
	configHooks.hooks = append(configHooks.hooks, f)
}

// ConfigLoading runs the OnConfigLoad functions.
func ConfigLoading() error {
	configHooks.mu.Lock()
	defer configHooks.mu.Unlock()
	for _, f := range configHooks.hooks {
		if err := f(); err != nil {
			return err
		}
	}
	return nil
}

// InternalHeader carries the token of an in-process endpoint call.
const InternalHeader = "X-Realtime-Internal"

// Live tokens of the module's in-process endpoint calls. Each call gets a
// fresh random token, valid only while the call runs: a token that leaks
// (an error page that prints the request's headers) is worthless once the
// call is over, and an outside request cannot guess one.
var internal struct {
	mu     sync.Mutex
	tokens map[string]struct{}
}

// BeginInternalCall returns a token for the header of one in-process call
// and the function that ends its validity.
func BeginInternalCall() (token string, end func()) {
	var b [24]byte
	_, _ = rand.Read(b[:])
	token = hex.EncodeToString(b[:])
	internal.mu.Lock()
	if internal.tokens == nil {
		internal.tokens = make(map[string]struct{})
	}
	internal.tokens[token] = struct{}{}
	internal.mu.Unlock()
	return token, func() {
		internal.mu.Lock()
		delete(internal.tokens, token)
		internal.mu.Unlock()
	}
}

// IsInternalCall reports whether token belongs to an in-process call in
// progress (realtime_is_internal_request()).
func IsInternalCall(token string) bool {
	if len(token) != 48 {
		return false
	}
	internal.mu.Lock()
	defer internal.mu.Unlock()
	for t := range internal.tokens {
		// Constant time per comparison; the map size leaks nothing useful.
		if subtle.ConstantTimeCompare([]byte(t), []byte(token)) == 1 {
			return true
		}
	}
	return false
}

// phpStarted is set once a configuration has started PHP in this process.
var phpStarted atomic.Bool

// MarkPHPStarted records that PHP has started (Caddy's "started" event).
func MarkPHPStarted() { phpStarted.Store(true) }

// PHPStartedBefore reports whether PHP has started in this process, i.e.
// whether a configuration load is a reload.
func PHPStartedBefore() bool { return phpStarted.Load() }
