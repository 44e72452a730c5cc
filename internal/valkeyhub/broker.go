package valkeyhub

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valkey-io/valkey-go"

	"github.com/frankenphp-realtime/realtime/internal/hub"
)

// subscribeBatch caps the channels of one SUBSCRIBE when a reconnect
// subscribes every live topic again.
const subscribeBatch = 500

// Broker carries hub publications between nodes over Valkey pub/sub. A
// topic is published on the Valkey channel "<prefix>:<topic>", and a node
// SUBSCRIBEs only the topics it has local subscribers for.
//
// All subscriptions share one dedicated connection whose reader hands each
// message to the hub's BrokerHandler (which only enqueues). When that
// connection is lost the broker keeps serving: Publish fails at once with
// an error matching ErrUnreachable, Subscribe and Unsubscribe only record
// the wanted topics, and a background loop reconnects with exponential
// backoff and full jitter, then subscribes every wanted topic again.
type Broker struct {
	client  valkey.Client // publishes; valkey-go redials it on demand
	addr    string        // host:port, for messages
	channel string        // "<prefix>:"
	prefix  string
	log     *slog.Logger

	handler   hub.BrokerHandler
	deliverMu sync.Mutex // keeps deliveries sequential across a reconnect

	// subMu is held for writing while a new connection subscribes every
	// wanted topic, for reading by Subscribe and Unsubscribe: a topic
	// recorded while the connection is down is in that snapshot, and one
	// recorded after it is subscribed by its own call.
	subMu  sync.RWMutex
	mu     sync.Mutex
	topics map[string]struct{}    // wanted: topics with local subscribers
	conn   valkey.DedicatedClient // nil while disconnected

	up      atomic.Bool
	lastErr atomic.Pointer[error]

	published, received, errs, reconnects atomic.Uint64

	started   bool
	closeOnce sync.Once
	closing   chan struct{}
	done      chan struct{}
}

var _ hub.Broker = (*Broker)(nil)

// NewBroker returns a broker for the Valkey server at address (SPEC §2
// forms) whose channels start with prefix. It fails only on a bad address
// or prefix: an unreachable server is retried in the background once Run
// is called. A nil logger uses slog.Default().
func NewBroker(address, prefix string, logger *slog.Logger) (*Broker, error) {
	if err := checkPrefix(prefix); err != nil {
		return nil, err
	}
	client, display, err := newClient(address)
	if err != nil {
		return nil, err
	}
	if logger == nil {
		logger = slog.Default()
	}
	return &Broker{
		client:  client,
		addr:    display,
		channel: prefix + ":",
		prefix:  prefix,
		log:     logger,
		topics:  make(map[string]struct{}),
		closing: make(chan struct{}),
		done:    make(chan struct{}),
	}, nil
}

// Run connects the subscription connection and starts the loop that keeps
// it connected. An unreachable server is logged, not returned: the node
// serves its local traffic and catches up when Valkey comes back.
func (b *Broker) Run(h hub.BrokerHandler) error {
	b.mu.Lock()
	if b.started || b.isClosing() {
		b.mu.Unlock()
		return errors.New("valkey: broker already running or closed")
	}
	b.started = true
	b.handler = h
	b.mu.Unlock()
	first := make(chan error, 1)
	go b.loop(first)
	if err := <-first; err != nil {
		b.log.Warn("realtime: valkey unreachable, retrying in the background", slog.String("address", b.addr), slog.Any("error", err))
	}
	return nil
}

// Publish sends data on topic, bounded by ctx and DefaultOpTimeout. While
// the subscription connection is down (until the reconnect loop has
// subscribed again, also just after Valkey comes back) it fails at once
// with an error matching ErrUnreachable.
//
// Errors follow the hub.Broker contract: hub.ErrNotPublished when the
// message certainly did not reach Valkey (known down, a refused dial, an
// error reply), no such mark when it may have (a timeout or a connection
// lost after the command was sent), so the hub never delivers it twice.
func (b *Broker) Publish(ctx context.Context, topic string, data []byte) error {
	if b.isClosing() {
		return fmt.Errorf("valkey: broker closed: %w", hub.ErrNotPublished)
	}
	if !b.up.Load() {
		// Fail fast: the reconnect loop knows the server is gone, and a
		// PHP request must not wait for a dial timeout to learn it.
		b.errs.Add(1)
		var cause error
		if p := b.lastErr.Load(); p != nil {
			cause = *p
		}
		return fmt.Errorf("%w: %w", &unreachableError{op: "publish", addr: b.addr, cause: cause}, hub.ErrNotPublished)
	}
	ctx, cancel := withOpTimeout(ctx)
	defer cancel()
	cmd := b.client.B().Publish().Channel(b.channel + topic).Message(valkey.BinaryString(data)).Build()
	if err := b.client.Do(ctx, cmd).Error(); err != nil {
		b.errs.Add(1)
		if notSent(err) {
			return fmt.Errorf("%w: %w", wrapErr("publish", b.addr, err), hub.ErrNotPublished)
		}
		return wrapErr("publish", b.addr, err)
	}
	b.published.Add(1)
	return nil
}

