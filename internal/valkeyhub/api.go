package valkeyhub

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/dustin/go-humanize"
	"github.com/valkey-io/valkey-go"

	"github.com/frankenphp-realtime/realtime/internal/hub"
)

// Environment variables of `frankenphp php-cli` (SPEC §5).
const (
	EnvAddress        = "REALTIME_VALKEY_ADDRESS"
	EnvPrefix         = "REALTIME_PREFIX"
	EnvMaxMessageSize = "REALTIME_MAX_MESSAGE_SIZE" // bytes, or "64KiB"; default 64KiB
)

// ErrNoAddress is returned by APIFromEnv when REALTIME_VALKEY_ADDRESS is
// not set.
var ErrNoAddress = errors.New("realtime: no hub is running in this process; set " + EnvAddress + " to publish through Valkey")

// API implements hub.API without a hub, for processes that run no server
// (queue workers, cron): it puts on Valkey exactly what a hub's Broker
// would, so every node's subscribers receive it.
type API struct {
	client     valkey.Client
	addr       string
	channel    string // "<prefix>:"
	channelKey string // presence HASH key prefix
	limits     hub.Limits
}

var _ hub.API = (*API)(nil)

// NewAPI returns an API publishing to the Valkey server at address under
// prefix, with the checks of limits (MaxMessageSize 0: the hub's default).
// It fails only on a bad address or prefix; a server that is down makes
// each call fail, until it is back.
func NewAPI(address, prefix string, limits hub.Limits) (*API, error) {
	if err := checkPrefix(prefix); err != nil {
		return nil, err
	}
	if limits.MaxMessageSize <= 0 {
		limits.MaxMessageSize = hub.DefaultMaxMessageSize
	}
	client, display, err := newClient(address)
	if err != nil {
		return nil, err
	}
	_, channelKey := presenceKeys(prefix)
	return &API{
		client:     client,
		addr:       display,
		channel:    prefix + ":",
		channelKey: channelKey,
		limits:     limits,
	}, nil
}

// APIFromEnv builds the API from REALTIME_VALKEY_ADDRESS, REALTIME_PREFIX
// (default "realtime") and REALTIME_MAX_MESSAGE_SIZE (default 64KiB). It
// returns ErrNoAddress when the address is not set.
func APIFromEnv() (*API, error) {
	address := os.Getenv(EnvAddress)
	if address == "" {
		return nil, ErrNoAddress
	}
	prefix := os.Getenv(EnvPrefix)
	if prefix == "" {
		prefix = DefaultPrefix
	}
	var limits hub.Limits
	if v := os.Getenv(EnvMaxMessageSize); v != "" {
		n, err := humanize.ParseBytes(v)
		if err != nil || n == 0 || n > 1<<30 {
			return nil, fmt.Errorf("valkey: %s=%q: want a size such as 65536 or 64KiB", EnvMaxMessageSize, v)
		}
		limits.MaxMessageSize = int(n)
	}
	api, err := NewAPI(address, prefix, limits)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", EnvAddress, err)
	}
	return api, nil
}

// Broadcast sends message to every subscriber of channel.
func (a *API) Broadcast(ctx context.Context, channel string, message []byte) error {
	if err := hub.CheckChannel(channel); err != nil {
		return err
	}
	if err := a.limits.CheckMessage(message); err != nil {
		return err
	}
	topic, data := hub.ChannelFrame(channel, message)
	return a.publish(ctx, topic, data)
}

// BroadcastToUser sends message to every connection of userID.
func (a *API) BroadcastToUser(ctx context.Context, userID string, message []byte) error {
	if err := hub.CheckUserID(userID); err != nil {
		return err
	}
	if err := a.limits.CheckMessage(message); err != nil {
		return err
	}
	topic, data := hub.DirectPayload(userID, message)
	return a.publish(ctx, topic, data)
}

// ChannelUsers lists the users present in channel, cluster-wide.
func (a *API) ChannelUsers(ctx context.Context, channel string) ([]string, error) {
	if err := hub.CheckChannel(channel); err != nil {
		return nil, err
	}
	return channelUsers(ctx, a.client, a.addr, a.channelKey, channel)
}

// DisconnectUser closes every connection of userID (code 4001).
func (a *API) DisconnectUser(ctx context.Context, userID string) error {
	if err := hub.CheckUserID(userID); err != nil {
		return err
	}
	topic, data := hub.DisconnectPayload(userID)
	return a.publish(ctx, topic, data)
}

func (a *API) publish(ctx context.Context, topic string, data []byte) error {
	ctx, cancel := withOpTimeout(ctx)
	defer cancel()
	cmd := a.client.B().Publish().Channel(a.channel + topic).Message(valkey.BinaryString(data)).Build()
	return wrapErr("publish", a.addr, a.client.Do(ctx, cmd).Error())
}

// Close releases the connection.
func (a *API) Close() { a.client.Close() }
