package hub

import (
	"context"
	"errors"
	"log/slog"
	"strings"
)

// Errors of Subscribe.
var (
	// ErrTooManySubscriptions: the connection holds MaxSubscriptions.
	ErrTooManySubscriptions = errors.New("too many subscriptions")
	// ErrBrokerSubscribe: the broker could not subscribe the channel; the
	// client may retry.
	ErrBrokerSubscribe = errors.New("subscription failed")
)

// IsPresenceChannel reports whether join and leave frames are sent for
// channel: both protocols name such channels presence-* (Pusher's
// presence-cache-* included).
func IsPresenceChannel(channel string) bool { return strings.HasPrefix(channel, "presence-") }

// Subscribe adds channel to c's subscriptions (idempotent: a second call
// changes nothing), after the adapter has authorized it. member, when not
// empty, is the user c is present as in channel (presence is tracked for
// every channel, SPEC §6), with info stored alongside (Pusher user_info);
// joining also indexes c under member for direct messages. It returns
// whether c already held the channel.
func (h *Hub) Subscribe(ctx context.Context, c *Client, channel, member string, info []byte) (already bool, err error) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return false, ErrClosed
	}
	for _, s := range c.subs {
		if s.channel == channel {
			c.mu.Unlock()
			return true, nil
		}
	}
	if len(c.subs) >= h.settings().MaxSubscriptions {
		c.mu.Unlock()
		return false, ErrTooManySubscriptions
	}
	c.mu.Unlock()

	if err := h.topics.acquire(ctx, channelTopic+channel); err != nil {
		h.log.Warn("realtime: broker subscribe failed", slog.String("channel", channel), slog.Any("error", err))
		return false, errors.Join(ErrBrokerSubscribe, err)
	}
	c.mu.Lock()
	closed := c.closed
	if !closed {
		c.subs = append(c.subs, subscription{channel: channel, member: member})
	}
	c.mu.Unlock()
	if closed {
		// Detached meanwhile: detach did not see this subscription.
		_ = h.topics.release(context.Background(), channelTopic+channel)
		return false, ErrClosed
	}
	h.channels.add(channel, c)
	if c.isClosed() {
		// Detached between the two locks (adapters serialise requests with
		// detach, so only a caller that does not can get here): detach
		// released the topic but could not see the index entry.
		h.channels.remove(channel, c)
		return false, ErrClosed
	}
	if member != "" {
		h.IndexUser(c, member)
		if err := h.members.join(Membership{Channel: channel, UserID: member}, info, c.caller); err != nil {
			h.log.Warn("realtime: could not record the user in the channel's presence (getChannelUsers); it is retried",
				slog.String("channel", channel), slog.Any("error", err))
		}
	}
	return false, nil
}

// Unsubscribe removes channel from c's subscriptions (idempotent). It
// reports whether c held it.
func (h *Hub) Unsubscribe(c *Client, channel string) bool {
	c.mu.Lock()
	var s subscription
	found := false
	for i, sub := range c.subs {
		if sub.channel == channel {
			s, found = sub, true
			c.subs = append(c.subs[:i], c.subs[i+1:]...)
			break
		}
	}
	c.mu.Unlock()
	if found {
		h.dropSubscription(c, s)
	}
	return found
}

func (h *Hub) dropSubscription(c *Client, s subscription) {
	h.channels.remove(s.channel, c)
	if err := h.topics.release(context.Background(), channelTopic+s.channel); err != nil {
		h.log.Warn("realtime: broker unsubscribe failed", slog.String("channel", s.channel), slog.Any("error", err))
	}
	if s.member != "" {
		h.members.leave(Membership{Channel: s.channel, UserID: s.member})
	}
}

// IndexUser makes c reachable by userID's direct messages and disconnects
// (idempotent).
func (h *Hub) IndexUser(c *Client, userID string) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	for _, u := range c.users {
		if u == userID {
			c.mu.Unlock()
			return
		}
	}
	c.mu.Unlock()
	if err := h.topics.acquire(context.Background(), userTopic+userID); err != nil {
		h.log.Warn("realtime: broker user subscribe failed: direct messages and disconnects will not reach this connection",
			slog.String("user_id", userID), slog.Any("error", err))
		return
	}
	c.mu.Lock()
	closed := c.closed
	if !closed {
		c.users = append(c.users, userID)
	}
	c.mu.Unlock()
	if closed {
		_ = h.topics.release(context.Background(), userTopic+userID)
		return
	}
	h.users.add(userID, c)
	if c.isClosed() {
		h.users.remove(userID, c) // see Subscribe
	}
}

func (h *Hub) unindexUser(c *Client, userID string) {
	h.users.remove(userID, c)
	if err := h.topics.release(context.Background(), userTopic+userID); err != nil {
		h.log.Warn("realtime: broker user unsubscribe failed", slog.String("user_id", userID), slog.Any("error", err))
	}
}

// indexedAs reports whether c is indexed under userID.
func (c *Client) indexedAs(userID string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, u := range c.users {
		if u == userID {
			return true
		}
	}
	return false
}
