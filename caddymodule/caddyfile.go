package caddymodule

import (
	"strconv"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/dustin/go-humanize"
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
		return oneString(d, &o.Driver)
	case "valkey_address", "redis_address":
		return oneString(d, &o.ValkeyAddress)
	case "prefix":
		return oneString(d, &o.Prefix)
	case "auth_endpoint":
		return oneString(d, &o.AuthEndpoint)
	case "authorize_endpoint":
		return oneString(d, &o.AuthorizeEndpoint)
	case "presence_endpoint":
		return oneString(d, &o.PresenceEndpoint)
	case "presence_hook_channels":
		return appendStrings(d, &o.PresenceHookChannels)
	case "allowed_origins":
		return appendStrings(d, &o.AllowedOrigins)
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
	default:
		return d.Errf("unrecognized realtime option '%s'", name)
	}
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
	if perr != nil || dur <= 0 {
		return d.Errf("realtime option '%s': invalid duration '%s' (e.g. 25s, 500ms)", name, v)
	}
	*dst = caddy.Duration(dur)
	return nil
}
