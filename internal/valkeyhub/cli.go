package valkeyhub

import (
	"context"
	"errors"
	"fmt"

	"github.com/valkey-io/valkey-go"

	"github.com/frankenphp-realtime/realtime/internal/hub"
)

// Publisher is the Valkey side of a process that serves no connections
// (php-cli: queue workers, cron): it puts on Valkey exactly what a node's
// Broker would, and reads presence, so that hub.NewPublisher gives PHP's
// functions there the same behaviour as on a server.
type Publisher struct {
	client  valkey.Client
	addr    string
	channel string // "<prefix>:"
	keys    keys
	cache   *Cache
}

var (
	_ hub.Broker   = (*Publisher)(nil)
	_ hub.Presence = (*Publisher)(nil)
)

// NewPublisher connects to address under prefix. It fails only on a bad
// address or prefix; a server that is down makes each call fail.
func NewPublisher(address, prefix string) (*Publisher, error) {
	if err := checkPrefix(prefix); err != nil {
		return nil, err
	}
	client, display, err := newClient(address)
	if err != nil {
		return nil, err
	}
	return &Publisher{client: client, addr: display, channel: prefix + ":", keys: presenceKeys(prefix),
		cache: &Cache{client: client, addr: display, key: prefix + ":cache:"}}, nil
}

// Cache returns the cache channels' store.
func (p *Publisher) Cache() *Cache { return p.cache }

var errPublishOnly = errors.New("valkey: this process only publishes")

func (p *Publisher) Run(hub.BrokerHandler) error { return errPublishOnly }

// Publish follows the hub.Broker contract (see Broker.Publish).
func (p *Publisher) Publish(ctx context.Context, topic string, data []byte) error {
	ctx, cancel := withOpTimeout(ctx)
	defer cancel()
	cmd := p.client.B().Publish().Channel(p.channel + topic).Message(valkey.BinaryString(data)).Build()
	if err := p.client.Do(ctx, cmd).Error(); err != nil {
		if notSent(err) {
			return fmt.Errorf("%w: %w", wrapErr("publish", p.addr, err), hub.ErrNotPublished)
		}
		return wrapErr("publish", p.addr, err)
	}
	return nil
}

func (p *Publisher) Subscribe(context.Context, string) error   { return errPublishOnly }
func (p *Publisher) Unsubscribe(context.Context, string) error { return errPublishOnly }

func (p *Publisher) Add(context.Context, hub.Membership, []byte) (bool, error) {
	return false, errPublishOnly
}

func (p *Publisher) Remove(context.Context, hub.Membership) (bool, []byte, error) {
	return false, nil, errPublishOnly
}

func (p *Publisher) Users(ctx context.Context, channel string) ([]string, error) {
	return channelUsers(ctx, p.client, p.addr, p.keys.channel, channel)
}

func (p *Publisher) Members(context.Context, string) ([]hub.Member, error) {
	return nil, errPublishOnly
}

func (p *Publisher) Expire(context.Context) ([]hub.Departure, error) { return nil, nil }

// Close releases the connection.
func (p *Publisher) Close() error {
	p.client.Close()
	return nil
}
