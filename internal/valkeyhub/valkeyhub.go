// Package valkeyhub implements the hub's cluster contracts over Valkey with
// valkey-go: a Broker carrying publications between nodes through Valkey
// pub/sub, a Presence store answering cluster-wide, and a Cache of cache
// channels' last events.
//
// Everything a deployment writes is namespaced by its prefix:
//
//	<prefix>:<topic>                  pub/sub channel of a hub topic
//	<prefix>:presence:expiry          ZSET "<channel>\x00<user>\x00<node>" -> expiry (unix ms)
//	<prefix>:presence:ch:<channel>    HASH user -> number of nodes holding the membership
//	<prefix>:presence:data:<channel>  HASH user -> the membership's data (hub-encoded)
//	<prefix>:cache:<channel>          STRING the last event of a cache channel (with a TTL)
//
// so deployments with different prefixes never see each other. A
// standalone Valkey (or Redis) server is supported; Valkey Cluster is not:
// presence scripts touch keys of several slots.
package valkeyhub

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/valkey-io/valkey-go"
)

// DefaultPrefix is the prefix of SPEC §2.
const DefaultPrefix = "realtime"

// DefaultOpTimeout bounds one call to Valkey whose context has no earlier
// deadline: a PHP request publishing while Valkey is unreachable fails
// within it instead of hanging.
const DefaultOpTimeout = 2 * time.Second

// defaultDialTimeout bounds a connection attempt unless the address sets
// dial_timeout; valkey-go's default (5 s) would stall Close and reconnects.
const defaultDialTimeout = 2 * time.Second

// ErrUnreachable is matched (errors.Is) by every error caused by Valkey
// not answering, as opposed to Valkey answering with an error: the admin
// API turns it into a 503.
var ErrUnreachable = errors.New("valkey: server unreachable")

// unreachableError says which operation failed against which server,
// never with the credentials the address may hold.
type unreachableError struct {
	op, addr string
	cause    error
}

func (e *unreachableError) Error() string {
	if e.cause == nil {
		return fmt.Sprintf("valkey: %s failed: unreachable at %s", e.op, e.addr)
	}
	return fmt.Sprintf("valkey: %s failed: unreachable at %s: %v", e.op, e.addr, e.cause)
}

func (e *unreachableError) Unwrap() []error { return []error{ErrUnreachable, e.cause} }

// wrapErr names op and, for network failures and timeouts, the server.
func wrapErr(op, addr string, err error) error {
	if err == nil {
		return nil
	}
	if isServerReply(err) {
		return fmt.Errorf("valkey: %s failed: %w", op, err)
	}
	if errors.Is(err, context.Canceled) {
		return fmt.Errorf("valkey: %s canceled: %w", op, err)
	}
	return &unreachableError{op: op, addr: addr, cause: err}
}

// isNetworkErr reports whether err means the connection, not the command,
// failed.
func isNetworkErr(err error) bool {
	return err != nil && !isServerReply(err)
}

// isServerReply reports whether err is Valkey's answer (an error reply or
// nil).
func isServerReply(err error) bool {
	_, ok := valkey.IsValkeyErr(err)
	return ok || valkey.IsValkeyNil(err)
}

// withOpTimeout bounds ctx by DefaultOpTimeout.
func withOpTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, DefaultOpTimeout)
}

// newClient connects to address the way every type of this package does:
// one pipelined connection, no client-side cache, no retries (callers want
// a fast failure, not a wait), and a client even when the server is down,
// so that a node started during an outage recovers by itself.
func newClient(address string) (valkey.Client, string, error) {
	opt, display, err := ParseAddress(address)
	if err != nil {
		return nil, "", err
	}
	opt.ForceSingleClient = true
	opt.DisableCache = true
	opt.DisableRetry = true
	opt.PipelineMultiplex = -1 // one connection: 1 << 0
	if opt.Dialer.Timeout == 0 {
		opt.Dialer.Timeout = defaultDialTimeout
	}
	if opt.ClientName == "" {
		opt.ClientName = "frankenphp-realtime"
	}
	client, err := valkey.NewClient(opt)
	if client == nil {
		return nil, "", fmt.Errorf("valkey: cannot create a client for %s: %w", display, err)
	}
	// err != nil here means the first dial failed; the client redials on
	// its next command.
	return client, display, nil
}

// keys names a deployment's presence keys: the expiry ZSET and the
// prefixes of the per-channel HASH keys.
type keys struct{ expiry, channel, data string }

func presenceKeys(prefix string) keys {
	return keys{expiry: prefix + ":presence:expiry", channel: prefix + ":presence:ch:", data: prefix + ":presence:data:"}
}

func checkPrefix(prefix string) error {
	if prefix == "" {
		return errors.New("valkey: prefix must not be empty")
	}
	return nil
}
