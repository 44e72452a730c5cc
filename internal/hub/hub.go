// Package hub is the in-process realtime hub: it tracks authenticated
// WebSocket connections and their channel subscriptions, and fans out what
// PHP publishes through a Broker (memory for one node, Valkey for a cluster).
package hub

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lxzan/gws"

	"github.com/frankenphp-realtime/realtime/internal/protocol"
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
)

// Authorizer decides subscriptions to private-* and presence-* channels.
type Authorizer interface {
	// Authorize returns nil to allow, an error wrapping ErrForbidden to refuse,
	// any other error when it could not decide.
	Authorize(ctx context.Context, channel string, id Identity) error
}

// Config holds the hub's limits and collaborators. Zero limits take the
// defaults above.
type Config struct {
	Broker       Broker
	Presence     Presence
	Authorizer   Authorizer   // nil: private and presence channels are forbidden
	PresenceHook PresenceHook // nil: no hooks
	// HookChannels selects the channels whose transitions call the
	// presence hook; nil selects presence-* channels.
	HookChannels     func(channel string) bool
	MaxFrameSize     int
	MaxMessageSize   int
	MaxSubscriptions int
	MaxPendingBytes  int
	MaxConnections   int // 0: unlimited
	PingInterval     time.Duration
	AuthTimeout      time.Duration
	// PresenceGrace delays a leave, so that a reload produces no noise.
	PresenceGrace time.Duration
	// PresenceSweep is how often dead nodes' memberships are looked for.
	PresenceSweep time.Duration
	Logger        *slog.Logger
}

func (c *Config) setDefaults() {
	if c.Broker == nil {
		c.Broker = NewMemoryBroker()
	}
	if c.Presence == nil {
		c.Presence = NewMemoryPresence()
	}
	if c.HookChannels == nil {
		c.HookChannels = protocol.IsPresence
	}
	setDefault(&c.PresenceGrace, DefaultPresenceGrace)
	setDefault(&c.PresenceSweep, DefaultPresenceSweep)
	setDefault(&c.MaxFrameSize, DefaultMaxFrameSize)
	setDefault(&c.MaxMessageSize, DefaultMaxMessageSize)
	setDefault(&c.MaxSubscriptions, DefaultMaxSubscriptions)
	setDefault(&c.MaxPendingBytes, DefaultMaxPendingBytes)
	setDefault(&c.PingInterval, DefaultPingInterval)
	setDefault(&c.AuthTimeout, DefaultAuthTimeout)
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
}

func setDefault[T int | time.Duration](v *T, def T) {
	if *v <= 0 {
		*v = def
	}
}

// Topic prefixes the hub gives the broker: one topic per channel, one per user.
const (
	channelTopic = "c:"
	userTopic    = "u:"
)

// Channel topic payloads start with one of these bytes.
const (
	channelMessage  = 'm'
	channelPresence = 'p'
)

// User topic payloads start with one of these bytes.
const (
	userDirect     = 'd'
	userDisconnect = 'x'
)

// Hub fans publications out to local connections.
type Hub struct {
	cfg    Config
	log    *slog.Logger
	nodeID string

	channels *index // channel -> subscribed clients
	users    *index // user id -> connected clients
	locks    *keyLocks
	members  *memberships

	clients   sync.Map // *Client -> struct{}
	count     atomic.Int64
	nextID    atomic.Uint64
	closing   atomic.Bool
	detached  chan struct{} // signalled whenever a client detaches
	stopPings chan struct{}
	pingsDone chan struct{}
	stopSweep chan struct{}
	sweepDone chan struct{}

	published, delivered, slowConsumers atomic.Int64

	upgraderOnce sync.Once
	gwsUpgrader  *gws.Upgrader
}

// New starts a hub and its broker.
func New(cfg Config) (*Hub, error) {
	cfg.setDefaults()
	var node [6]byte
	_, _ = rand.Read(node[:])
	h := &Hub{
		cfg:       cfg,
		log:       cfg.Logger,
		nodeID:    hex.EncodeToString(node[:]),
		channels:  newIndex(),
		users:     newIndex(),
		locks:     newKeyLocks(),
		detached:  make(chan struct{}, 1),
		stopPings: make(chan struct{}),
		pingsDone: make(chan struct{}),
		stopSweep: make(chan struct{}),
		sweepDone: make(chan struct{}),
	}
	h.members = newMemberships(h)
	if rr, ok := cfg.Presence.(RejoinReporter); ok {
		rr.OnRejoin(func(m Membership) { go h.announce(EventJoin, m) })
	}
	if err := cfg.Broker.Run(h); err != nil {
		return nil, err
	}
	go h.pingLoop()
	go h.sweepLoop()
	return h, nil
}

