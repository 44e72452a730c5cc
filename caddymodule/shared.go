package caddymodule

import (
	"context"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/frankenphp-realtime/realtime/internal/auth"
	"github.com/frankenphp-realtime/realtime/internal/bridge"
	"github.com/frankenphp-realtime/realtime/internal/hub"
	"github.com/frankenphp-realtime/realtime/internal/native"
	"github.com/frankenphp-realtime/realtime/internal/pusher"
	"github.com/frankenphp-realtime/realtime/internal/valkeyhub"
)

// sharedHub is the pooled backend: a running hub, the presence hook's
// delivery queue, and the current configuration's runtime.
type sharedHub struct {
	hub    *hub.Hub
	pusher *pusher.Adapter
	hook   *auth.Hook
	logger *slog.Logger

	current atomic.Pointer[runtime]
	// presence is the Valkey presence store (nil for memory), whose TTL a
	// reload may change.
	presence interface{ SetTTL(time.Duration) error }

	authDuration prometheus.Histogram
	metrics      *metrics
	refusals     *refusalLog
}

func newSharedHub(opts Options, rt *runtime, logger *slog.Logger) (*sharedHub, error) {
	s := &sharedHub{logger: logger, authDuration: newAuthHistogram(), refusals: newRefusalLog(logger)}
	s.current.Store(rt)
	broker, presence, cache, err := newBackend(opts, logger)
	if err != nil {
		return nil, err
	}
	s.presence, _ = presence.(interface{ SetTTL(time.Duration) error })
	s.hook = auth.NewHook(func() (*auth.Endpoint, time.Duration) {
		r := s.current.Load()
		return r.presenceEndpoint, r.authTimeout
	}, logger)
	h, err := hub.New(hub.Backend{Broker: broker, Presence: presence, Cache: cache, Hook: s.hook, Logger: logger}, rt.settings)
	if err != nil {
		s.hook.Close()
		_ = presence.Close()
		_ = broker.Close()
		return nil, fmt.Errorf("realtime: starting hub: %w", err)
	}
	s.hub = h
	s.pusher = pusher.NewAdapter(h, func() pusher.Config { return s.current.Load().pusher }, logger)
	s.metrics = newMetrics(s)
	bridge.Register(h)
	return s, nil
}

// newBackend builds the driver's broker, presence store and cache. Valkey
// being down is not an error: the hub serves local traffic and the broker
// reconnects in the background.
func newBackend(opts Options, logger *slog.Logger) (hub.Broker, hub.Presence, hub.Cache, error) {
	if opts.Driver != "valkey" {
		return hub.NewMemoryBroker(), hub.NewMemoryPresence(), hub.NewMemoryCache(), nil
	}
	broker, err := valkeyhub.NewBroker(opts.ValkeyAddress, opts.Prefix, logger)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("realtime: valkey_address: %w", err)
	}
	presence, err := valkeyhub.NewPresence(opts.ValkeyAddress, opts.Prefix, time.Duration(opts.PresenceTTL), logger)
	if err != nil {
		_ = broker.Close()
		return nil, nil, nil, fmt.Errorf("realtime: valkey_address: %w", err)
	}
	return broker, presence, broker.Cache(), nil
}

// swap makes rt the runtime and returns the previous one.
func (s *sharedHub) swap(rt *runtime) *runtime {
	prev := s.current.Swap(rt)
	s.apply(rt)
	return prev
}

// restore puts prev back if rt is still current.
func (s *sharedHub) restore(rt, prev *runtime) {
	if s.current.CompareAndSwap(rt, prev) {
		s.apply(prev)
	}
}

// apply hands a runtime's values to the parts that keep their own copy.
func (s *sharedHub) apply(rt *runtime) {
	s.hub.Configure(rt.settings)
	if s.presence != nil {
		_ = s.presence.SetTTL(rt.presenceTTL) // validated with the options
	}
}

// Destruct runs when the last configuration using this backend is
// unloaded: shutdown, or a reload that changed the backend.
func (s *sharedHub) Destruct() error {
	bridge.Unregister(s.hub)
	err := s.shutdown()
	s.pusher.Close()
	s.hook.Close()
	return err
}

// shutdown closes every connection, announces the leaves of this node's
// memberships and waits, bounded, for their hooks to be delivered.
// Idempotent: Destruct calls it again after a process-exit shutdown.
func (s *sharedHub) shutdown() error {
	ctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	err := s.hub.Shutdown(ctx)
	if !s.hook.Drain(ctx) {
		s.logger.Warn("realtime: presence hooks still pending at shutdown were abandoned")
	}
	return err
}

// nativeConfig is what native connections read at each request.
func (s *sharedHub) nativeConfig() native.Config {
	cfg := s.current.Load().native
	cfg.Hint = s.refusals.hintFor
	return cfg
}
