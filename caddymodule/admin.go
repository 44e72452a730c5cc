package caddymodule

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/caddyserver/caddy/v2"

	"github.com/frankenphp-realtime/realtime/internal/bridge"
	"github.com/frankenphp-realtime/realtime/internal/hub"
)

func init() {
	caddy.RegisterModule(AdminAPI{})
}

// AdminAPI serves the realtime routes on Caddy's admin listener (loopback by
// default, never the public port). Besides SPEC §7's two routes, it carries
// the PHP API for `frankenphp php-cli` on the same machine with the memory
// driver (queue workers, cron): internal/bridge's admin client calls these.
//
//	POST /realtime/broadcast        {"channel": "...", "message": "..."}                        -> 202
//	POST /realtime/trigger          {"channels": [...], "event": "...", "data": "...", "except": "..."} -> 202
//	POST /realtime/send_to_user     {"user_id": "...", "message": "..."}                         -> 202
//	POST /realtime/disconnect_user  {"user_id": "..."}                                           -> 202
//	GET  /realtime/channel_users?channel=...  -> {"users": ["1", ...]}
//	GET  /realtime/stats            -> {"connections": n, "channels": n, "subscriptions": n}
//
// Errors: 400 with a JSON error for bad input (PHP: ValueError), 503 when
// no hub runs or the broker is down (PHP: RuntimeException).
type AdminAPI struct{}

var _ caddy.AdminRouter = AdminAPI{}

// CaddyModule returns the Caddy module information.
func (AdminAPI) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{ID: "admin.api.realtime", New: func() caddy.Module { return new(AdminAPI) }}
}

func (a AdminAPI) Routes() []caddy.AdminRoute {
	return []caddy.AdminRoute{
		{Pattern: "/realtime/broadcast", Handler: post(a.broadcast)},
		{Pattern: "/realtime/trigger", Handler: post(a.trigger)},
		{Pattern: "/realtime/send_to_user", Handler: post(a.sendToUser)},
		{Pattern: "/realtime/disconnect_user", Handler: post(a.disconnectUser)},
		{Pattern: "/realtime/channel_users", Handler: caddy.AdminHandlerFunc(a.channelUsers)},
		{Pattern: "/realtime/stats", Handler: caddy.AdminHandlerFunc(a.stats)},
	}
}

// maxAdminBody bounds a request: the largest max_message_size anyone should
// configure, JSON-escaped, plus room for the channels.
const maxAdminBody = 8 << 20

// post decodes a JSON body into a fresh T and calls fn with the hub API.
func post[T any](fn func(hub.API, *http.Request, *T) error) caddy.AdminHandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		if r.Method != http.MethodPost {
			return apiError(http.StatusMethodNotAllowed, "use POST")
		}
		var req T
		dec := json.NewDecoder(io.LimitReader(r.Body, maxAdminBody))
		if err := dec.Decode(&req); err != nil {
			return apiError(http.StatusBadRequest, "body must be a JSON object: "+err.Error())
		}
		api := bridge.Current()
		if api == nil {
			return apiError(http.StatusServiceUnavailable, "no realtime hub is running")
		}
		if err := fn(api, r, &req); err != nil {
			return apiCallError(err)
		}
		w.WriteHeader(http.StatusAccepted)
		return nil
	}
}

type broadcastRequest struct {
	Channel *string `json:"channel"`
	Message *string `json:"message"`
}

func (AdminAPI) broadcast(api hub.API, r *http.Request, req *broadcastRequest) error {
	if req.Channel == nil || req.Message == nil {
		return apiError(http.StatusBadRequest, "channel and message are required strings")
	}
	return api.Trigger(r.Context(), hub.Publication{Channels: []string{*req.Channel}, Data: []byte(*req.Message)})
}

type triggerRequest struct {
	Channels []string `json:"channels"`
	Event    string   `json:"event"`
	Data     *string  `json:"data"`
	Except   string   `json:"except"`
}

func (AdminAPI) trigger(api hub.API, r *http.Request, req *triggerRequest) error {
	if req.Data == nil {
		return apiError(http.StatusBadRequest, "data is a required string")
	}
	return api.Trigger(r.Context(), hub.Publication{Channels: req.Channels, Event: req.Event, Data: []byte(*req.Data), Except: req.Except})
}

type userRequest struct {
	UserID  *string `json:"user_id"`
	Message *string `json:"message"`
}

func (AdminAPI) sendToUser(api hub.API, r *http.Request, req *userRequest) error {
	if req.UserID == nil || req.Message == nil {
		return apiError(http.StatusBadRequest, "user_id and message are required strings")
	}
	return api.SendToUser(r.Context(), *req.UserID, "", []byte(*req.Message))
}

func (AdminAPI) disconnectUser(api hub.API, r *http.Request, req *userRequest) error {
	if req.UserID == nil {
		return apiError(http.StatusBadRequest, "user_id is a required string")
	}
	return api.DisconnectUser(r.Context(), *req.UserID)
}

func (AdminAPI) channelUsers(w http.ResponseWriter, r *http.Request) error {
	if r.Method != http.MethodGet {
		return apiError(http.StatusMethodNotAllowed, "use GET")
	}
	api := bridge.Current()
	if api == nil {
		return apiError(http.StatusServiceUnavailable, "no realtime hub is running")
	}
	users, err := api.ChannelUsers(r.Context(), r.URL.Query().Get("channel"))
	if err != nil {
		return apiCallError(err)
	}
	w.Header().Set("Content-Type", "application/json")
	return json.NewEncoder(w).Encode(map[string][]string{"users": users})
}

func (AdminAPI) stats(w http.ResponseWriter, r *http.Request) error {
	if r.Method != http.MethodGet {
		return apiError(http.StatusMethodNotAllowed, "use GET")
	}
	s, ok := bridge.Current().(interface{ Stats() hub.Stats })
	if !ok {
		return apiError(http.StatusServiceUnavailable, "no realtime hub is running")
	}
	w.Header().Set("Content-Type", "application/json")
	return json.NewEncoder(w).Encode(s.Stats())
}

// apiCallError maps a hub API error: the caller's input (400), or the
// hub or broker being unavailable (503).
func apiCallError(err error) error {
	var apiErr caddy.APIError
	switch {
	case errors.As(err, &apiErr):
		return err
	case hub.IsInputError(err):
		return apiError(http.StatusBadRequest, err.Error())
	default:
		return apiError(http.StatusServiceUnavailable, err.Error())
	}
}

func apiError(status int, msg string) error {
	return caddy.APIError{HTTPStatus: status, Err: errors.New(msg), Message: fmt.Sprintf("realtime: %s", msg)}
}
