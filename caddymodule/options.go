package caddymodule

import (
	"fmt"
	"path"
	"reflect"
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
}

// validate checks values the Caddyfile parser could not, naming the option.
func (o *Options) validate() error {
	switch o.Driver {
	case "memory":
	case "valkey":
		if _, _, err := valkeyhub.ParseAddress(o.ValkeyAddress); err != nil {
			return fmt.Errorf("realtime: valkey_address: %v", err)
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
