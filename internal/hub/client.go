package hub

import (
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/frankenphp-realtime/realtime/internal/protocol"
)

// Close codes the server sends (SPEC §4).
const (
	CloseNormal       = 1000
	CloseGoingAway    = 1001
	CloseUnsupported  = 1003
	CloseTooLarge     = 1009
	CloseDisconnected = 4001
	CloseSlowConsumer = 4008
)

// Identity is who a connection authenticated as, and what the authorize
// endpoint needs to decide about private and presence channels.
type Identity struct {
	UserID string
	// Cookie is the Cookie header captured at the handshake.
	Cookie string
	// Host and RemoteAddr of the handshake, so that in-process endpoint
	// calls are routed to the same site and see the same client.
	Host, RemoteAddr string
}

// Client is one authenticated WebSocket connection.
type Client struct {
	hub      *Hub
	id       string
	identity Identity
	out      *outbound
	inbound  tokenBucket

	// requestMu serialises request handling with detach, so that a client
	// closed by the server (from another goroutine) is never left half
	// subscribed by a request in progress.
	requestMu sync.Mutex

	mu     sync.Mutex
	subs   map[string]struct{}
	closed bool
}

func (c *Client) send(frame []byte) { c.out.enqueue(outFrame{data: frame}) }

// HandleText processes one client text frame. Frames of one client are
// handled in order; a bad frame gets an error frame and nothing else.
func (c *Client) HandleText(data []byte) {
	c.requestMu.Lock()
	defer c.requestMu.Unlock()
	if c.isClosed() {
		return
	}
	if !c.inbound.allow(time.Now()) {
		c.send(protocol.ErrorFrame(&protocol.Error{Code: protocol.CodeRateLimited,
			Message: "too many frames; slow down"}))
		return
	}
	req, perr := protocol.Decode(data)
	if perr != nil {
		c.send(protocol.ErrorFrame(perr))
		return
	}
	switch req.Action {
	case protocol.ActionPing:
		c.send(protocol.Pong(req.ID))
	case protocol.ActionSubscribe:
		c.subscribe(req)
	case protocol.ActionUnsubscribe:
		c.unsubscribe(req)
	}
}

func (c *Client) refuse(req protocol.Request, code, msg string) {
	c.send(protocol.ErrorFrame(&protocol.Error{ID: req.ID, Code: code, Message: msg, Channel: req.Channel}))
}

func (c *Client) subscribe(req protocol.Request) {
	c.mu.Lock()
	_, already := c.subs[req.Channel]
	full := len(c.subs) >= c.hub.cfg.MaxSubscriptions
	c.mu.Unlock()
	if already {
		c.send(protocol.Subscribed(req.ID, req.Channel, c.hub.membersFor(req.Channel)))
		return
	}
	if full {
		c.refuse(req, protocol.CodeTooManySubscriptions, "this connection already holds the maximum number of subscriptions")
		return
	}
	if protocol.NeedsAuthorization(req.Channel) {
		if err := c.hub.authorize(req.Channel, c.identity); err != nil {
			if errors.Is(err, ErrForbidden) {
				c.refuse(req, protocol.CodeForbidden, "not authorized to subscribe to this channel")
			} else {
				c.hub.log.Warn("realtime: authorize endpoint failed", slog.String("channel", req.Channel), slog.Any("error", err))
				c.refuse(req, protocol.CodeInternal, "authorization is unavailable, try again later")
			}
			return
		}
	}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.subs[req.Channel] = struct{}{}
	c.mu.Unlock()
	if err := c.hub.addSubscription(req.Channel, c); err != nil {
		c.mu.Lock()
		delete(c.subs, req.Channel)
		c.mu.Unlock()
		c.hub.log.Warn("realtime: broker subscribe failed", slog.String("channel", req.Channel), slog.Any("error", err))
		c.refuse(req, protocol.CodeInternal, "subscription failed, try again later")
		return
	}
	if err := c.hub.members.join(Membership{Channel: req.Channel, UserID: c.identity.UserID}); err != nil {
		c.hub.log.Warn("realtime: presence join failed", slog.String("channel", req.Channel), slog.Any("error", err))
	}
	c.send(protocol.Subscribed(req.ID, req.Channel, c.hub.membersFor(req.Channel)))
}

func (c *Client) unsubscribe(req protocol.Request) {
	c.mu.Lock()
	_, had := c.subs[req.Channel]
	delete(c.subs, req.Channel)
	c.mu.Unlock()
	if had {
		c.hub.removeSubscription(req.Channel, c)
		c.hub.members.leave(Membership{Channel: req.Channel, UserID: c.identity.UserID})
	}
	c.send(protocol.Unsubscribed(req.ID, req.Channel))
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
	subs := c.subs
	c.subs = nil
	c.mu.Unlock()
	for ch := range subs {
		c.hub.removeSubscription(ch, c)
		c.hub.members.leave(Membership{Channel: ch, UserID: c.identity.UserID})
	}
	c.hub.removeClient(c)
}
