package pusher

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/frankenphp-realtime/realtime/internal/hub"
)

// maxAPIBody bounds an HTTP API request body: ten events of the largest
// max_message_size anyone should configure, JSON-escaped.
const maxAPIBody = 16 << 20

// ServeAPI answers one Pusher HTTP API request (SPEC §8). path is the
// request path from "/apps/" on: what the SDKs sign, without the prefix of
// the route the handler is mounted on (PUSHER.md §9.4).
func (a *Adapter) ServeAPI(w http.ResponseWriter, r *http.Request, path string) {
	cfg := a.config()
	rest, ok := strings.CutPrefix(path, "/apps/"+cfg.App.ID+"/")
	if !ok {
		writeError(w, http.StatusNotFound, errors.New("pusher: unknown app id"))
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxAPIBody+1))
	if err != nil {
		writeError(w, http.StatusBadRequest, fmt.Errorf("pusher: reading the request body: %w", err))
		return
	}
	if len(body) > maxAPIBody {
		writeError(w, http.StatusRequestEntityTooLarge, fmt.Errorf("pusher: request body over %d bytes", maxAPIBody))
		return
	}
	if err := cfg.App.VerifyRequest(r.Method, path, r.URL.Query(), body, time.Now(), cfg.TimestampWindow); err != nil {
		writeError(w, http.StatusUnauthorized, err)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), opTimeout)
	defer cancel()
	out, err := a.route(ctx, r.Method, rest, r.URL.Query(), body)
	if err != nil {
		status := StatusFor(err)
		switch {
		case errors.Is(err, errNotFound):
			status = http.StatusNotFound
		case errors.Is(err, errMethod):
			status = http.StatusMethodNotAllowed
		case hub.IsInputError(err):
			status = http.StatusBadRequest
		case status == http.StatusInternalServerError:
			// The hub or the broker: the SDK's caller may retry.
			status = http.StatusServiceUnavailable
			a.log.Warn("realtime: Pusher HTTP API call failed", slog.String("path", path), slog.Any("error", err))
		}
		writeError(w, status, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(out)
}

var (
	errNotFound = errors.New("pusher: no such API endpoint")
	errMethod   = errors.New("pusher: method not allowed")
)

func (a *Adapter) route(ctx context.Context, method, rest string, q url.Values, body []byte) ([]byte, error) {
	maxData := a.hub.Settings().MaxMessageSize
	switch {
	case rest == "events":
		if method != http.MethodPost {
			return nil, errMethod
		}
		e, err := ParseEvent(body, maxData)
		if err != nil {
			return nil, err
		}
		if err := a.publish(ctx, e); err != nil {
			return nil, err
		}
		stats, err := a.eventStats(ctx, e)
		return TriggerResponse(stats, e.Info), err
	case rest == "batch_events":
		if method != http.MethodPost {
			return nil, errMethod
		}
		events, err := ParseBatch(body, maxData)
		if err != nil {
			return nil, err
		}
		stats := make([]ChannelStats, len(events))
		for i, e := range events {
			if err := a.publish(ctx, e); err != nil {
				return nil, err
			}
			if e.Info.counts() {
				if stats[i], err = a.channelStats(ctx, e.Channels[0], e.Info); err != nil {
					return nil, err
				}
			}
		}
		return BatchResponse(events, stats), nil
	case rest == "channels":
		if method != http.MethodGet {
			return nil, errMethod
		}
		return a.channels(ctx, q)
	case strings.HasPrefix(rest, "channels/"):
		if method != http.MethodGet {
			return nil, errMethod
		}
		return a.channel(ctx, strings.TrimPrefix(rest, "channels/"), q)
	case strings.HasPrefix(rest, "users/") && strings.HasSuffix(rest, "/terminate_connections"):
		if method != http.MethodPost {
			return nil, errMethod
		}
		user := strings.TrimSuffix(strings.TrimPrefix(rest, "users/"), "/terminate_connections")
		if err := CheckTerminateUserID(user); err != nil {
			return nil, err
		}
		return EmptyResponse(), a.hub.DisconnectUser(ctx, user)
	}
	return nil, errNotFound
}

// publish triggers one event: channels to subscribers (socket_id left out
// cluster-wide), #server-to-user-{id} to that user's signed-in connections.
func (a *Adapter) publish(ctx context.Context, e Event) error {
	var channels []string
	var errs []error
	for _, ch := range e.Channels {
		if id, ok := ServerToUserID(ch); ok {
			errs = append(errs, a.hub.SendToUser(ctx, id, e.Name, []byte(e.Data)))
			continue
		}
		channels = append(channels, ch)
	}
	if len(channels) > 0 {
		errs = append(errs, a.hub.Trigger(ctx, hub.Publication{Channels: channels, Event: e.Name, Data: []byte(e.Data), Except: e.SocketID}))
	}
	return errors.Join(errs...)
}

func (a *Adapter) eventStats(ctx context.Context, e Event) ([]ChannelStats, error) {
	if !e.Info.counts() {
		return nil, nil
	}
	stats := make([]ChannelStats, 0, len(e.Channels))
	for _, ch := range e.Channels {
		s, err := a.channelStats(ctx, ch, e.Info)
		if err != nil {
			return nil, err
		}
		stats = append(stats, s)
	}
	return stats, nil
}

// channelStats gathers what info asks for about one channel: occupied and
// user_count cluster-wide; subscription_count from this node's connections
// (exact with the memory driver; see docs/pusher.md for Valkey).
func (a *Adapter) channelStats(ctx context.Context, ch string, info Info) (ChannelStats, error) {
	s := ChannelStats{Name: ch, SubscriptionCount: a.hub.LocalSubscriptions(ch)}
	var err error
	if s.Occupied, err = a.hub.Occupied(ctx, ch); err != nil {
		return s, err
	}
	if info.UserCount && KindOf(ch).IsPresence() {
		users, err := a.hub.ChannelUsers(ctx, ch)
		if err != nil {
			return s, err
		}
		s.UserCount = len(users)
	}
	if info.Cache && KindOf(ch).IsCache() {
		event, data, ok, err := a.hub.LastEvent(ctx, ch)
		if err != nil {
			return s, err
		}
		if ok {
			s.Cache = &CachedEvent{Event: event, Data: string(data), TTL: a.hub.Settings().CacheTTL}
		}
	}
	return s, nil
}

func (a *Adapter) channels(ctx context.Context, q url.Values) ([]byte, error) {
	cq, err := ParseChannelsQuery(q)
	if err != nil {
		return nil, err
	}
	names, err := a.hub.OccupiedChannels(ctx, cq.Prefix)
	if err != nil {
		return nil, err
	}
	stats := make([]ChannelStats, 0, len(names))
	for _, ch := range names {
		if !ValidChannelName(ch) {
			continue // a native-only name (with ':') is not a Pusher channel
		}
		s, err := a.channelStats(ctx, ch, cq.Info)
		if err != nil {
			return nil, err
		}
		stats = append(stats, s)
	}
	return ChannelsResponse(stats, cq.Info), nil
}

func (a *Adapter) channel(ctx context.Context, rest string, q url.Values) ([]byte, error) {
	name, users := strings.CutSuffix(rest, "/users")
	if users {
		if err := CheckUsersChannel(name); err != nil {
			return nil, err
		}
		ids, err := a.hub.ChannelUsers(ctx, name)
		if err != nil {
			return nil, err
		}
		return UsersResponse(ids), nil
	}
	info, err := ParseChannelQuery(name, q)
	if err != nil {
		return nil, err
	}
	s, err := a.channelStats(ctx, name, info)
	if err != nil {
		return nil, err
	}
	return ChannelResponse(s, info), nil
}

func writeError(w http.ResponseWriter, status int, err error) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(ErrorBody(err))
}
