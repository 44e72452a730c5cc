// Package caddymodule is the thin Caddy adapter of the realtime hub: the
// `realtime` HTTP handler that authenticates and upgrades WebSocket
// handshakes, and the `realtime` app that shares one hub between every
// handler of a configuration and across reloads.
//
// What lives where:
//   - the backend (broker, presence, cache, hook delivery, endpoint gate)
//     is pooled across reloads under its own options (driver,
//     valkey_address, prefix): a reload that keeps them keeps every
//     connection (SPEC §2), like Mercure's module pools only its transport;
//   - everything else is the configuration's runtime, swapped into the hub
//     in one step when the configuration starts.
package caddymodule

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyevents"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/frankenphp-realtime/realtime/internal/bridge"
)

func init() {
	caddy.RegisterModule(new(App))
}

// backends keeps backends alive across config reloads.
var backends = caddy.NewUsagePool()

// shutdownTimeout bounds how long closing connections may take.
const shutdownTimeout = 10 * time.Second

// phpStartWait bounds how long a new connection waits for PHP to start.
const phpStartWait = 30 * time.Second

// App is the per-configuration owner of the shared backend. It is
// instantiated on demand by the first realtime handler; it is not
// configured directly.
type App struct {
	ctx    caddy.Context
	logger *slog.Logger

	mu      sync.Mutex
	options *Options
	runtime *runtime
	key     string
	shared  *sharedHub
	guarded map[*caddyhttp.Server]bool

	// phpReady is closed when this configuration has started, FrankenPHP's
	// PHP threads included: Caddy may start its HTTP listeners before
	// FrankenPHP, and a request dispatched into PHP in between waits
	// forever (php/frankenphp#2612, fixed after v1.12.7).
	phpReady chan struct{}
	// cancelled is closed when this configuration is unloaded.
	cancelled chan struct{}

	// previous is the runtime Start replaced, restored by Stop when this
	// configuration fails to start after all.
	previous *runtime
	registry prometheus.Registerer
}

var (
	_ caddy.App          = (*App)(nil)
	_ caddy.Provisioner  = (*App)(nil)
	_ caddy.CleanerUpper = (*App)(nil)
)

// CaddyModule returns the Caddy module information.
func (*App) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{ID: "realtime", New: func() caddy.Module { return new(App) }}
}

func (a *App) Provision(ctx caddy.Context) error {
	a.ctx = ctx
	a.logger = ctx.Slogger()
	a.phpReady = make(chan struct{})
	a.cancelled = make(chan struct{})
	a.guarded = make(map[*caddyhttp.Server]bool)
	// Before FrankenPHP restarts PHP for this configuration.
	if err := bridge.ConfigLoading(); err != nil {
		return fmt.Errorf("realtime: %w", err)
	}
	events, err := ctx.App("events")
	if err != nil {
		return err
	}
	ev := events.(*caddyevents.App)
	if err := ev.On("started", eventFunc(func() { a.started() })); err != nil {
		return err
	}
	if err := ev.On("stopping", eventFunc(func() {
		if caddy.Exiting() && a.shared != nil {
			a.shared.shutdown()
		}
	})); err != nil {
		return err
	}
	if reg := ctx.GetMetricsRegistry(); reg != nil {
		a.registry = reg
	}
	return nil
}

// started runs on Caddy's "started" event: every app of this configuration
// started, FrankenPHP's PHP threads included.
func (a *App) started() {
	bridge.MarkPHPStarted()
	select {
	case <-a.phpReady:
	default:
		close(a.phpReady)
	}
}

// errUnloaded is waitPHP's answer once this configuration was unloaded (a
// reload replaced it): a handshake still reaching it is refused, and the
// client's retry reaches the new one.
var errUnloaded = errors.New("realtime: configuration unloaded")

// waitPHPFor is waitPHP bounded by d. Once PHP is up, which is every
// handshake but the first few, it returns without arming a timer.
func (a *App) waitPHPFor(ctx context.Context, d time.Duration) error {
	select {
	case <-a.phpReady:
		return a.waitPHP(ctx)
	default:
	}
	wait, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	return a.waitPHP(wait)
}

// waitPHP waits until PHP can take requests, at most until ctx ends or the
// configuration is unloaded.
func (a *App) waitPHP(ctx context.Context) error {
	select {
	case <-a.cancelled:
		return errUnloaded
	default:
	}
	select {
	case <-a.phpReady:
		return nil
	case <-a.cancelled:
		return errUnloaded
	case <-ctx.Done():
		return fmt.Errorf("realtime: PHP has not started yet: %w", ctx.Err())
	}
}

// guardServer holds srv's new connections until PHP is up, so that no
// request, page or handshake, reaches FrankenPHP before its threads exist
// (the upstream bug above). ConnContext runs in the server's accept loop:
// blocking it is "not serving yet", and the kernel keeps the connections
// queued meanwhile.
func (a *App) guardServer(srv *caddyhttp.Server) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.guarded[srv] {
		return
	}
	a.guarded[srv] = true
	srv.RegisterConnContext(func(ctx context.Context, _ net.Conn) context.Context {
		select {
		case <-a.phpReady:
		default:
			wait, cancel := context.WithTimeout(context.Background(), phpStartWait)
			_ = a.waitPHP(wait)
			cancel()
		}
		return ctx
	})
}

// onlyRealtimeServer returns the server with a realtime route when the
// configuration has exactly one.
func (a *App) onlyRealtimeServer() *caddyhttp.Server {
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.guarded) != 1 {
		return nil
	}
	for srv := range a.guarded {
		return srv
	}
	return nil
}

// Start makes this configuration's runtime the hub's.
func (a *App) Start() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.shared != nil {
		a.previous = a.shared.swap(a.runtime)
	}
	return nil
}

// Stop restores the previous runtime when this configuration is stopped
// while still current: it failed to start after all, and the previous
// configuration keeps running.
func (a *App) Stop() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.shared != nil && a.previous != nil {
		a.shared.restore(a.runtime, a.previous)
	}
	return nil
}

// Cleanup releases this configuration's hold on the backend; the hub shuts
// down when no configuration holds it any more.
func (a *App) Cleanup() error {
	close(a.cancelled)
	if a.key == "" {
		return nil
	}
	_, err := backends.Delete(a.key)
	return err
}

// acquire returns the shared hub for opts, creating it or reusing the one
// a previous configuration started with the same backend options.
func (a *App) acquire(opts Options) (*sharedHub, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.options != nil {
		if diff := a.options.firstDifference(opts); diff != "" {
			return nil, fmt.Errorf("realtime: option %s differs between two realtime handlers; all handlers share one hub and must be configured alike", diff)
		}
		return a.shared, nil
	}
	rt, err := newRuntime(opts, a)
	if err != nil {
		return nil, err
	}
	key := opts.backendKey()
	val, _, err := backends.LoadOrNew(key, func() (caddy.Destructor, error) {
		return newSharedHub(opts, rt, a.logger)
	})
	if err != nil {
		return nil, err
	}
	shared := val.(*sharedHub)
	if err := shared.metrics.register(a.registry); err != nil {
		_, _ = backends.Delete(key)
		return nil, fmt.Errorf("realtime: registering metrics: %w", err)
	}
	a.options, a.runtime, a.key, a.shared = &opts, rt, key, shared
	return shared, nil
}

// eventFunc adapts a function to a Caddy event handler.
type eventFunc func()

func (f eventFunc) Handle(context.Context, caddy.Event) error {
	f()
	return nil
}
