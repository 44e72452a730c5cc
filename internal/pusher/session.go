package pusher

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"golang.org/x/time/rate"

	"github.com/frankenphp-realtime/realtime/internal/hub"
)

// Client events: at most 10 per second per connection, burst 10 (SPEC §8).
const (
	clientEventRate  = 10
	clientEventBurst = 10
)

// opTimeout bounds the hub calls one frame makes.
const opTimeout = 5 * time.Second

// Session is one Pusher connection's state. Its frame handling runs on
// the connection's read goroutine, one frame at a time.
type Session struct {
	adapter *Adapter
	client  *hub.Client

	// Read goroutine only.
	user        string            // signed-in user id (pusher:signin)
	presence    map[string]string // presence channel -> member id; nil until the first
	events      *rate.Limiter     // client events: clientEventRate, clientEventBurst
	lastRefusal time.Time         // 4301 errors go out at most once per second

	// Activity goroutine only.
	pinged   bool
	pingedAt time.Time
}

var _ hub.Session = (*Session)(nil)

// HandleText handles one client frame. A bad frame gets a pusher:error
// (or a subscription_error naming its channel) and the connection stays.
func (s *Session) HandleText(data []byte) {
	cfg := s.adapter.config()
	if len(data) > cfg.MaxFrameSize {
		// A 1009 close would make pusher-js reconnect in a loop: drop the
		// frame, keep the connection (SPEC §8).
		s.client.Send(ErrorFrame(CodeFrameTooLarge, fmt.Sprintf("frame of %d bytes is over the limit of %d bytes", len(data), cfg.MaxFrameSize)))
		return
	}
	s.client.Serialize(func() { s.handle(data, cfg) })
}

// HandleBinary drops the frame: the protocol is JSON text only.
func (s *Session) HandleBinary([]byte) {
	s.client.Send(ErrorFrame(CodeReconnect, "binary frames are not supported"))
}

func (s *Session) handle(data []byte, cfg Config) {
	f, err := DecodeClientFrame(data, 0)
	if err != nil {
		s.client.Send(ErrorFrame(ErrorCode(err), err.Error()))
		return
	}
	switch f.Event {
	case EventPing:
		s.client.Send(Pong())
	case EventPong:
		// Activity is recorded for every frame already.
	case EventSubscribe:
		s.subscribe(f, cfg)
	case EventUnsubscribe:
		s.adapter.hub.Unsubscribe(s.client, f.Channel)
		delete(s.presence, f.Channel)
	case EventSignin:
		s.signin(f, cfg)
	default:
		s.clientEvent(f, cfg)
	}
}

// subscribe checks the channel's signature (on the exact strings, in
// constant time), subscribes through the hub and confirms.
func (s *Session) subscribe(f ClientFrame, cfg Config) {
	ch, kind := f.Channel, KindOf(f.Channel)
	var member Member
	switch {
	case kind == Reserved:
		s.client.Send(SubscriptionError(ch, 400, "channel names starting with # are reserved"))
		return
	case kind == ServerToUser:
		// Its messages come through the user index (signin); subscribing
		// only checks that the channel is this connection's own.
		if id, _ := ServerToUserID(ch); s.user == "" || id != s.user {
			s.client.Send(SubscriptionError(ch, 403, "only the user signed in as "+id+" may subscribe to "+ch))
			return
		}
		s.client.Send(SubscriptionSucceeded(ch))
		return
	case kind.NeedsSignature():
		if err := cfg.App.VerifyChannelAuth(f.Auth, s.client.ID(), ch, f.ChannelData); err != nil {
			s.client.Send(SubscriptionError(ch, 401, strings.TrimPrefix(err.Error(), "pusher: ")))
			return
		}
		if kind.IsPresence() {
			var err error
			if member, err = ParseChannelData(f.ChannelData); err != nil {
				s.client.Send(SubscriptionError(ch, 400, err.Error()))
				return
			}
		}
	}
	memberID, info := s.user, []byte(nil)
	if kind.IsPresence() {
		memberID, info = member.ID, encodeMemberInfo(member)
	}
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	_, err := s.adapter.hub.Subscribe(ctx, s.client, ch, memberID, info)
	switch {
	case errors.Is(err, hub.ErrTooManySubscriptions):
		s.client.Send(SubscriptionError(ch, 429, "this connection already holds the maximum number of subscriptions"))
		return
	case errors.Is(err, hub.ErrClosed):
		return
	case err != nil:
		s.client.Send(SubscriptionError(ch, 503, "subscription failed, try again later"))
		return
	}
	if kind.IsPresence() {
		if s.presence == nil {
			s.presence = make(map[string]string) // only for connections that join one
		}
		s.presence[ch] = memberID
		s.client.Send(PresenceSubscriptionSucceeded(ch, s.members(ctx, ch, member)))
	} else {
		s.client.Send(SubscriptionSucceeded(ch))
	}
	if kind.IsCache() {
		s.sendCached(ctx, ch)
	}
}

