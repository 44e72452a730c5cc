package hub

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"

	"github.com/frankenphp-realtime/realtime/internal/protocol"
)

// API is what PHP's native functions, the admin API and php-cli call
// (SPEC §5). Hub implements it for a server; Publisher implements it where
// no server runs (php-cli through Valkey).
type API interface {
	// Trigger publishes one message to 1-100 channels, cluster-wide.
	Trigger(ctx context.Context, p Publication) error
	// SendToUser sends data to every connection of userID, cluster-wide;
	// event names it ("" for broadcastToUser()'s unnamed message). data is
	// only read during the call.
	SendToUser(ctx context.Context, userID, event string, data []byte) error
	// DisconnectUser closes every connection of userID, cluster-wide.
	DisconnectUser(ctx context.Context, userID string) error
	// ChannelUsers lists the unique ids of the users present in channel.
	ChannelUsers(ctx context.Context, channel string) ([]string, error)
}

// Publication is one message for one or more channels.
type Publication struct {
	Channels []string
	// Event names the message (realtime_trigger(), Pusher events); "" is
	// broadcast()'s unnamed message.
	Event string
	// Data is the payload, forwarded verbatim. Implementations only read it
	// during the call (the PHP extension passes a view of PHP's memory).
	Data []byte
	// Except is a socket id to leave out (Laravel's ->toOthers()), or "".
	Except string
}

// Limits of a publication (SPEC §5, §8).
const (
	MaxTriggerChannels = 100
	MaxEventName       = 200
)

// Publisher publishes through a backend. The hub embeds one; php-cli uses
// one on its own, with a Valkey broker it never runs.
type Publisher struct {
	broker   Broker
	presence Presence
	cache    Cache
	settings func() *Settings
	// local delivers to this node's connections when the broker could not
	// take a message (nil without a hub).
	local     func(topic string, data []byte)
	published *atomic.Int64
}

var (
	_ API = (*Publisher)(nil)
	_ API = (*Hub)(nil)
)

// NewPublisher returns a Publisher for a process that serves no connections.
func NewPublisher(b Broker, p Presence, c Cache, s Settings) *Publisher {
	if c == nil {
		c = NewMemoryCache()
	}
	settings := s.withDefaults()
	return &Publisher{broker: b, presence: p, cache: c, settings: func() *Settings { return settings }, published: new(atomic.Int64)}
}

func (h *Hub) newPublisher() *Publisher {
	return &Publisher{broker: h.backend.Broker, presence: h.backend.Presence, cache: h.backend.Cache,
		settings: h.settings, local: h.deliver, published: &h.published}
}

func (h *Hub) Trigger(ctx context.Context, p Publication) error {
	if h.isClosing() {
		return ErrClosed
	}
	return h.pub.Trigger(ctx, p)
}

func (h *Hub) SendToUser(ctx context.Context, userID, event string, data []byte) error {
	if h.isClosing() {
		return ErrClosed
	}
	return h.pub.SendToUser(ctx, userID, event, data)
}

func (h *Hub) DisconnectUser(ctx context.Context, userID string) error {
	if h.isClosing() {
		return ErrClosed
	}
	return h.pub.DisconnectUser(ctx, userID)
}

func (h *Hub) ChannelUsers(ctx context.Context, channel string) ([]string, error) {
	return h.pub.ChannelUsers(ctx, channel)
}

func (h *Hub) isClosing() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.closing
}

