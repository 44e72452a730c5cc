// Package caddymodule is the thin Caddy adapter of the realtime hub: the
// `realtime` HTTP handler that authenticates and upgrades WebSocket
// handshakes, and the `realtime` app that shares one hub between every
// handler of a configuration and across reloads.
package caddymodule

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"path"
	"sync"
	"sync/atomic"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyevents"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/frankenphp-realtime/realtime/internal/auth"
	"github.com/frankenphp-realtime/realtime/internal/hub"
	"github.com/frankenphp-realtime/realtime/internal/phpext"
	"github.com/frankenphp-realtime/realtime/internal/valkeyhub"
)

func init() {
	caddy.RegisterModule(new(App))
}

// hubs keeps hubs alive across config reloads: a reload whose realtime
// options are unchanged finds the running hub under the same key, so no
// connection is dropped.
var hubs = caddy.NewUsagePool()

// shutdownTimeout bounds how long closing connections may take.
const shutdownTimeout = 10 * time.Second

// App is the per-configuration owner of the shared hub. It is instantiated
// on demand by the first realtime handler; it is not configured directly.
type App struct {
	mu      sync.Mutex
	options *Options
	key     string
	shared  *sharedHub
	logger  *slog.Logger
	// registry is this configuration's Prometheus registry.
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
	// Before FrankenPHP restarts PHP for this configuration.
	phpext.ConfigLoading()
	a.logger = ctx.Slogger()
	events, err := ctx.App("events")
	if err != nil {
		return err
	}
	if err := events.(*caddyevents.App).On("stopping", stoppingHandler{a}); err != nil {
		return err
	}
	if reg := ctx.GetMetricsRegistry(); reg != nil {
		a.registry = reg
	}
	return nil
}

func (a *App) Start() error { return nil }
func (a *App) Stop() error  { return nil }

// Cleanup releases this configuration's hold on the hub; the hub shuts down
// when no configuration holds it any more.
func (a *App) Cleanup() error {
	if a.key == "" {
		return nil
	}
	_, err := hubs.Delete(a.key)
	return err
}

// acquire returns the hub for opts, creating it or reusing the one a
// previous configuration started with the same options.
func (a *App) acquire(opts Options) (*sharedHub, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.options != nil {
		if diff := a.options.firstDifference(opts); diff != "" {
			return nil, fmt.Errorf("realtime: option %s differs between two realtime handlers; all handlers share one hub and must be configured alike", diff)
		}
		return a.shared, nil
	}
	keyJSON, err := json.Marshal(opts)
	if err != nil {
		return nil, err
	}
	key := string(keyJSON)
	val, _, err := hubs.LoadOrNew(key, func() (caddy.Destructor, error) {
		return newSharedHub(opts, a.logger)
	})
	if err != nil {
		return nil, err
	}
	shared := val.(*sharedHub)
	if err := shared.metrics.register(a.registry); err != nil {
		_, _ = hubs.Delete(key)
		return nil, fmt.Errorf("realtime: registering metrics: %w", err)
	}
	a.options, a.key, a.shared = &opts, key, shared
	return a.shared, nil
}

// stoppingHandler shuts the hub down when the process exits, from Caddy's
// "stopping" event: it fires before any app stops, while FrankenPHP still
// runs PHP, so that presence hooks for the leaves this node announces can
// still reach an in-process endpoint. Reloads also emit "stopping"; they
// are left to the UsagePool.
type stoppingHandler struct{ app *App }

func (s stoppingHandler) Handle(context.Context, caddy.Event) error {
	if caddy.Exiting() && s.app.shared != nil {
		s.app.shared.shutdown()
	}
	return nil
}

// sharedHub is a running hub and the endpoint clients built for it.
type sharedHub struct {
	hub    *hub.Hub
	authn  *auth.Authenticator
	hook   *auth.Hook // nil without presence_endpoint
	logger *slog.Logger

	authDuration prometheus.Histogram
	metrics      *metrics
	// server is the Caddy server that last routed a request to a realtime
	// handler: endpoints given as a path run through it in-process.
	server atomic.Pointer[caddyhttp.Server]
	// host is that request's Host, for in-process calls made outside any
	// request (presence hooks), so that they reach the same site.
	host atomic.Pointer[string]
}

