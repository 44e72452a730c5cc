// Package native is the adapter of the native JSON protocol (SPEC §3–§4)
// over the hub: it encodes hub events as native frames and handles what
// native clients send (subscribe, unsubscribe, ping).
package native

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"golang.org/x/time/rate"

	"github.com/frankenphp-realtime/realtime/internal/hub"
	"github.com/frankenphp-realtime/realtime/internal/protocol"
)

// Authorizer decides subscriptions to private-* and presence-* channels
// (the application's authorize endpoint).
type Authorizer interface {
	// Authorize returns nil to allow, an error wrapping ErrForbidden to
	// refuse, any other error when it could not decide.
	Authorize(ctx context.Context, channel, userID string, caller hub.Caller) error
}

// ErrForbidden is what an Authorizer wraps to refuse.
var ErrForbidden = errors.New("forbidden")

// Codec encodes hub events as native frames.
type Codec struct{}

var _ hub.Codec = Codec{}

func (Codec) Message(channel, event string, data []byte) []byte {
	return protocol.NamedMessage(channel, event, data)
}

func (Codec) Direct(_, _ string, data []byte) []byte { return protocol.Direct(data) }

func (Codec) Presence(channel string, joined bool, userID string, _ []byte) []byte {
	if !protocol.IsPresence(channel) {
		return nil
	}
	if joined {
		return protocol.Join(channel, userID)
	}
	return protocol.Leave(channel, userID)
}

// ClientEvent: native clients neither send nor receive client events.
func (Codec) ClientEvent(string, string, []byte, string) []byte { return nil }

func (Codec) DisconnectClose() (uint16, string) {
	return hub.CloseDisconnected, "disconnected by the application"
}

// SlowConsumerClose: 4008 (SPEC §4); realtime.js reconnects.
func (Codec) SlowConsumerClose() (uint16, string) {
	return hub.CloseSlowConsumer, "slow consumer"
}

func (Codec) ShutdownClose() (uint16, string, time.Duration) {
	return hub.CloseGoingAway, "server shutting down", 0
}

// Config is what a native connection reads at each request, so that a
// reload applies to the next request (SPEC §2).
type Config struct {
	Authorizer   Authorizer // nil: private and presence channels are forbidden
	AuthTimeout  time.Duration
	MaxFrameSize int
	// Hint, when set, is told why a refusal happened when the Authorizer's
	// error explains it (a misconfigured endpoint rather than a "no"), to
	// log what to fix.
	Hint func(err error)
}

// Session handles one native connection's frames.
type Session struct {
	hub     *hub.Hub
	client  *hub.Client
	userID  string
	config  func() Config
	log     *slog.Logger
	inbound *rate.Limiter // FrameRate
}

var _ hub.Session = (*Session)(nil)

// Open sends the connected frame (SPEC §3.4) and returns the session that
// reads the client's frames.
func Open(h *hub.Hub, c *hub.Client, userID string, config func() Config, log *slog.Logger) *Session {
	c.Send(protocol.Connected(userID, c.ID()))
	return &Session{hub: h, client: c, userID: userID, config: config, log: log, inbound: newInboundLimiter()}
}

// HandleText processes one client text frame. A bad frame gets an error
// frame and nothing else.
func (s *Session) HandleText(data []byte) {
	if max := s.config().MaxFrameSize; max > 0 && len(data) > max {
		// max_frame_size may have shrunk since the upgrade (the reader's own
		// limit is fixed per connection).
		s.client.Close(hub.CloseTooLarge, "frame too large")
		return
	}
	s.client.Serialize(func() {
		if !s.inbound.Allow() {
			s.client.Send(protocol.ErrorFrame(&protocol.Error{Code: protocol.CodeRateLimited,
				Message: "too many frames; slow down"}))
			return
		}
		req, perr := protocol.Decode(data)
		if perr != nil {
			s.client.Send(protocol.ErrorFrame(perr))
			return
		}
		switch req.Action {
		case protocol.ActionPing:
			s.client.Send(protocol.Pong(req.ID))
		case protocol.ActionSubscribe:
			s.subscribe(req)
		case protocol.ActionUnsubscribe:
			s.hub.Unsubscribe(s.client, req.Channel)
			s.client.Send(protocol.Unsubscribed(req.ID, req.Channel))
		}
	})
}

// HandleBinary closes the connection: the protocol is JSON text only.
func (s *Session) HandleBinary([]byte) {
	s.client.Close(hub.CloseUnsupported, "binary frames are not supported")
}

func (s *Session) refuse(req protocol.Request, code, msg string) {
	s.client.Send(protocol.ErrorFrame(&protocol.Error{ID: req.ID, Code: code, Message: msg, Channel: req.Channel}))
}

func (s *Session) subscribe(req protocol.Request) {
	if _, ok := s.client.Subscribed(req.Channel); !ok {
		if s.client.Subscriptions() >= s.hub.Settings().MaxSubscriptions {
			s.refuse(req, protocol.CodeTooManySubscriptions, "this connection already holds the maximum number of subscriptions")
			return
		}
		if protocol.NeedsAuthorization(req.Channel) && !s.authorized(req) {
			return
		}
	}
	_, err := s.hub.Subscribe(context.Background(), s.client, req.Channel, s.userID, nil)
	switch {
	case errors.Is(err, hub.ErrTooManySubscriptions):
		s.refuse(req, protocol.CodeTooManySubscriptions, "this connection already holds the maximum number of subscriptions")
		return
	case errors.Is(err, hub.ErrClosed):
		return
	case err != nil:
		s.refuse(req, protocol.CodeInternal, "subscription failed, try again later")
		return
	}
	s.client.Send(protocol.Subscribed(req.ID, req.Channel, s.members(req.Channel)))
}

// authorized asks the authorize endpoint, and refuses with the right error
// frame when it does not allow.
func (s *Session) authorized(req protocol.Request) bool {
	cfg := s.config()
	err := ErrForbidden
	if cfg.Authorizer != nil {
		ctx, cancel := context.WithTimeout(context.Background(), cfg.AuthTimeout)
		err = cfg.Authorizer.Authorize(ctx, req.Channel, s.userID, s.client.Caller())
		cancel()
	}
	switch {
	case err == nil:
		return true
	case errors.Is(err, ErrForbidden):
		if cfg.Hint != nil {
			cfg.Hint(err)
		}
		s.refuse(req, protocol.CodeForbidden, "not authorized to subscribe to this channel")
	default:
		s.log.Warn("realtime: authorize endpoint failed", slog.String("channel", req.Channel), slog.Any("error", err))
		s.refuse(req, protocol.CodeInternal, "authorization is unavailable, try again later")
	}
	return false
}

// members is the member list a subscribed frame carries: the cluster-wide
// users of a presence channel, nil for other channels.
func (s *Session) members(channel string) []string {
	if !protocol.IsPresence(channel) {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	users, err := s.hub.ChannelUsers(ctx, channel)
	if err != nil {
		s.log.Warn("realtime: presence unavailable, listing no members", slog.String("channel", channel), slog.Any("error", err))
		return []string{s.userID}
	}
	return users
}