// Full reports whether MaxConnections is reached.
func (h *Hub) Full() bool {
	return h.cfg.MaxConnections > 0 && h.count.Load() >= int64(h.cfg.MaxConnections)
}

// Connect registers an authenticated connection writing through t.
func (h *Hub) Connect(t Transport, id Identity) (*Client, error) {
	if h.closing.Load() {
		return nil, ErrClosed
	}
	c := &Client{
		hub:      h,
		id:       h.nodeID + "." + strconv.FormatUint(h.nextID.Add(1), 36),
		identity: id,
		subs:     make(map[string]struct{}),
	}
	c.out = newOutbound(t, h.cfg.MaxPendingBytes, func(overflow bool) {
		if overflow {
			h.slowConsumers.Add(1)
			// Closing takes locks and may wait for the close deadline:
			// never in the delivering goroutine.
			go c.Close(CloseSlowConsumer, "slow consumer")
		}
	})
	h.clients.Store(c, struct{}{})
	h.count.Add(1)
	h.addUser(c)
	c.send(protocol.Connected(id.UserID, c.id))
	return c, nil
}

// Disconnected must be called once when a connection's read loop ends:
// nothing more can be written to it.
func (h *Hub) Disconnected(c *Client) {
	c.out.shut()
	c.detach()
}

func (h *Hub) removeClient(c *Client) {
	h.removeUser(c)
	if _, ok := h.clients.LoadAndDelete(c); ok {
		h.count.Add(-1)
	}
	select {
	case h.detached <- struct{}{}:
	default:
	}
}

func (h *Hub) authorize(channel string, id Identity) error {
	if h.cfg.Authorizer == nil {
		return ErrForbidden
	}
	ctx, cancel := context.WithTimeout(context.Background(), h.cfg.AuthTimeout)
	defer cancel()
	return h.cfg.Authorizer.Authorize(ctx, channel, id)
}

// addSubscription indexes c under channel and subscribes the broker for the
// channel's first local subscriber, rolling back if that fails.
func (h *Hub) addSubscription(channel string, c *Client) error {
	unlock := h.locks.lock(channelTopic + channel)
	defer unlock()
	if !h.channels.add(channel, c) {
		return nil
	}
	if err := h.cfg.Broker.Subscribe(context.Background(), channelTopic+channel); err != nil {
		h.channels.remove(channel, c)
		return err
	}
	return nil
}

func (h *Hub) removeSubscription(channel string, c *Client) {
	unlock := h.locks.lock(channelTopic + channel)
	defer unlock()
	if h.channels.remove(channel, c) {
		if err := h.cfg.Broker.Unsubscribe(context.Background(), channelTopic+channel); err != nil {
			h.log.Warn("realtime: broker unsubscribe failed", slog.String("channel", channel), slog.Any("error", err))
		}
	}
}

func (h *Hub) addUser(c *Client) {
	unlock := h.locks.lock(userTopic + c.identity.UserID)
	defer unlock()
	if h.users.add(c.identity.UserID, c) {
		if err := h.cfg.Broker.Subscribe(context.Background(), userTopic+c.identity.UserID); err != nil {
			h.log.Warn("realtime: broker user subscribe failed", slog.String("user_id", c.identity.UserID), slog.Any("error", err))
		}
	}
}

func (h *Hub) removeUser(c *Client) {
	unlock := h.locks.lock(userTopic + c.identity.UserID)
	defer unlock()
	if h.users.remove(c.identity.UserID, c) {
		if err := h.cfg.Broker.Unsubscribe(context.Background(), userTopic+c.identity.UserID); err != nil {
			h.log.Warn("realtime: broker user unsubscribe failed", slog.String("user_id", c.identity.UserID), slog.Any("error", err))
		}
	}
}

// membersFor returns the member list a subscribed frame carries: the
// cluster-wide users of a presence channel, nil for other channels.
func (h *Hub) membersFor(channel string) []string {
	if !protocol.IsPresence(channel) {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), presenceOpTimeout)
	defer cancel()
	users, err := h.cfg.Presence.Users(ctx, channel)
	if err != nil {
		h.log.Warn("realtime: presence unavailable, listing this node's members only", slog.String("channel", channel), slog.Any("error", err))
		return h.localUsers(channel)
	}
	return users
}

func (h *Hub) localUsers(channel string) []string {
	seen := make(map[string]struct{})
	h.channels.each(channel, func(c *Client) { seen[c.identity.UserID] = struct{}{} })
	users := make([]string, 0, len(seen))
	for u := range seen {
		users = append(users, u)
	}
	sort.Strings(users)
	return users
}