func newSharedHub(opts Options, logger *slog.Logger) (*sharedHub, error) {
	s := &sharedHub{logger: logger, authDuration: newAuthHistogram()}
	local := http.HandlerFunc(s.serveLocal)
	s.authn = &auth.Authenticator{
		Endpoint: auth.Endpoint{Target: opts.AuthEndpoint, Local: local},
		Timeout:  time.Duration(opts.AuthTimeout),
	}
	var authorizer hub.Authorizer
	if opts.AuthorizeEndpoint != "" {
		authorizer = &auth.Authorizer{
			Endpoint: auth.Endpoint{Target: opts.AuthorizeEndpoint, Local: local},
			Timeout:  time.Duration(opts.AuthTimeout),
		}
	}
	broker, presence, err := newBackend(opts, logger)
	if err != nil {
		return nil, err
	}
	// hook stays a nil interface without an endpoint (not a typed nil).
	var hook hub.PresenceHook
	if opts.PresenceEndpoint != "" {
		s.hook = auth.NewHook(auth.Endpoint{Target: opts.PresenceEndpoint, Local: local}, time.Duration(opts.AuthTimeout), logger)
		hook = s.hook
	}
	h, err := hub.New(hub.Config{
		Broker:           broker,
		Presence:         presence,
		Authorizer:       authorizer,
		PresenceHook:     hook,
		HookChannels:     globMatcher(opts.PresenceHookChannels),
		PresenceGrace:    time.Duration(opts.PresenceGrace),
		MaxFrameSize:     opts.MaxFrameSize,
		MaxMessageSize:   opts.MaxMessageSize,
		MaxSubscriptions: opts.MaxSubscriptions,
		MaxPendingBytes:  opts.MaxPendingBytes,
		MaxConnections:   opts.MaxConnections,
		PingInterval:     time.Duration(opts.PingInterval),
		AuthTimeout:      time.Duration(opts.AuthTimeout),
		Logger:           logger,
	})
	if err != nil {
		if s.hook != nil {
			s.hook.Close()
		}
		_ = presence.Close()
		_ = broker.Close()
		return nil, fmt.Errorf("realtime: starting hub: %w", err)
	}
	s.hub = h
	s.metrics = newMetrics(s)
	hub.Register(h)
	return s, nil
}

// newBackend builds the driver's broker and presence store. Valkey being
// down is not an error: the hub serves local traffic and the broker
// reconnects in the background.
func newBackend(opts Options, logger *slog.Logger) (hub.Broker, hub.Presence, error) {
	if opts.Driver != "valkey" {
		return hub.NewMemoryBroker(), hub.NewMemoryPresence(), nil
	}
	broker, err := valkeyhub.NewBroker(opts.ValkeyAddress, opts.Prefix, logger)
	if err != nil {
		return nil, nil, fmt.Errorf("realtime: valkey_address: %w", err)
	}
	presence, err := valkeyhub.NewPresence(opts.ValkeyAddress, opts.Prefix, time.Duration(opts.PresenceTTL), logger)
	if err != nil {
		_ = broker.Close()
		return nil, nil, fmt.Errorf("realtime: valkey_address: %w", err)
	}
	return broker, presence, nil
}

// Destruct runs when the last configuration using this hub is unloaded:
// shutdown or a reload that changed the realtime options.
func (s *sharedHub) Destruct() error {
	hub.Unregister(s.hub)
	err := s.shutdown()
	if s.hook != nil {
		s.hook.Close()
	}
	return err
}

// shutdown closes every connection (1001), announces the leaves of this
// node's memberships and waits, bounded, for their hooks to be delivered.
// Idempotent: Destruct calls it again after a process-exit shutdown.
func (s *sharedHub) shutdown() error {
	ctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	err := s.hub.Shutdown(ctx, hub.CloseGoingAway, "server shutting down")
	if s.hook != nil && !s.hook.Drain(ctx) {
		s.logger.Warn("realtime: presence hooks still pending at shutdown were abandoned")
	}
	return err
}

func (s *sharedHub) noteServer(r *http.Request) {
	if srv, ok := r.Context().Value(caddyhttp.ServerCtxKey).(*caddyhttp.Server); ok && s.server.Load() != srv {
		s.server.Store(srv)
	}
	if h := s.host.Load(); h == nil || *h != r.Host {
		host := r.Host
		s.host.Store(&host)
	}
}

func (s *sharedHub) serveLocal(w http.ResponseWriter, r *http.Request) {
	srv := s.server.Load()
	if srv == nil {
		http.Error(w, "realtime: no server to run the endpoint in-process", http.StatusServiceUnavailable)
		return
	}
	if r.Host == "" {
		if h := s.host.Load(); h != nil {
			r.Host = *h
		}
	}
	srv.ServeHTTP(w, r)
}

// globMatcher matches channel names against presence_hook_channels globs.
func globMatcher(globs []string) func(string) bool {
	return func(channel string) bool {
		for _, g := range globs {
			if ok, _ := path.Match(g, channel); ok {
				return true
			}
		}
		return false
	}
}
