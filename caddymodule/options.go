package caddymodule

import (
	"fmt"
	"path"
	"reflect"
	goruntime "runtime"
	"sort"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"

	"github.com/frankenphp-realtime/realtime/internal/auth"
	"github.com/frankenphp-realtime/realtime/internal/hub"
	"github.com/frankenphp-realtime/realtime/internal/valkeyhub"
)

// Options are the realtime directive's settings (SPEC §2). Sizes are bytes,
// durations nanoseconds in JSON; the Caddyfile accepts "16KiB" and "25s".
type Options struct {
	Driver               string         `json:"driver,omitempty"`
	ValkeyAddress        string         `json:"valkey_address,omitempty"`
	Prefix               string         `json:"prefix,omitempty"`
	AuthEndpoint         string         `json:"auth_endpoint,omitempty"`
	AuthorizeEndpoint    string         `json:"authorize_endpoint,omitempty"`
	PresenceEndpoint     string         `json:"presence_endpoint,omitempty"`
	PresenceHookChannels []string       `json:"presence_hook_channels,omitempty"`
	AllowedOrigins       []string       `json:"allowed_origins,omitempty"`
	MaxFrameSize         int            `json:"max_frame_size,omitempty"`
	MaxMessageSize       int            `json:"max_message_size,omitempty"`
	MaxSubscriptions     int            `json:"max_subscriptions,omitempty"`
	MaxPendingBytes      int            `json:"max_pending_bytes,omitempty"`
	MaxConnections       int            `json:"max_connections,omitempty"`
	PingInterval         caddy.Duration `json:"ping_interval,omitempty"`
	AuthTimeout          caddy.Duration `json:"auth_timeout,omitempty"`
	PresenceTTL          caddy.Duration `json:"presence_ttl,omitempty"`
	PresenceGrace        caddy.Duration `json:"presence_grace,omitempty"`
	// EndpointSecret signs calls to http(s):// endpoints (X-Realtime-Signature).
	EndpointSecret string `json:"endpoint_secret,omitempty"`
	// EndpointConcurrency bounds concurrent in-process endpoint calls.
	EndpointConcurrency int `json:"endpoint_concurrency,omitempty"`
	// PusherApp enables the Pusher protocol and HTTP API for one app.
	PusherApp *PusherApp `json:"pusher_app,omitempty"`
	// PusherActivityTimeout is announced to Pusher clients; silence that
	// long gets a pusher:ping.
	PusherActivityTimeout caddy.Duration `json:"pusher_activity_timeout,omitempty"`
	// PusherClientEvents is "members" (default) or "off".
	PusherClientEvents string `json:"pusher_client_events,omitempty"`
}

// PusherApp is the one Pusher app of a process (SPEC §8).
type PusherApp struct {
	ID     string `json:"app_id"`
	Key    string `json:"key"`
	Secret string `json:"secret"`
}

// DefaultPusherActivityTimeout is what Reverb and Soketi announce.
const DefaultPusherActivityTimeout = 30 * time.Second

// backendKey identifies the pooled backend: the only options a reload
// cannot change without closing connections (SPEC §2).
func (o Options) backendKey() string {
	return strings.Join([]string{o.Driver, o.ValkeyAddress, o.Prefix}, "\x00")
}

// Defaults not already defined by the hub.
const (
	DefaultDriver        = "memory"
	DefaultValkeyAddress = "localhost:6379"
	DefaultPrefix        = "realtime"
	DefaultAuthEndpoint  = "/auth.php"
	DefaultPresenceTTL   = 30 * time.Second
	DefaultPresenceGrace = 3 * time.Second
)

// normalize fills defaults and canonical forms, so that two configurations
// meaning the same thing compare equal whatever their order or spelling.
func (o *Options) normalize() {
	o.Driver = strings.ToLower(o.Driver)
	if o.Driver == "" {
		o.Driver = DefaultDriver
	}
	if o.Driver == "redis" {
		o.Driver = "valkey"
	}
	if o.Driver == "memory" {
		o.ValkeyAddress, o.Prefix = "", ""
	} else {
		o.ValkeyAddress = orDefault(o.ValkeyAddress, DefaultValkeyAddress)
		o.Prefix = orDefault(o.Prefix, DefaultPrefix)
	}
	o.AuthEndpoint = orDefault(o.AuthEndpoint, DefaultAuthEndpoint)
	if len(o.PresenceHookChannels) == 0 {
		o.PresenceHookChannels = []string{"presence-*"}
	}
	o.PresenceHookChannels = sortedUnique(o.PresenceHookChannels)
	o.AllowedOrigins = sortedUnique(o.AllowedOrigins)
	setDefault(&o.MaxFrameSize, hub.DefaultMaxFrameSize)
	setDefault(&o.MaxMessageSize, hub.DefaultMaxMessageSize)
	setDefault(&o.MaxSubscriptions, hub.DefaultMaxSubscriptions)
	setDefault(&o.MaxPendingBytes, hub.DefaultMaxPendingBytes)
	setDefault(&o.PingInterval, caddy.Duration(hub.DefaultPingInterval))
	setDefault(&o.AuthTimeout, caddy.Duration(hub.DefaultAuthTimeout))
	setDefault(&o.PresenceTTL, caddy.Duration(DefaultPresenceTTL))
	setDefault(&o.PresenceGrace, caddy.Duration(DefaultPresenceGrace))
	if o.PusherApp != nil {
		setDefault(&o.PusherActivityTimeout, caddy.Duration(DefaultPusherActivityTimeout))
		o.PusherClientEvents = orDefault(strings.ToLower(o.PusherClientEvents), "members")
	}
	// FrankenPHP starts 2 PHP threads per CPU by default: endpoint calls
	// get half of them, pages keep the rest.
	setDefault(&o.EndpointConcurrency, max(1, goruntime.NumCPU()))
}

