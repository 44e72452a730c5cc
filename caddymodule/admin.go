package caddymodule

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/caddyserver/caddy/v2"

	"github.com/frankenphp-realtime/realtime/internal/hub"
)

func init() {
	caddy.RegisterModule(AdminAPI{})
}

// AdminAPI serves the realtime routes on Caddy's admin listener (loopback by
// default, never the public port):
//
//	POST /realtime/broadcast  {"channel": "...", "message": "..."} -> 202
//	GET  /realtime/stats      -> {"connections": n, "channels": n, "subscriptions": n}
type AdminAPI struct{}

var _ caddy.AdminRouter = AdminAPI{}

// CaddyModule returns the Caddy module information.
func (AdminAPI) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{ID: "admin.api.realtime", New: func() caddy.Module { return new(AdminAPI) }}
}

func (a AdminAPI) Routes() []caddy.AdminRoute {
	return []caddy.AdminRoute{
		{Pattern: "/realtime/broadcast", Handler: caddy.AdminHandlerFunc(a.broadcast)},
		{Pattern: "/realtime/stats", Handler: caddy.AdminHandlerFunc(a.stats)},
	}
}

// maxAdminBody bounds a broadcast request: the largest max_message_size
// anyone should configure, JSON-escaped, plus room for the channel.
const maxAdminBody = 8 << 20

func (AdminAPI) broadcast(w http.ResponseWriter, r *http.Request) error {
	if r.Method != http.MethodPost {
		return apiError(http.StatusMethodNotAllowed, "use POST")
	}
	var req struct {
		Channel *string `json:"channel"`
		Message *string `json:"message"`
	}
	dec := json.NewDecoder(io.LimitReader(r.Body, maxAdminBody))
	if err := dec.Decode(&req); err != nil {
		return apiError(http.StatusBadRequest, "body must be a JSON object {\"channel\": string, \"message\": string}")
	}
	if req.Channel == nil || req.Message == nil {
		return apiError(http.StatusBadRequest, "channel and message are required strings")
	}
	api := hub.Current()
	if api == nil {
		return apiError(http.StatusServiceUnavailable, "no realtime hub is running")
	}
	if err := api.Broadcast(r.Context(), *req.Channel, []byte(*req.Message)); err != nil {
		if hub.IsInputError(err) {
			return apiError(http.StatusBadRequest, err.Error())
		}
		return apiError(http.StatusServiceUnavailable, err.Error())
	}
	w.WriteHeader(http.StatusAccepted)
	return nil
}

func (AdminAPI) stats(w http.ResponseWriter, r *http.Request) error {
	if r.Method != http.MethodGet {
		return apiError(http.StatusMethodNotAllowed, "use GET")
	}
	s, ok := hub.Current().(interface{ Stats() hub.Stats })
	if !ok {
		return apiError(http.StatusServiceUnavailable, "no realtime hub is running")
	}
	w.Header().Set("Content-Type", "application/json")
	return json.NewEncoder(w).Encode(s.Stats())
}

func apiError(status int, msg string) error {
	return caddy.APIError{HTTPStatus: status, Err: errors.New(msg), Message: fmt.Sprintf("realtime: %s", msg)}
}
