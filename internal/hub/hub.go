// Package hub is the in-process realtime hub: it tracks WebSocket
// connections of any protocol and their channel subscriptions, presence and
// users, and fans out what PHP publishes through a Broker (memory for one
// node, Valkey for a cluster). Protocol adapters (the native protocol, the
// Pusher protocol) read their clients' frames and call the hub; the hub
// writes to clients through each adapter's Codec. The hub knows nothing of
// HTTP, Caddy or PHP.
package hub

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"log/slog"
	mrand "math/rand/v2"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Backend is what a hub is built on and keeps for its whole life: a reload
// that changes it starts a new hub (SPEC §2: driver, valkey_address and
// prefix are the backend).
type Backend struct {
	Broker   Broker
	Presence Presence
	Cache    Cache        // nil: a MemoryCache
	Hook     PresenceHook // nil: no presence hooks
	// PresenceSweep is how often dead nodes' memberships are looked for.
	PresenceSweep time.Duration
	Logger        *slog.Logger
}

// Hub fans publications out to local connections.
type Hub struct {
	backend  Backend
	settings func() *Settings
	current  atomic.Pointer[Settings]
	log      *slog.Logger
	workers  workers

	channels *index // channel -> subscribed clients
	users    *index // user id -> clients
	topics   *topics
	members  *memberships
	pub      *Publisher
	rejoins  chan rejoin

	// mu orders admission with shutdown: no client is admitted once
	// Shutdown has taken its list.
	mu       sync.Mutex
	closing  bool
	clients  map[*Client]struct{}
	reserved int // admitted, not yet attached
	count    atomic.Int64

	detached  chan struct{} // signalled whenever a client detaches
	stop      chan struct{}
	loopsDone sync.WaitGroup

	published, delivered, slowConsumers, announceDropped atomic.Int64

	upgraders sync.Map // *Settings -> *gws.Upgrader
}

type rejoin struct {
	m    Membership
	data []byte
}

// New starts a hub and its broker with s as the first settings.
func New(b Backend, s Settings) (*Hub, error) {
	if b.Broker == nil {
		b.Broker = NewMemoryBroker()
	}
	if b.Presence == nil {
		b.Presence = NewMemoryPresence()
	}
	if b.Cache == nil {
		b.Cache = NewMemoryCache()
	}
	if b.PresenceSweep <= 0 {
		b.PresenceSweep = DefaultPresenceSweep
	}
	if b.Logger == nil {
		b.Logger = slog.Default()
	}
	h := &Hub{
		backend:  b,
		log:      b.Logger,
		workers:  workers{size: 32},
		channels: newIndex(),
		users:    newIndex(),
		topics:   newTopics(b.Broker),
		rejoins:  make(chan rejoin, 4096),
		clients:  make(map[*Client]struct{}),
		detached: make(chan struct{}, 1),
		stop:     make(chan struct{}),
	}
	h.settings = h.current.Load
	h.Configure(s)
	h.members = newMemberships(h)
	h.pub = h.newPublisher()
	if rr, ok := b.Presence.(RejoinReporter); ok {
		rr.OnRejoin(h.queueRejoin)
	}
	if err := b.Broker.Run(brokerHandler{h}); err != nil {
		return nil, err
	}
	h.loop(h.pingLoop)
	h.loop(h.sweepLoop)
	h.loop(h.rejoinLoop)
	return h, nil
}

func (h *Hub) loop(fn func()) {
	h.loopsDone.Add(1)
	go func() {
		defer h.loopsDone.Done()
		fn()
	}()
}

// Configure swaps the settings in one step and returns the previous ones.
// Connections and subscriptions stay; each value applies from the next
// operation that reads it.
func (h *Hub) Configure(s Settings) *Settings {
	return h.current.Swap(s.withDefaults())
}

// Settings returns the current settings.
func (h *Hub) Settings() *Settings { return h.settings() }

// Full reports whether MaxConnections is reached. Admit is the authority;
// this is only a cheap early check before work such as an auth call.
func (h *Hub) Full() bool {
	max := h.settings().MaxConnections
	return max > 0 && h.count.Load() >= int64(max)
}

// Slot is an admitted connection that is not attached yet.
type Slot struct {
	hub  *Hub
	once sync.Once
}

// Errors of admission.
var (
	ErrFull = errors.New("realtime: max_connections reached")
)

// Admit reserves room for one connection under max_connections, or fails
// with ErrFull or ErrClosed. The slot is used by Attach or given back by
// Release.
func (h *Hub) Admit() (*Slot, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closing {
		return nil, ErrClosed
	}
	if max := h.settings().MaxConnections; max > 0 && len(h.clients)+h.reserved >= max {
		return nil, ErrFull
	}
	h.reserved++
	h.count.Add(1)
	return &Slot{hub: h}, nil
}

// Release gives an unused slot back; it does nothing after Attach.
func (s *Slot) Release() {
	s.once.Do(func() {
		s.hub.mu.Lock()
		s.hub.reserved--
		s.hub.mu.Unlock()
		s.hub.count.Add(-1)
		s.hub.signalDetached()
	})
}

