package hub

import (
	"sync"
	"sync/atomic"
	"time"
)

// Close codes of the native protocol (SPEC §4). Adapters choose their own
// through their Codec.
const (
	CloseNormal       = 1000
	CloseGoingAway    = 1001
	CloseUnsupported  = 1003
	CloseTooLarge     = 1009
	CloseDisconnected = 4001
	CloseSlowConsumer = 4008
)

// Caller is a connection's binding for calls to the application's endpoints
// (the site and credentials of its handshake), owned by the endpoint
// package; the hub only carries it, to the presence hook in particular.
// Key serializes it so that another node can make those calls for this
// node's memberships (a crashed node's leaves).
type Caller interface {
	Key() string
}

// Client is one WebSocket connection, whatever its protocol.
type Client struct {
	hub    *Hub
	id     string
	codec  Codec
	caller Caller
	out    *outbound
	// lastActive is when the client last sent a frame (unix nanoseconds).
	lastActive atomic.Int64

	// requestMu serialises an adapter's request handling with detach, so
	// that a client closed by the server (from another goroutine) is never
	// left half subscribed by a request in progress.
	requestMu sync.Mutex

	mu     sync.Mutex
	subs   []subscription // few per connection: a slice costs less than a map
	users  []string       // user ids it is indexed under
	closed bool
}

// subscription is one channel a client holds, and the member it is present
// as (UserID "" when anonymous).
type subscription struct {
	channel string
	member  string
}

// ID is the connection's socket id: "<digits>.<digits>", unique cluster-wide.
func (c *Client) ID() string { return c.id }

// Caller returns the binding given at Attach.
func (c *Client) Caller() Caller { return c.caller }

// Send queues one of the adapter's own frames (replies, errors).
func (c *Client) Send(frame []byte) { c.out.enqueue(outFrame{data: frame}) }

// Touch records inbound activity (every frame, control frames included).
func (c *Client) Touch() { c.lastActive.Store(time.Now().UnixNano()) }

// Idle is how long the client has sent nothing.
func (c *Client) Idle() time.Duration { return time.Since(c.LastActive()) }

// LastActive is when the client last sent a frame.
func (c *Client) LastActive() time.Time { return time.Unix(0, c.lastActive.Load()) }

// Serialize runs fn unless the client is closed, excluding detach while it
// runs: adapters handle each request inside it.
func (c *Client) Serialize(fn func()) {
	c.requestMu.Lock()
	defer c.requestMu.Unlock()
	if !c.isClosed() {
		fn()
	}
}

// Subscribed reports whether the client holds channel, and as which member.
func (c *Client) Subscribed(channel string) (member string, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, s := range c.subs {
		if s.channel == channel {
			return s.member, true
		}
	}
	return "", false
}

// Subscriptions counts the channels the client holds.
func (c *Client) Subscriptions() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.subs)
}

// Close closes the connection with code. The client leaves the hub at once
// (stats, deliveries, presence); the close frame follows, bounded by the
// transport's short deadline.
func (c *Client) Close(code uint16, reason string) {
	c.out.shut()
	c.detach()
	c.out.transport.Close(code, reason)
}

// gracefulCloseTimeout bounds how long a graceful close waits for the
// frames queued before it; past it the connection is closed hard.
const gracefulCloseTimeout = 2 * time.Second

// CloseAfterPending closes the connection with code once the frames already
// queued for it are written (bounded): a disconnectUser() that follows a
// broadcastToUser() from the same publisher does not swallow the message.
// The client leaves the hub at once.
func (c *Client) CloseAfterPending(code uint16, reason string) {
	c.detach()
	req := c.out.closeAfterPending(code, reason)
	if req == nil {
		c.out.transport.Close(code, reason)
		return
	}
	select {
	case <-req.done:
	case <-time.After(gracefulCloseTimeout):
		c.out.shut()
		c.out.transport.Close(code, reason)
	}
}

func (c *Client) isClosed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closed
}

// detach removes every trace of the client from the hub. It runs when the
// server closes the client and when its read loop ends; only the first
// call does anything.
func (c *Client) detach() {
	c.requestMu.Lock()
	defer c.requestMu.Unlock()
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.closed = true
	subs, users := c.subs, c.users
	c.subs, c.users = nil, nil
	c.mu.Unlock()
	for _, s := range subs {
		c.hub.dropSubscription(c, s)
	}
	for _, u := range users {
		c.hub.unindexUser(c, u)
	}
	c.hub.removeClient(c)
}

// Closed reports whether the connection has left the hub.
func (c *Client) Closed() bool { return c.isClosed() }