// notSent reports whether a failed command certainly did not take effect:
// Valkey answered with an error, or no connection could be made. A timeout
// or a connection lost mid-command leaves the outcome unknown.
func notSent(err error) bool {
	if _, ok := valkey.IsValkeyErr(err); ok {
		return true
	}
	if errors.Is(err, valkey.ErrClosing) {
		return true
	}
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

// Subscribe starts delivery of topic to this node. While disconnected it
// only records the topic (the reconnect subscribes it) and returns nil;
// it returns an error only when Valkey refuses the subscription.
func (b *Broker) Subscribe(ctx context.Context, topic string) error {
	b.subMu.RLock()
	defer b.subMu.RUnlock()
	b.mu.Lock()
	if b.isClosing() {
		b.mu.Unlock()
		return errors.New("valkey: broker closed")
	}
	b.topics[topic] = struct{}{}
	conn := b.conn
	b.mu.Unlock()
	if conn == nil {
		return nil
	}
	ctx, cancel := withOpTimeout(ctx)
	defer cancel()
	err := conn.Do(ctx, conn.B().Subscribe().Channel(b.channel+topic).Build()).Error()
	switch {
	case err == nil:
		return nil
	case isNetworkErr(err):
		// The connection is going; its replacement subscribes the topic.
		b.errs.Add(1)
		return nil
	default:
		b.errs.Add(1)
		b.mu.Lock()
		delete(b.topics, topic)
		b.mu.Unlock()
		return wrapErr("subscribe", b.addr, err)
	}
}

// Unsubscribe stops delivery of topic to this node.
func (b *Broker) Unsubscribe(ctx context.Context, topic string) error {
	b.subMu.RLock()
	defer b.subMu.RUnlock()
	b.mu.Lock()
	delete(b.topics, topic)
	conn := b.conn
	b.mu.Unlock()
	if conn == nil {
		return nil
	}
	ctx, cancel := withOpTimeout(ctx)
	defer cancel()
	err := conn.Do(ctx, conn.B().Unsubscribe().Channel(b.channel+topic).Build()).Error()
	if err != nil && !isNetworkErr(err) {
		b.errs.Add(1)
		return wrapErr("unsubscribe", b.addr, err)
	}
	// A lost connection takes its subscriptions with it.
	return nil
}

// Close stops the loop, closes every connection and waits for the
// goroutines it started.
func (b *Broker) Close() error {
	b.closeOnce.Do(func() {
		b.mu.Lock()
		close(b.closing)
		started := b.started
		b.mu.Unlock()
		if started {
			<-b.done
		}
		b.client.Close()
	})
	return nil
}

// Connected reports whether the subscription connection is up.
func (b *Broker) Connected() bool { return b.up.Load() }

// Counters for metrics: publishes handed to Valkey, messages received from
// it, failures (publish, subscribe, lost connections, failed reconnects)
// and successful reconnects after a loss.
func (b *Broker) Published() uint64  { return b.published.Load() }
func (b *Broker) Received() uint64   { return b.received.Load() }
func (b *Broker) Errors() uint64     { return b.errs.Load() }
func (b *Broker) Reconnects() uint64 { return b.reconnects.Load() }

// BrokerCounters implements hub.BrokerStats.
func (b *Broker) BrokerCounters() (errors, reconnects int64) {
	return int64(b.Errors()), int64(b.Reconnects())
}

var _ hub.BrokerStats = (*Broker)(nil)

func (b *Broker) isClosing() bool {
	select {
	case <-b.closing:
		return true
	default:
		return false
	}
}

// deliver runs on the connection's reader: it must never block.
func (b *Broker) deliver(m valkey.PubSubMessage) {
	topic, ok := strings.CutPrefix(m.Channel, b.channel)
	if !ok {
		return
	}
	b.received.Add(1)
	b.deliverMu.Lock()
	b.handler.HandleBrokerMessage(topic, []byte(m.Message))
	b.deliverMu.Unlock()
}

// loop keeps the subscription connection up until Close. The result of
// the first attempt goes to first.
func (b *Broker) loop(first chan<- error) {
	defer close(b.done)
	bo := backoff{min: backoffMin, max: backoffMax}
	everConnected := false
	for {
		s, err := b.connect()
		if first != nil {
			first <- err
			first = nil
		}
		if err == nil {
			if everConnected {
				b.reconnects.Add(1)
				b.log.Info("realtime: valkey reconnected, topics subscribed again", slog.String("address", b.addr))
			}
			everConnected = true
			bo.reset()
			if err = b.serve(s); err == nil {
				return // closing
			}
			b.log.Warn("realtime: valkey connection lost, reconnecting", slog.String("address", b.addr), slog.Any("error", err))
		}
		b.errs.Add(1)
		b.lastErr.Store(&err)
		select {
		case <-b.closing:
			return
		case <-time.After(bo.next()):
		}
	}
}

// session is one subscription connection.
type session struct {
	conn    valkey.DedicatedClient
	release func()
	lost    <-chan error
}

func (s session) close() {
	s.conn.Close()
	s.release()
}

// connect dials a dedicated connection and subscribes every wanted topic
// on it before handing it to Subscribe and Unsubscribe.
func (b *Broker) connect() (session, error) {
	if b.isClosing() {
		return session{}, errors.New("valkey: broker closed")
	}
	var s session
	s.conn, s.release = b.client.Dedicate()
	s.lost = s.conn.SetPubSubHooks(valkey.PubSubHooks{OnMessage: b.deliver})
	select {
	case err := <-s.lost: // a failed dial yields a dead connection that reports at once
		s.release()
		if err == nil {
			err = errors.New("connection closed")
		}
		return session{}, err
	default:
	}
	b.subMu.Lock()
	defer b.subMu.Unlock()
	b.mu.Lock()
	topics := make([]string, 0, len(b.topics))
	for t := range b.topics {
		topics = append(topics, b.channel+t)
	}
	b.mu.Unlock()
	if err := subscribeAll(s.conn, topics); err != nil {
		s.close()
		return session{}, err
	}
	b.mu.Lock()
	b.conn = s.conn
	b.mu.Unlock()
	b.lastErr.Store(nil)
	b.up.Store(true)
	return s, nil
}

// serve waits until the connection is lost (returning why) or the broker
// closes (returning nil), then retires the connection.
func (b *Broker) serve(s session) error {
	var err error
	select {
	case err = <-s.lost:
		if err == nil {
			err = errors.New("connection closed")
		}
	case <-b.closing:
	}
	if err != nil {
		b.lastErr.Store(&err) // before Publish can see the connection down
	}
	b.up.Store(false)
	b.mu.Lock()
	b.conn = nil
	b.mu.Unlock()
	s.close()
	return err
}

func subscribeAll(conn valkey.DedicatedClient, channels []string) error {
	for len(channels) > 0 {
		n := min(len(channels), subscribeBatch)
		ctx, cancel := withOpTimeout(context.Background())
		err := conn.Do(ctx, conn.B().Subscribe().Channel(channels[:n]...).Build()).Error()
		cancel()
		if err != nil {
			return err
		}
		channels = channels[n:]
	}
	return nil
}

var _ hub.Occupancy = (*Broker)(nil)

// OccupiedTopics lists the topics starting with prefix that a node
// subscribes to (PUBSUB CHANNELS): cluster-wide, since a node subscribes a
// channel's topic exactly while it has local subscribers.
func (b *Broker) OccupiedTopics(ctx context.Context, prefix string) ([]string, error) {
	ctx, cancel := withOpTimeout(ctx)
	defer cancel()
	pattern := globEscape(b.channel+prefix) + "*"
	channels, err := b.client.Do(ctx, b.client.B().PubsubChannels().Pattern(pattern).Build()).AsStrSlice()
	if err != nil {
		return nil, wrapErr("pubsub channels", b.addr, err)
	}
	topics := make([]string, 0, len(channels))
	for _, c := range channels {
		if t, ok := strings.CutPrefix(c, b.channel); ok {
			topics = append(topics, t)
		}
	}
	return topics, nil
}

// globEscape escapes Valkey's glob characters.
func globEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch r {
		case '*', '?', '[', ']', '\\':
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}
