package caddymodule

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/agnivade/levenshtein"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/dustin/go-humanize"

	"github.com/frankenphp-realtime/realtime/internal/auth"
)

func init() {
	httpcaddyfile.RegisterHandlerDirective("realtime", parseCaddyfile)
	// Ahead of php_server (which sits before file_server), so no `order`
	// global option is needed.
	httpcaddyfile.RegisterDirectiveOrder("realtime", httpcaddyfile.Before, "reverse_proxy")
}

var _ caddyfile.Unmarshaler = (*Handler)(nil)

func parseCaddyfile(h httpcaddyfile.Helper) (caddyhttp.MiddlewareHandler, error) {
	var handler Handler
	err := handler.UnmarshalCaddyfile(h.Dispenser)
	return &handler, err
}

// UnmarshalCaddyfile sets up the handler from Caddyfile tokens:
//
//	realtime {
//		driver             memory|valkey|redis
//		valkey_address     <host:port|valkey://...|redis://...|rediss://...>
//		prefix             <prefix>
//		auth_endpoint      </path|http(s)://url>
//		authorize_endpoint </path|http(s)://url>
//		presence_endpoint  </path|http(s)://url>
//		presence_hook_channels <glob...>
//		allowed_origins    <origin...|*>
//		max_frame_size     <size>
//		max_message_size   <size>
//		max_subscriptions  <n>
//		max_pending_bytes  <size>
//		max_connections    <n>
//		ping_interval      <duration>
//		auth_timeout       <duration>
//		presence_ttl       <duration>
//		presence_grace     <duration>
//		endpoint_secret    <secret>   (signs calls to http(s):// endpoints)
//		endpoint_concurrency <n>      (in-process endpoint calls at once)
//		pusher_app         <app_id> <key> <secret>
//		pusher_activity_timeout <duration>
//		pusher_client_events members|off
//	}
func (h *Handler) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next() // the directive name
	if d.NextArg() {
		return d.Errf("realtime takes no arguments; put options in a block")
	}
	for d.NextBlock(0) {
		if err := h.parseOption(d); err != nil {
			return err
		}
	}
	return nil
}

func (h *Handler) parseOption(d *caddyfile.Dispenser) error {
	o := &h.Options
	switch name := d.Val(); name {
	case "driver":
		if err := oneString(d, &o.Driver); err != nil {
			return err
		}
		switch strings.ToLower(o.Driver) {
		case "memory", "valkey", "redis":
			return nil
		}
		return d.Errf("realtime option 'driver': unknown driver '%s': use memory or valkey%s", o.Driver, didYouMean(strings.ToLower(o.Driver), "memory", "valkey", "redis"))
	case "valkey_address", "redis_address":
		return oneString(d, &o.ValkeyAddress)
	case "prefix":
		return oneString(d, &o.Prefix)
	case "auth_endpoint":
		return oneEndpoint(d, &o.AuthEndpoint)
	case "authorize_endpoint":
		return oneEndpoint(d, &o.AuthorizeEndpoint)
	case "presence_endpoint":
		return oneEndpoint(d, &o.PresenceEndpoint)
	case "presence_hook_channels":
		return appendStrings(d, &o.PresenceHookChannels)
	case "allowed_origins":
		before := len(o.AllowedOrigins)
		if err := appendStrings(d, &o.AllowedOrigins); err != nil {
			return err
		}
		for _, origin := range o.AllowedOrigins[before:] {
			if err := checkOrigin(origin); err != nil {
				return d.Errf("realtime option 'allowed_origins': %v", err)
			}
		}
		return nil
	case "max_frame_size":
		return oneSize(d, &o.MaxFrameSize)
	case "max_message_size":
		return oneSize(d, &o.MaxMessageSize)
	case "max_pending_bytes":
		return oneSize(d, &o.MaxPendingBytes)
	case "max_subscriptions":
		return oneInt(d, &o.MaxSubscriptions, 1)
	case "max_connections":
		return oneInt(d, &o.MaxConnections, 0)
	case "ping_interval":
		return oneDuration(d, &o.PingInterval)
	case "auth_timeout":
		return oneDuration(d, &o.AuthTimeout)
	case "presence_ttl":
		return oneDuration(d, &o.PresenceTTL)
	case "presence_grace":
		return oneDuration(d, &o.PresenceGrace)
	case "endpoint_secret":
		if err := oneString(d, &o.EndpointSecret); err != nil {
			return err
		}
		if len(o.EndpointSecret) < 16 {
			return d.Errf("realtime option 'endpoint_secret' must be at least 16 characters (use {env.REALTIME_ENDPOINT_SECRET} and a random value)")
		}
		return nil
	case "endpoint_concurrency":
		return oneInt(d, &o.EndpointConcurrency, 1)
	case "pusher_app":
		args := d.RemainingArgs()
		if len(args) != 3 {
			return d.Errf("realtime option 'pusher_app' takes three values: <app_id> <key> <secret>, got %d", len(args))
		}
		if o.PusherApp != nil {
			return d.Errf("realtime option 'pusher_app' is given twice: one Pusher app per process (app id %s already)", o.PusherApp.ID)
		}
		if strings.Contains(args[1], ":") {
			return d.Errf("realtime option 'pusher_app': the key must not contain ':' (Pusher's auth strings are key:signature)")
		}
		if len(args[2]) < 8 {
			return d.Errf("realtime option 'pusher_app': the secret must be at least 8 characters")
		}
		o.PusherApp = &PusherApp{ID: args[0], Key: args[1], Secret: args[2]}
		return nil
	case "pusher_activity_timeout":
		return oneDuration(d, &o.PusherActivityTimeout)
	case "pusher_client_events":
		if err := oneString(d, &o.PusherClientEvents); err != nil {
			return err
		}
		switch strings.ToLower(o.PusherClientEvents) {
		case "members", "off":
			return nil
		}
		return d.Errf("realtime option 'pusher_client_events': unknown value '%s': use members or off%s", o.PusherClientEvents, didYouMean(strings.ToLower(o.PusherClientEvents), "members", "off"))
	default:
		return d.Errf("unrecognized realtime option '%s'%s", name, didYouMean(name, optionNames...))
	}
}

