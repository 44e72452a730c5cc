package caddymodule

import (
	"context"
	"fmt"
	"net/http"
	"path"
	"time"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/frankenphp-realtime/realtime/internal/auth"
	"github.com/frankenphp-realtime/realtime/internal/hub"
	"github.com/frankenphp-realtime/realtime/internal/native"
	"github.com/frankenphp-realtime/realtime/internal/pusher"
)

// runtime is one configuration's part of the hub: swapped in one step on
// reload (App.Start), read by every operation that follows.
type runtime struct {
	settings         hub.Settings
	authn            *auth.Authenticator
	native           native.Config
	presenceEndpoint *auth.Endpoint // nil without presence_endpoint
	authTimeout      time.Duration
	presenceTTL      time.Duration
	pusher           pusher.Config // zero App.ID: the Pusher protocol is off
}

// gateWait is how long an in-process endpoint call waits for a free slot
// before the handshake gets 503 with Retry-After.
const gateWait = time.Second

func newRuntime(o Options, a *App) (*runtime, error) {
	local := &localSites{app: a}
	gate := auth.NewGate(o.EndpointConcurrency, min(gateWait, time.Duration(o.AuthTimeout)))
	endpoint := func(target string) *auth.Endpoint {
		return &auth.Endpoint{Target: target, Local: local, Gate: gate, Secret: o.EndpointSecret}
	}
	rt := &runtime{
		settings: hub.Settings{
			MaxFrameSize:     o.MaxFrameSize,
			MaxMessageSize:   o.MaxMessageSize,
			MaxSubscriptions: o.MaxSubscriptions,
			MaxPendingBytes:  o.MaxPendingBytes,
			MaxConnections:   o.MaxConnections,
			PingInterval:     time.Duration(o.PingInterval),
			PresenceGrace:    time.Duration(o.PresenceGrace),
			HookChannels:     globMatcher(o.PresenceHookChannels),
		},
		authn:       &auth.Authenticator{Endpoint: *endpoint(o.AuthEndpoint), Timeout: time.Duration(o.AuthTimeout)},
		authTimeout: time.Duration(o.AuthTimeout),
		presenceTTL: time.Duration(o.PresenceTTL),
		native:      native.Config{AuthTimeout: time.Duration(o.AuthTimeout), MaxFrameSize: o.MaxFrameSize},
	}
	if o.AuthorizeEndpoint != "" {
		rt.native.Authorizer = &auth.Authorizer{Endpoint: *endpoint(o.AuthorizeEndpoint)}
	}
	if o.PresenceEndpoint != "" {
		rt.presenceEndpoint = endpoint(o.PresenceEndpoint)
	}
	if p := o.PusherApp; p != nil {
		rt.pusher = pusher.Config{
			App:             pusher.App{ID: p.ID, Credentials: pusher.Credentials{Key: p.Key, Secret: p.Secret}},
			ActivityTimeout: time.Duration(o.PusherActivityTimeout),
			ClientEvents:    o.PusherClientEvents != "off",
			MaxFrameSize:    o.MaxFrameSize,
		}
		// Pusher's cache-* channels remember their last event.
		rt.settings.CacheChannels = func(ch string) bool { return pusher.KindOf(ch).IsCache() }
	}
	return rt, nil
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

// localSites runs in-process endpoint calls through a server of the
// configuration, chosen by the connection's site (SPEC §2: never another
// site of the same process), once PHP has started.
type localSites struct{ app *App }

var _ auth.Local = (*localSites)(nil)

func (l *localSites) ServeLocal(ctx context.Context, site auth.Site, w http.ResponseWriter, r *http.Request) error {
	if err := l.app.waitPHP(ctx); err != nil {
		return err
	}
	v, err := l.app.ctx.AppIfConfigured("http")
	if err != nil {
		return fmt.Errorf("no HTTP app to run %s in: %w", r.URL.Path, err)
	}
	var srv *caddyhttp.Server
	for _, s := range v.(*caddyhttp.App).Servers {
		if serverKey(s) == site.Server {
			srv = s
			break
		}
	}
	if srv == nil && site.Remote {
		// Another node's site (a crashed node's memberships, swept here):
		// nodes of one cluster share their configuration, so their sites
		// listen alike; when they do not (several nodes on one machine),
		// the one server with a realtime route is unambiguous.
		srv = l.app.onlyRealtimeServer()
	}
	if srv == nil {
		// A connection of this node whose site a reload removed: its calls
		// fail (authorize: internal) rather than run on another site.
		return fmt.Errorf("the server listening on %q that accepted this connection is not in the current configuration", site.Server)
	}
	r.Host = site.Host
	srv.ServeHTTP(w, r)
	return nil
}
