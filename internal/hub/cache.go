package hub

import (
	"context"
	"sync"
	"time"
)

// Cache remembers the last event published on each cache channel (Pusher's
// cache-* channels, SPEC §8) for a while, whether or not anyone is
// subscribed, cluster-wide for a shared store. Values are opaque.
type Cache interface {
	// Set replaces the channel's value; it expires after ttl.
	Set(ctx context.Context, channel string, value []byte, ttl time.Duration) error
	// Get returns the channel's value, or ok=false when none is remembered.
	Get(ctx context.Context, channel string) (value []byte, ok bool, err error)
}

// MemoryCache is the single-node Cache.
type MemoryCache struct {
	mu        sync.Mutex
	entries   map[string]cacheEntry
	lastPurge time.Time
}

// cachePurgeInterval is how often Set drops expired entries.
const cachePurgeInterval = time.Minute

type cacheEntry struct {
	value   []byte
	expires time.Time
}

var _ Cache = (*MemoryCache)(nil)

// NewMemoryCache returns an empty cache.
func NewMemoryCache() *MemoryCache { return &MemoryCache{entries: make(map[string]cacheEntry)} }

func (c *MemoryCache) Set(_ context.Context, channel string, value []byte, ttl time.Duration) error {
	now := time.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	// Expired entries go now and then when the map is written to, so it
	// holds little more than the channels published to within one ttl.
	if now.Sub(c.lastPurge) > cachePurgeInterval {
		c.lastPurge = now
		for ch, e := range c.entries {
			if now.After(e.expires) {
				delete(c.entries, ch)
			}
		}
	}
	c.entries[channel] = cacheEntry{value: value, expires: now.Add(ttl)}
	return nil
}

func (c *MemoryCache) Get(_ context.Context, channel string) ([]byte, bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[channel]
	if !ok || time.Now().After(e.expires) {
		return nil, false, nil
	}
	return e.value, true, nil
}
