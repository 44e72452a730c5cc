package valkeyhub

import (
	"context"
	"time"

	"github.com/valkey-io/valkey-go"

	"github.com/frankenphp-realtime/realtime/internal/hub"
)

// Cache keeps cache channels' last events in Valkey ("<prefix>:cache:<channel>",
// with a TTL), so that every node answers a subscribe to a cache channel
// with the same event, even one published when nobody was subscribed.
type Cache struct {
	client valkey.Client
	addr   string
	key    string // "<prefix>:cache:"
}

var _ hub.Cache = (*Cache)(nil)

// Cache returns the cache sharing the broker's publishing connection.
func (b *Broker) Cache() *Cache {
	return &Cache{client: b.client, addr: b.addr, key: b.prefix + ":cache:"}
}

func (c *Cache) Set(ctx context.Context, channel string, value []byte, ttl time.Duration) error {
	ctx, cancel := withOpTimeout(ctx)
	defer cancel()
	cmd := c.client.B().Set().Key(c.key + channel).Value(valkey.BinaryString(value)).PxMilliseconds(ttl.Milliseconds()).Build()
	return wrapErr("cache set", c.addr, c.client.Do(ctx, cmd).Error())
}

func (c *Cache) Get(ctx context.Context, channel string) ([]byte, bool, error) {
	ctx, cancel := withOpTimeout(ctx)
	defer cancel()
	v, err := c.client.Do(ctx, c.client.B().Get().Key(c.key+channel).Build()).AsBytes()
	switch {
	case valkey.IsValkeyNil(err):
		return nil, false, nil
	case err != nil:
		return nil, false, wrapErr("cache get", c.addr, err)
	}
	return v, true, nil
}