// CheckPublication validates p against the limits, as an InputError.
func CheckPublication(p Publication, maxMessage int) error {
	if len(p.Channels) == 0 || len(p.Channels) > MaxTriggerChannels {
		return inputErrorf("give 1 to %d channels, not %d", MaxTriggerChannels, len(p.Channels))
	}
	for _, ch := range p.Channels {
		if err := CheckChannel(ch); err != nil {
			return err
		}
	}
	if len(p.Event) > MaxEventName {
		return inputErrorf("event name is %d bytes, over %d", len(p.Event), MaxEventName)
	}
	if strings.HasPrefix(p.Event, "pusher:") || strings.HasPrefix(p.Event, "pusher_internal:") {
		// pusher-js acts on these (a pusher_internal:member_added would
		// add a member nobody authorized): Pusher reserves them.
		return inputErrorf("event name %q is reserved: the pusher: and pusher_internal: prefixes belong to the Pusher protocol", truncate(p.Event))
	}
	if len(p.Data) > maxMessage {
		return inputErrorf("message is %d bytes, over max_message_size (%d bytes)", len(p.Data), maxMessage)
	}
	if p.Except != "" && !ValidSocketID(p.Except) {
		return inputErrorf("invalid socket id %q to leave out: expected digits.digits", truncate(p.Except))
	}
	return nil
}

// CheckChannel validates a channel argument.
func CheckChannel(channel string) error {
	if !protocol.ValidChannel(channel) {
		return inputErrorf("invalid channel name %q: use 1-200 bytes of A-Z a-z 0-9 _ - = @ , . ; :", truncate(channel))
	}
	return nil
}

// CheckUserID validates a user id argument.
func CheckUserID(userID string) error {
	if strings.TrimSpace(userID) == "" {
		return inputErrorf("user id must not be empty")
	}
	return nil
}