// Attach registers a connection in an admitted slot, writing through t
// with codec. userID, when not empty, indexes it for that user's direct
// messages and disconnects.
func (h *Hub) Attach(slot *Slot, t Transport, codec Codec, caller Caller, userID string) (*Client, error) {
	c := &Client{hub: h, id: newSocketID(), codec: codec, caller: caller}
	c.Touch()
	c.out = newOutbound(t, func() int { return h.settings().MaxPendingBytes }, func(overflow bool) {
		if overflow {
			h.slowConsumers.Add(1)
			// Closing takes locks and may wait for the close deadline:
			// never in the delivering goroutine.
			code, reason := codec.SlowConsumerClose()
			go c.Close(code, reason)
		}
	})
	attached := false
	slot.once.Do(func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		h.reserved--
		if h.closing {
			h.count.Add(-1)
			h.signalDetached()
			return
		}
		h.clients[c] = struct{}{}
		attached = true
	})
	if !attached {
		return nil, ErrClosed
	}
	if userID != "" {
		h.IndexUser(c, userID)
	}
	return c, nil
}

func (h *Hub) removeClient(c *Client) {
	h.mu.Lock()
	_, had := h.clients[c]
	delete(h.clients, c)
	h.mu.Unlock()
	if had {
		h.count.Add(-1)
	}
	h.signalDetached()
}

// signalDetached wakes a Shutdown waiting for the connection count, which
// falls when a client detaches and when an admitted slot is given back or
// refused.
func (h *Hub) signalDetached() {
	select {
	case h.detached <- struct{}{}:
	default:
	}
}

// Disconnected must be called once when a connection's read loop ends:
// nothing more can be written to it.
func (h *Hub) Disconnected(c *Client) {
	c.out.shut()
	c.detach()
}

// newSocketID returns "<digits>.<digits>", both parts random in [0, 10^18):
// Pusher's socket id format (pusher-http-php checks ^\d+\.\d+$), unique
// cluster-wide with overwhelming probability (about 120 random bits), so
// that except-socket exclusions work across nodes.
func newSocketID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	const bound = 1_000_000_000_000_000_000
	a := binary.LittleEndian.Uint64(b[:8]) % bound
	z := binary.LittleEndian.Uint64(b[8:]) % bound
	return strconv.FormatUint(a, 10) + "." + strconv.FormatUint(z, 10)
}

// Counters are cumulative totals since the hub started, for metrics.
type Counters struct {
	Published     int64 // publications handed to the broker by this node
	Delivered     int64 // frames queued to connections for publications
	SlowConsumers int64 // connections closed because their backlog passed the limit
	BrokerErrors  int64
	Reconnects    int64
}

// Counters returns the hub's totals, with the broker's when it keeps them.
func (h *Hub) Counters() Counters {
	c := Counters{Published: h.published.Load(), Delivered: h.delivered.Load(), SlowConsumers: h.slowConsumers.Load()}
	if bs, ok := h.backend.Broker.(BrokerStats); ok {
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
	h.mu.Lock()
	n := len(h.clients)
	h.mu.Unlock()
	return Stats{Connections: n, Channels: channels, Subscriptions: subs}
}

func (h *Hub) pingLoop() {
	interval := h.settings().PingInterval
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-h.stop:
			return
		case <-t.C:
		}
		for _, c := range h.snapshot() {
			c.out.enqueue(outFrame{ping: true})
		}
		if now := h.settings().PingInterval; now != interval {
			interval = now
			t.Reset(interval)
		}
	}
}

func (h *Hub) snapshot() []*Client {
	h.mu.Lock()
	defer h.mu.Unlock()
	all := make([]*Client, 0, len(h.clients))
	for c := range h.clients {
		all = append(all, c)
	}
	return all
}

type scheduledClose struct {
	client *Client
	code   uint16
	reason string
	at     time.Duration
}

func scheduleCloses(all []*Client) []scheduledClose {
	out := make([]scheduledClose, len(all))
	for i, c := range all {
		code, reason, spread := c.codec.ShutdownClose()
		var at time.Duration
		if spread > 0 {
			at = time.Duration(mrand.Int64N(int64(spread)))
		}
		out[i] = scheduledClose{client: c, code: code, reason: reason, at: at}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].at < out[j].at })
	return out
}

// Shutdown closes every connection with its codec's shutdown code, waits up
// to the context's deadline for them to detach, removes this node's
// memberships (announcing the leaves) and stops the broker.
func (h *Hub) Shutdown(ctx context.Context) error {
	h.mu.Lock()
	if h.closing {
		h.mu.Unlock()
		return nil
	}
	h.closing = true
	all := make([]*Client, 0, len(h.clients))
	for c := range h.clients {
		all = append(all, c)
	}
	h.mu.Unlock()
	close(h.stop)
	h.loopsDone.Wait()

	// Close frames are written in parallel, boundedly (each may wait for
	// its deadline), in the order of each one's random moment within its
	// codec's spread, and waited for: the process may exit right after.
	closes := scheduleCloses(all)
	start := time.Now()
	closed := make(chan struct{})
	go func() {
		h.workers.each(len(closes), func(i int) {
			cl := closes[i]
			select {
			case <-time.After(time.Until(start.Add(cl.at))):
			case <-ctx.Done():
			}
			cl.client.CloseAfterPending(cl.code, cl.reason)
		})
		close(closed)
	}()
	var err error
	select {
	case <-closed:
	case <-ctx.Done():
		err = ctx.Err()
	}
	for h.count.Load() > 0 && err == nil {
		select {
		case <-h.detached:
		case <-ctx.Done():
			err = ctx.Err()
		}
	}
	h.members.flush()
	if perr := h.backend.Presence.Close(); err == nil {
		err = perr
	}
	if berr := h.backend.Broker.Close(); err == nil {
		err = berr
	}
	return err
}
