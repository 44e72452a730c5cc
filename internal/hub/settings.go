package hub

import (
	"time"
)

// Defaults of SPEC §2.
const (
	DefaultMaxFrameSize     = 16 << 10
	DefaultMaxMessageSize   = 64 << 10
	DefaultMaxSubscriptions = 100
	DefaultMaxPendingBytes  = 1 << 20
	DefaultPingInterval     = 25 * time.Second
	DefaultAuthTimeout      = 5 * time.Second
	DefaultPresenceGrace    = 3 * time.Second
	DefaultPresenceSweep    = time.Second
	// DefaultCacheTTL is how long a cache channel remembers its last event
	// (Pusher documents 30 minutes).
	DefaultCacheTTL = 30 * time.Minute
)

// Settings are the hub's per-configuration values. A reload swaps them
// atomically (Hub.Configure) without touching connections: each value
// applies from the next operation that reads it (SPEC §2). Zero values
// take the defaults above.
type Settings struct {
	MaxFrameSize     int // bytes, inclusive; adapters enforce it per frame
	MaxMessageSize   int // bytes, inclusive; publications over it are input errors
	MaxSubscriptions int // per connection
	MaxPendingBytes  int // outbound backlog before a connection is dropped (4008)
	MaxConnections   int // 0: unlimited
	PingInterval     time.Duration
	// PresenceGrace delays a leave, so that a page reload produces neither
	// leave nor join.
	PresenceGrace time.Duration
	// HookChannels selects the channels whose transitions call the presence
	// hook; nil selects none.
	HookChannels func(channel string) bool
	// CacheChannels selects the channels whose last publication the Cache
	// remembers (Pusher's cache-* channels); nil selects none.
	CacheChannels func(channel string) bool
	CacheTTL      time.Duration
}

func (s Settings) withDefaults() *Settings {
	setDefault(&s.MaxFrameSize, DefaultMaxFrameSize)
	setDefault(&s.MaxMessageSize, DefaultMaxMessageSize)
	setDefault(&s.MaxSubscriptions, DefaultMaxSubscriptions)
	setDefault(&s.MaxPendingBytes, DefaultMaxPendingBytes)
	setDefault(&s.PingInterval, DefaultPingInterval)
	setDefault(&s.PresenceGrace, DefaultPresenceGrace)
	setDefault(&s.CacheTTL, DefaultCacheTTL)
	if s.HookChannels == nil {
		s.HookChannels = func(string) bool { return false }
	}
	if s.CacheChannels == nil {
		s.CacheChannels = func(string) bool { return false }
	}
	return &s
}

func setDefault[T int | time.Duration](v *T, def T) {
	if *v <= 0 {
		*v = def
	}
}