// ValidSocketID reports whether id has the socket id form digits.digits.
func ValidSocketID(id string) bool {
	a, b, ok := strings.Cut(id, ".")
	return ok && allDigits(a) && allDigits(b)
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func truncate(s string) string {
	if len(s) > 64 {
		return s[:64] + "..."
	}
	return s
}

// Trigger validates p, remembers it for cache channels, and hands one
// message per channel to the broker.
func (p *Publisher) Trigger(ctx context.Context, pub Publication) error {
	s := p.settings()
	if err := CheckPublication(pub, s.MaxMessageSize); err != nil {
		return err
	}
	var errs []error
	for _, ch := range pub.Channels {
		if s.CacheChannels(ch) {
			if err := p.cache.Set(ctx, ch, encodeCached(pub.Event, pub.Data), s.CacheTTL); err != nil {
				errs = append(errs, fmt.Errorf("remembering the last event of %s: %w", ch, err))
			}
		}
		topic, data := messagePayload(ch, pub.Event, pub.Except, pub.Data)
		if err := p.publish(ctx, topic, data); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (p *Publisher) SendToUser(ctx context.Context, userID, event string, data []byte) error {
	if err := CheckUserID(userID); err != nil {
		return err
	}
	if len(event) > MaxEventName {
		return inputErrorf("event name is %d bytes, over %d", len(event), MaxEventName)
	}
	if max := p.settings().MaxMessageSize; len(data) > max {
		return inputErrorf("message is %d bytes, over max_message_size (%d bytes)", len(data), max)
	}
	topic, payload := directPayload(userID, event, data)
	return p.publish(ctx, topic, payload)
}

func (p *Publisher) DisconnectUser(ctx context.Context, userID string) error {
	if err := CheckUserID(userID); err != nil {
		return err
	}
	topic, payload := disconnectPayload(userID)
	return p.publish(ctx, topic, payload)
}

func (p *Publisher) ChannelUsers(ctx context.Context, channel string) ([]string, error) {
	if err := CheckChannel(channel); err != nil {
		return nil, err
	}
	return p.presence.Users(ctx, channel)
}

// publish hands a payload to the broker. When the broker could definitely
// not take it (the cluster is out of reach), this node's own connections
// still get it, and the caller learns that the others did not; when the
// outcome is unknown, nothing is redelivered (at-most-once, SPEC §4).
func (p *Publisher) publish(ctx context.Context, topic string, data []byte) error {
	err := p.broker.Publish(ctx, topic, data)
	switch {
	case err == nil:
		p.published.Add(1)
		return nil
	case errors.Is(err, ErrNotPublished) && p.local != nil:
		p.local(topic, data)
		return fmt.Errorf("%w (delivered to this node's connections only)", err)
	default:
		return err
	}
}

// LastEvent returns what a cache channel remembers: the event name and data
// of its last publication.
func (h *Hub) LastEvent(ctx context.Context, channel string) (event string, data []byte, ok bool, err error) {
	v, ok, err := h.backend.Cache.Get(ctx, channel)
	if err != nil || !ok {
		return "", nil, false, err
	}
	event, data, ok = decodeCached(v)
	return event, data, ok, nil
}

func encodeCached(event string, data []byte) []byte {
	return append(appendField(nil, event), data...)
}

func decodeCached(v []byte) (string, []byte, bool) {
	f, rest, ok := fields(v, 1)
	if !ok {
		return "", nil, false
	}
	return f[0], rest, true
}

// Members lists the members present in channel, cluster-wide, with the
// info each joined with.
func (h *Hub) Members(ctx context.Context, channel string) ([]Member, error) {
	ctx, cancel := context.WithTimeout(ctx, presenceOpTimeout)
	defer cancel()
	ms, err := h.backend.Presence.Members(ctx, channel)
	if err != nil {
		return nil, err
	}
	for i := range ms {
		ms[i].Data, _ = decodeMemberData(ms[i].Data)
	}
	return ms, nil
}

// ClientEvent sends a client event (Pusher client-*) from c to the other
// subscribers of channel, cluster-wide. c must hold channel.
func (h *Hub) ClientEvent(ctx context.Context, c *Client, channel, event string, data []byte, userID string) error {
	if _, ok := c.Subscribed(channel); !ok {
		return inputErrorf("not subscribed to %s", truncate(channel))
	}
	topic, payload := clientEventPayload(channel, event, c.id, userID, data)
	return h.pub.publish(ctx, topic, payload)
}

// announce tells presence channels' subscribers, on every node, and the
// presence hook about a cluster-wide transition. It runs on exactly one
// node per transition: the one whose store call observed it.
func (h *Hub) announce(event string, m Membership, data []byte) {
	info, callerKey := decodeMemberData(data)
	if IsPresenceChannel(m.Channel) {
		topic, payload := presencePayload(m, event == EventJoin, info)
		ctx, cancel := context.WithTimeout(context.Background(), presenceOpTimeout)
		if err := h.pub.publish(ctx, topic, payload); err != nil {
			h.log.Warn("realtime: publishing a presence event failed", slog.String("channel", m.Channel), slog.String("event", event), slog.Any("error", err))
		}
		cancel()
	}
	if h.backend.Hook != nil && h.settings().HookChannels(m.Channel) {
		h.backend.Hook.Notify(event, m, callerKey, time.Now())
	}
}

// queueRejoin is the store's RejoinReporter callback: it must not block,
// so the announcement is queued for the rejoin loop.
func (h *Hub) queueRejoin(m Membership, data []byte) {
	select {
	case h.rejoins <- rejoin{m, data}:
	default:
		h.announceDropped.Add(1)
		h.log.Warn("realtime: too many presence rejoins at once: a join was not announced", slog.String("channel", m.Channel))
	}
}

func (h *Hub) rejoinLoop() {
	for {
		select {
		case <-h.stop:
			return
		case r := <-h.rejoins:
			h.announce(EventJoin, r.m, r.data)
		}
	}
}

// sweepLoop announces the leaves of memberships whose node stopped
// refreshing them (it crashed).
func (h *Hub) sweepLoop() {
	t := time.NewTicker(h.backend.PresenceSweep)
	defer t.Stop()
	for {
		select {
		case <-h.stop:
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), presenceOpTimeout)
		gone, err := h.backend.Presence.Expire(ctx)
		cancel()
		if err != nil {
			h.log.Debug("realtime: presence sweep failed", slog.Any("error", err))
			continue
		}
		for _, d := range gone {
			h.announce(EventLeave, d.Membership, d.Data)
		}
	}
}