// validate checks values the Caddyfile parser could not, naming the option.
func (o *Options) validate() error {
	switch o.Driver {
	case "memory":
	case "valkey":
		if _, _, err := valkeyhub.ParseAddress(o.ValkeyAddress); err != nil {
			return fmt.Errorf("realtime: valkey_address: %v", err)
		}
		if time.Duration(o.PresenceTTL) < 300*time.Millisecond {
			return fmt.Errorf("realtime: presence_ttl must be at least 300ms")
		}
		if strings.ContainsAny(o.Prefix, " \t\r\n") {
			return fmt.Errorf("realtime: prefix %q must not contain white space", o.Prefix)
		}
	default:
		return fmt.Errorf("realtime: unknown driver %q: use memory or valkey", o.Driver)
	}
	for name, target := range map[string]string{
		"auth_endpoint": o.AuthEndpoint, "authorize_endpoint": o.AuthorizeEndpoint, "presence_endpoint": o.PresenceEndpoint,
	} {
		if target == "" && name != "auth_endpoint" {
			continue
		}
		if err := auth.ParseTarget(target); err != nil {
			return fmt.Errorf("realtime: %s: %v", name, err)
		}
	}
	for _, glob := range o.PresenceHookChannels {
		if _, err := path.Match(glob, ""); err != nil {
			return fmt.Errorf("realtime: presence_hook_channels: invalid glob %q", glob)
		}
	}
	for _, origin := range o.AllowedOrigins {
		if err := checkOrigin(origin); err != nil {
			return fmt.Errorf("realtime: allowed_origins: %v", err)
		}
	}
	if o.MaxConnections < 0 {
		return fmt.Errorf("realtime: max_connections must not be negative")
	}
	if p := o.PusherApp; p != nil {
		switch {
		case p.ID == "" || p.Key == "" || p.Secret == "":
			return fmt.Errorf("realtime: pusher_app needs an app id, a key and a secret")
		case strings.ContainsAny(p.ID+p.Key, "/ \t?#"):
			return fmt.Errorf("realtime: pusher_app: the app id and key must not contain '/', '?', '#' or white space")
		case strings.Contains(p.Key, ":"):
			return fmt.Errorf("realtime: pusher_app: the key must not contain ':' (Pusher's auth strings are key:signature)")
		case len(p.Secret) < 8:
			return fmt.Errorf("realtime: pusher_app: the secret must be at least 8 characters")
		}
		if o.PusherClientEvents != "members" && o.PusherClientEvents != "off" {
			return fmt.Errorf("realtime: unknown pusher_client_events %q: use members or off", o.PusherClientEvents)
		}
	}
	if auth.IsURL(o.PresenceEndpoint) && o.EndpointSecret == "" {
		return fmt.Errorf("realtime: presence_endpoint is a URL: set endpoint_secret, so that the endpoint can tell this server's calls (X-Realtime-Signature) from forged joins and leaves")
	}
	return nil
}

// firstDifference names the first option whose value differs, or "".
func (o Options) firstDifference(other Options) string {
	a, b := reflect.ValueOf(o), reflect.ValueOf(other)
	for i := 0; i < a.NumField(); i++ {
		if !reflect.DeepEqual(a.Field(i).Interface(), b.Field(i).Interface()) {
			return strings.Split(a.Type().Field(i).Tag.Get("json"), ",")[0]
		}
	}
	return ""
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

func setDefault[T int | caddy.Duration](v *T, def T) {
	if *v <= 0 {
		*v = def
	}
}

func sortedUnique(in []string) []string {
	seen := make(map[string]bool, len(in))
	out := make([]string, 0, len(in))
	for _, s := range in {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	sort.Strings(out)
	if len(out) == 0 {
		return nil
	}
	return out
}