// members lists a presence channel's members cluster-wide; self when the
// store cannot answer.
func (s *Session) members(ctx context.Context, ch string, self Member) []Member {
	ms, err := s.adapter.hub.Members(ctx, ch)
	if err != nil {
		s.adapter.log.Warn("realtime: presence unavailable, listing this member only", slog.String("channel", ch), slog.Any("error", err))
		return []Member{self}
	}
	out := make([]Member, len(ms))
	for i, m := range ms {
		out[i] = memberOf(m.UserID, m.Data)
	}
	return out
}

// sendCached sends a cache channel's last event, or pusher:cache_miss.
func (s *Session) sendCached(ctx context.Context, ch string) {
	event, data, ok, err := s.adapter.hub.LastEvent(ctx, ch)
	if err != nil {
		s.adapter.log.Warn("realtime: cache channel store unavailable", slog.String("channel", ch), slog.Any("error", err))
	}
	if !ok {
		s.client.Send(CacheMiss(ch))
		return
	}
	s.client.Send(Codec{}.Message(ch, event, data))
}

// signin checks the signature of user_data and makes the connection
// reachable as that user (broadcastToUser, #server-to-user-{id}).
func (s *Session) signin(f ClientFrame, cfg Config) {
	if err := cfg.App.VerifyUserAuth(f.Auth, s.client.ID(), f.UserData); err != nil {
		s.client.Send(ErrorFrame(CodeUnauthorized, "signin refused: "+err.Error()))
		return
	}
	u, err := ParseUserData(f.UserData)
	if err != nil {
		s.client.Send(ErrorFrame(CodeUnauthorized, "signin refused: "+err.Error()))
		return
	}
	if s.user != "" && s.user != u.ID {
		// The connection stays indexed as its first user (its user
		// channel, broadcastToUser): one connection is one user, as with
		// Pusher, where pusher-js signs in once per connection.
		s.client.Send(ErrorFrame(CodeUnauthorized, "signin refused: this connection is already signed in as another user; reconnect to sign in again"))
		return
	}
	s.user = u.ID
	s.adapter.hub.IndexUser(s.client, u.ID)
	s.client.Send(SigninSuccess(f.UserData))
}

// clientEvent relays a client-* event to the channel's other subscribers,
// cluster-wide, with the sender's presence identity on presence channels.
func (s *Session) clientEvent(f ClientFrame, cfg Config) {
	kind := KindOf(f.Channel)
	switch {
	case !cfg.ClientEvents:
		s.refuseClientEvent("client events are disabled")
	case !kind.AllowsClientEvents():
		s.refuseClientEvent("client events are only allowed on private and presence channels, not encrypted ones")
	case !s.subscribed(f.Channel):
		s.refuseClientEvent("subscribe to " + f.Channel + " before sending client events on it")
	case !s.events.Allow():
		s.refuseClientEvent(fmt.Sprintf("client event rate limit reached (%d per second)", clientEventRate))
	default:
		ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
		defer cancel()
		if err := s.adapter.hub.ClientEvent(ctx, s.client, f.Channel, f.Event, f.Data, s.presence[f.Channel]); err != nil {
			s.adapter.log.Warn("realtime: client event not relayed to every node", slog.String("channel", f.Channel), slog.Any("error", err))
		}
	}
}

func (s *Session) subscribed(ch string) bool {
	_, ok := s.client.Subscribed(ch)
	return ok
}

// refuseClientEvent drops the event with pusher:error 4301, at most one
// such error per second, and keeps the connection (closing with 4301 would
// stop pusher-js for good).
func (s *Session) refuseClientEvent(why string) {
	now := time.Now()
	if now.Sub(s.lastRefusal) < time.Second {
		return
	}
	s.lastRefusal = now
	s.client.Send(ErrorFrame(CodeClientEventRejected, why))
}

// checkActivity pings a silent connection and closes one that stayed
// silent PongTimeout after the ping (4201: pusher-js reconnects at once).
// Any frame after the ping answers it, whenever the tick samples it.
func (s *Session) checkActivity(timeout time.Duration) {
	now, last := time.Now(), s.client.LastActive()
	if s.pinged && last.After(s.pingedAt) {
		s.pinged = false
	}
	switch {
	case now.Sub(last) < timeout:
	case !s.pinged:
		s.pinged, s.pingedAt = true, now
		s.client.Send(Ping())
	case now.Sub(s.pingedAt) >= PongTimeout:
		s.client.Send(ErrorFrame(CodePongTimeout, "Pong reply not received in time"))
		go s.client.CloseAfterPending(CodePongTimeout, "pong reply not received in time")
	}
}
