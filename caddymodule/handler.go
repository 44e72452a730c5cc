package caddymodule

import (
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/frankenphp-realtime/realtime/internal/auth"
)

func init() {
	caddy.RegisterModule(Handler{})
}

// Handler authenticates WebSocket handshakes against the PHP application
// and hands the upgraded connections to the shared hub.
type Handler struct {
	Options

	shared *sharedHub
	logger *slog.Logger
}

var (
	_ caddy.Provisioner           = (*Handler)(nil)
	_ caddyhttp.MiddlewareHandler = (*Handler)(nil)
)

// CaddyModule returns the Caddy module information.
func (Handler) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{ID: "http.handlers.realtime", New: func() caddy.Module { return new(Handler) }}
}

func (h *Handler) Provision(ctx caddy.Context) error {
	h.logger = ctx.Slogger()
	h.Options.normalize()
	if err := h.Options.validate(); err != nil {
		return err
	}
	appModule, err := ctx.App("realtime")
	if err != nil {
		return err
	}
	h.shared, err = appModule.(*App).acquire(h.Options)
	return err
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request, _ caddyhttp.Handler) error {
	h.shared.noteServer(r)
	if !isWebSocketHandshake(r) {
		w.Header().Set("Upgrade", "websocket")
		return refuse(w, http.StatusUpgradeRequired, "this endpoint only accepts WebSocket connections")
	}
	if !originAllowed(r, h.AllowedOrigins) {
		return refuse(w, http.StatusForbidden, "origin not allowed")
	}
	hb := h.shared.hub
	if hb.Full() {
		return refuse(w, http.StatusServiceUnavailable, "too many connections")
	}
	started := time.Now()
	identity, err := h.shared.authn.Authenticate(r.Context(), r)
	h.shared.authDuration.Observe(time.Since(started).Seconds())
	if err != nil {
		status := auth.StatusFor(err)
		if status == http.StatusServiceUnavailable {
			h.logger.Warn("realtime: auth endpoint unavailable", slog.String("endpoint", h.AuthEndpoint), slog.Any("error", err))
		}
		return refuse(w, status, http.StatusText(status))
	}
	conn, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return caddyhttp.Error(http.StatusInternalServerError, errors.New("realtime: connection cannot be hijacked"))
	}
	if err := hb.Upgrade(conn, brw.Reader, r, identity); err != nil {
		h.logger.Debug("realtime: upgrade failed", slog.Any("error", err))
	}
	return nil
}

func refuse(w http.ResponseWriter, status int, msg string) error {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(msg + "\n"))
	return nil
}

func isWebSocketHandshake(r *http.Request) bool {
	return r.Method == http.MethodGet &&
		headerHasToken(r.Header, "Connection", "upgrade") &&
		headerHasToken(r.Header, "Upgrade", "websocket")
}

func headerHasToken(h http.Header, name, token string) bool {
	for _, v := range h.Values(name) {
		for _, t := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}