// optionNames lists every option parseOption knows, for suggestions.
var optionNames = []string{
	"driver", "valkey_address", "redis_address", "prefix", "auth_endpoint", "authorize_endpoint",
	"presence_endpoint", "presence_hook_channels", "allowed_origins", "max_frame_size",
	"max_message_size", "max_pending_bytes", "max_subscriptions", "max_connections",
	"ping_interval", "auth_timeout", "presence_ttl", "presence_grace", "endpoint_secret",
	"endpoint_concurrency", "pusher_app", "pusher_activity_timeout", "pusher_client_events",
}

// didYouMean suggests the closest candidate to a misspelt word, if one is
// close enough to be a likely typo.
func didYouMean(word string, candidates ...string) string {
	best, bestDist := "", len(word)/3+2
	for _, c := range candidates {
		if dist := levenshtein.ComputeDistance(word, c); dist < bestDist {
			best, bestDist = c, dist
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean '%s'?)", best)
}

func oneEndpoint(d *caddyfile.Dispenser, dst *string) error {
	name := d.Val()
	if err := oneString(d, dst); err != nil {
		return err
	}
	if err := auth.ParseTarget(*dst); err != nil {
		return d.Errf("realtime option '%s': %v", name, err)
	}
	return nil
}

func oneArg(d *caddyfile.Dispenser) (string, error) {
	name := d.Val()
	if !d.NextArg() {
		return "", d.Errf("realtime option '%s' needs a value", name)
	}
	v := d.Val()
	if d.NextArg() {
		return "", d.Errf("realtime option '%s' takes one value, got another: '%s'", name, d.Val())
	}
	return v, nil
}

func oneString(d *caddyfile.Dispenser, dst *string) error {
	v, err := oneArg(d)
	*dst = v
	return err
}

func appendStrings(d *caddyfile.Dispenser, dst *[]string) error {
	name := d.Val()
	args := d.RemainingArgs()
	if len(args) == 0 {
		return d.Errf("realtime option '%s' needs at least one value", name)
	}
	*dst = append(*dst, args...)
	return nil
}

func oneSize(d *caddyfile.Dispenser, dst *int) error {
	name := d.Val()
	v, err := oneArg(d)
	if err != nil {
		return err
	}
	n, perr := humanize.ParseBytes(v)
	if perr != nil || n == 0 || n > 1<<40 {
		return d.Errf("realtime option '%s': invalid size '%s' (e.g. 16KiB, 1MiB, 65536)", name, v)
	}
	*dst = int(n)
	return nil
}

func oneInt(d *caddyfile.Dispenser, dst *int, minimum int) error {
	name := d.Val()
	v, err := oneArg(d)
	if err != nil {
		return err
	}
	n, perr := strconv.Atoi(v)
	if perr != nil || n < minimum {
		return d.Errf("realtime option '%s': '%s' is not an integer >= %d", name, v, minimum)
	}
	*dst = n
	return nil
}

func oneDuration(d *caddyfile.Dispenser, dst *caddy.Duration) error {
	name := d.Val()
	v, err := oneArg(d)
	if err != nil {
		return err
	}
	dur, perr := caddy.ParseDuration(v)
	if perr != nil {
		return d.Errf("realtime option '%s': invalid duration '%s' (e.g. 25s, 500ms)", name, v)
	}
	if dur <= 0 {
		return d.Errf("realtime option '%s': must be more than 0, got '%s'; to make it negligible, give it a small value (e.g. 1ms)", name, v)
	}
	*dst = caddy.Duration(dur)
	return nil
}