// HandleBrokerMessage delivers a publication to the local connections.
func (h *Hub) HandleBrokerMessage(topic string, data []byte) {
	if len(data) == 0 {
		return
	}
	if channel, ok := strings.CutPrefix(topic, channelTopic); ok {
		h.handleChannelPayload(channel, data)
	} else if user, ok := strings.CutPrefix(topic, userTopic); ok {
		h.handleUserPayload(user, data)
	}
}

func (h *Hub) handleChannelPayload(channel string, data []byte) {
	switch data[0] {
	case channelMessage:
		h.deliver(h.channels, channel, data[1:])
	case channelPresence:
		user, frame, ok := decodePresencePayload(data[1:])
		if !ok {
			return
		}
		// A user is not told about their own arrival.
		h.channels.each(channel, func(c *Client) {
			if c.identity.UserID != user {
				c.send(frame)
			}
		})
	}
}

func (h *Hub) handleUserPayload(user string, data []byte) {
	switch data[0] {
	case userDirect:
		h.deliver(h.users, user, data[1:])
	case userDisconnect:
		h.users.each(user, func(c *Client) {
			go c.CloseAfterPending(CloseDisconnected, "disconnected by the application")
		})
	}
}

// deliver queues frame to every client under key and counts the deliveries.
func (h *Hub) deliver(ix *index, key string, frame []byte) {
	n := 0
	ix.each(key, func(c *Client) { c.send(frame); n++ })
	h.delivered.Add(int64(n))
}

func (h *Hub) pingLoop() {
	defer close(h.pingsDone)
	t := time.NewTicker(h.cfg.PingInterval)
	defer t.Stop()
	for {
		select {
		case <-h.stopPings:
			return
		case <-t.C:
			h.clients.Range(func(k, _ any) bool {
				k.(*Client).out.enqueue(outFrame{ping: true})
				return true
			})
		}
	}
}

// Counters are cumulative totals since the hub started, for metrics.
type Counters struct {
	Published     int64 // publications handed to the broker by this node
	Delivered     int64 // message and direct frames queued to connections
	SlowConsumers int64 // connections closed with 4008
	BrokerErrors  int64
	Reconnects    int64
}

// Counters returns the hub's totals, with the broker's when it keeps them.
func (h *Hub) Counters() Counters {
	c := Counters{Published: h.published.Load(), Delivered: h.delivered.Load(), SlowConsumers: h.slowConsumers.Load()}
	if bs, ok := h.cfg.Broker.(BrokerStats); ok {
		c.BrokerErrors, c.Reconnects = bs.BrokerCounters()
	}
	return c
}

// Stats is a snapshot of this node's load.
type Stats struct {
	Connections   int `json:"connections"`
	Channels      int `json:"channels"`
	Subscriptions int `json:"subscriptions"`
}

// Stats counts this node's connections, channels and subscriptions.
func (h *Hub) Stats() Stats {
	channels, subs := h.channels.counts()
	return Stats{Connections: int(h.count.Load()), Channels: channels, Subscriptions: subs}
}

// Shutdown closes every connection with code (1001 for a server shutdown or
// a configuration change), waits up to the context's deadline for them to
// detach, and stops the broker.
func (h *Hub) Shutdown(ctx context.Context, code uint16, reason string) error {
	if !h.closing.CompareAndSwap(false, true) {
		return nil
	}
	close(h.stopPings)
	<-h.pingsDone
	close(h.stopSweep)
	<-h.sweepDone
	// Close every connection in parallel (each close frame may wait for
	// its deadline) and wait for the frames to be written: the process
	// may exit right after Shutdown returns.
	var closing sync.WaitGroup
	h.clients.Range(func(k, _ any) bool {
		closing.Add(1)
		go func() {
			defer closing.Done()
			k.(*Client).CloseAfterPending(code, reason)
		}()
		return true
	})
	closed := make(chan struct{})
	go func() { closing.Wait(); close(closed) }()
	var err error
	select {
	case <-closed:
	case <-ctx.Done():
		err = ctx.Err()
	}
	// Connections that raced with the shutdown detach on their own.
	for h.count.Load() > 0 && err == nil {
		select {
		case <-h.detached:
		case <-ctx.Done():
			err = ctx.Err()
		}
	}
	h.members.flush()
	if perr := h.cfg.Presence.Close(); err == nil {
		err = perr
	}
	if berr := h.cfg.Broker.Close(); err == nil {
		err = berr
	}
	return err
}
