package caddymodule

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/frankenphp-realtime/realtime/client"
	"github.com/frankenphp-realtime/realtime/internal/auth"
	"github.com/frankenphp-realtime/realtime/internal/hub"
	"github.com/frankenphp-realtime/realtime/internal/native"
	"github.com/frankenphp-realtime/realtime/internal/pusher"
)

func init() {
	caddy.RegisterModule(Handler{})
}

// Handler authenticates WebSocket handshakes against the PHP application
// and hands the upgraded connections to the shared hub.
type Handler struct {
	Options

	app    *App
	shared *sharedHub
	logger *slog.Logger
	// noRootWarned: the missing-script check could not run (warned once).
	noRootWarned *sync.Once
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
	h.noRootWarned = new(sync.Once)
	h.Options.normalize()
	if err := h.Options.validate(); err != nil {
		return err
	}
	appModule, err := ctx.App("realtime")
	if err != nil {
		return err
	}
	h.app = appModule.(*App)
	if h.shared, err = h.app.acquire(h.Options); err != nil {
		return err
	}
	// The server this handler is provisioned in (Caddy puts it in the
	// provisioning context) serves PHP pages too: hold its connections
	// until PHP is up.
	if srv, ok := ctx.Value(caddyhttp.ServerCtxKey).(*caddyhttp.Server); ok {
		h.app.guardServer(srv)
	}
	return nil
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request, _ caddyhttp.Handler) error {
	if h.PusherApp != nil {
		if key, ok := pusherKey(r.URL.Path); ok && isWebSocketHandshake(r) {
			return h.servePusher(w, r, key)
		}
		if i := strings.Index(r.URL.Path, "/apps/"); i >= 0 {
			h.shared.pusher.ServeAPI(w, r, r.URL.Path[i:])
			return nil
		}
	}
	if !isWebSocketHandshake(r) {
		switch {
		case r.Method == http.MethodGet && r.URL.Query().Has("client"):
			serveClient(w, r)
			return nil
		case r.Method == http.MethodGet && acceptsJSON(r):
			return h.diagnose(w, r)
		}
		w.Header().Set("Upgrade", "websocket")
		return refuse(w, http.StatusUpgradeRequired, "this endpoint only accepts WebSocket connections")
	}
	d, userID, caller := h.check(r)
	if d.Status != http.StatusOK {
		return h.refuseHandshake(w, r, d)
	}
	slot, err := h.shared.hub.Admit()
	if err != nil {
		d = diagnosis{Status: http.StatusServiceUnavailable, Reason: reasonFull, Message: "the server is at max_connections", err: err}
		if errors.Is(err, hub.ErrClosed) {
			d.Reason, d.Message = reasonUnavailable, "the server is shutting down"
		}
		return h.refuseHandshake(w, r, d)
	}
	conn, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		slot.Release()
		return caddyhttp.Error(http.StatusInternalServerError, errors.New("realtime: connection cannot be hijacked"))
	}
	hb := h.shared.hub
	err = hb.Serve(hub.Upgrade{
		Conn: conn, Reader: brw.Reader, Request: r,
		Slot: slot, Codec: native.Codec{}, Caller: caller, UserID: userID,
		ReadLimit: h.MaxFrameSize,
		Open: func(c *hub.Client) hub.Session {
			return native.Open(hb, c, userID, h.shared.nativeConfig, h.logger)
		},
	})
	if err != nil {
		h.logger.Debug("realtime: upgrade failed", slog.Any("error", err))
	}
	return nil
}

// pusherKey returns the {key} of a path ending in /app/{key} (SPEC §8:
// under whatever route the handler is mounted on).
func pusherKey(path string) (string, bool) {
	i := strings.LastIndex(path, "/app/")
	if i < 0 {
		return "", false
	}
	key := path[i+len("/app/"):]
	return key, key != "" && !strings.Contains(key, "/")
}

// servePusher upgrades a Pusher protocol connection. Pusher connections
// are anonymous at connect (no auth endpoint call); the Origin rule and
// max_connections apply, the latter answered after the upgrade (pusher-js
// only sees close codes: 4100 retries after a second).
func (h *Handler) servePusher(w http.ResponseWriter, r *http.Request, key string) error {
	if !originAllowed(r, h.AllowedOrigins) {
		return h.refuseHandshake(w, r, h.originRefused(r))
	}
	upgrade := hub.Upgrade{
		Request: r, Codec: pusher.Codec{}, Caller: callerOf(r),
		ReadLimit: 4 * h.MaxFrameSize,
		Open:      h.shared.pusher.Open,
	}
	switch slot, err := h.shared.hub.Admit(); {
	case subtle.ConstantTimeCompare([]byte(key), []byte(h.PusherApp.Key)) != 1:
		if slot != nil {
			slot.Release()
		}
		upgrade.Refused = hub.Refusal{Frames: [][]byte{pusher.ErrorFrame(pusher.CodeAppDoesNotExist, "Application does not exist")},
			Code: pusher.CodeAppDoesNotExist, Reason: "application does not exist"}
	case errors.Is(err, hub.ErrFull):
		upgrade.Refused = hub.Refusal{Frames: [][]byte{pusher.ErrorFrame(pusher.CodeOverCapacity, "Over capacity")},
			Code: pusher.CodeOverCapacity, Reason: "over capacity"}
	case err != nil:
		// Shutting down: 4200 would make pusher-js retry at once, in a loop
		// for as long as the closes take; 4100 makes it wait a second.
		upgrade.Refused = hub.Refusal{Frames: [][]byte{pusher.ErrorFrame(pusher.CodeOverCapacity, "Server restarting")},
			Code: pusher.CodeOverCapacity, Reason: "server restarting"}
	default:
		upgrade.Slot = slot
	}
	conn, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		if upgrade.Slot != nil {
			upgrade.Slot.Release()
		}
		return caddyhttp.Error(http.StatusInternalServerError, errors.New("realtime: connection cannot be hijacked"))
	}
	upgrade.Conn, upgrade.Reader = conn, brw.Reader
	if err := h.shared.hub.Serve(upgrade); err != nil {
		h.logger.Debug("realtime: Pusher upgrade failed", slog.Any("error", err))
	}
	return nil
}

func (h *Handler) refuseHandshake(w http.ResponseWriter, r *http.Request, d diagnosis) error {
	h.shared.refusals.refused(r, d.Status, d.Reason, d.err)
	if d.Status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "1")
	}
	return refuse(w, d.Status, d.Message)
}

// serveClient answers GET <route>?client with the browser client realtime.js.
func serveClient(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	// Public code: a front end on another origin (allowed_origins) may
	// import it too.
	w.Header().Set("Access-Control-Allow-Origin", "*")
	w.Header().Set("ETag", client.ETag)
	if r.Header.Get("If-None-Match") == client.ETag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	_, _ = w.Write(client.Script)
}

func acceptsJSON(r *http.Request) bool {
	return strings.Contains(r.Header.Get("Accept"), "application/json")
}

// diagnosis is what a plain GET with Accept: application/json learns about
// the WebSocket handshake it would make: browsers hide a refused
// handshake's status, so realtime.js asks here after a failed connect to
// tell "not logged in" or "origin refused" from an outage.
type diagnosis struct {
	Status  int    `json:"status"`
	Reason  string `json:"reason"` // ok, origin, unauthorized, forbidden, full, unavailable
	Message string `json:"message"`
	UserID  string `json:"user_id,omitempty"`
	err     error  // why, for the log
}

func (h *Handler) diagnose(w http.ResponseWriter, r *http.Request) error {
	// A page on another origin may read the answer: it says whether that
	// origin is refused, and, only for allowed origins, who the user is.
	if origin := r.Header.Get("Origin"); origin != "" {
		w.Header().Set("Access-Control-Allow-Origin", origin)
		w.Header().Set("Access-Control-Allow-Credentials", "true")
		w.Header().Add("Vary", "Origin")
	}
	d, _, _ := h.check(r)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	if d.Status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "1")
	}
	w.WriteHeader(d.Status)
	return json.NewEncoder(w).Encode(d)
}

// check runs the handshake's checks (PHP started, origin, capacity, auth
// endpoint through the request's own site) without upgrading.
func (h *Handler) check(r *http.Request) (diagnosis, string, *auth.Caller) {
	if err := h.app.waitPHPFor(r.Context(), time.Duration(h.AuthTimeout)); err != nil {
		msg := "the server is starting, try again"
		if errors.Is(err, errUnloaded) {
			msg = "the configuration was just replaced, try again"
		}
		return diagnosis{Status: http.StatusServiceUnavailable, Reason: reasonUnavailable, Message: msg, err: err}, "", nil
	}
	if !originAllowed(r, h.AllowedOrigins) {
		return h.originRefused(r), "", nil
	}
	if h.shared.hub.Full() {
		return diagnosis{Status: http.StatusServiceUnavailable, Reason: reasonFull, Message: "the server is at max_connections"}, "", nil
	}
	caller := callerOf(r)
	h.warnIfScriptsUnchecked(caller)
	started := time.Now()
	userID, err := h.app.runtime.authn.Authenticate(r.Context(), r, caller)
	h.shared.authDuration.Observe(time.Since(started).Seconds())
	switch auth.StatusFor(err) {
	case http.StatusOK:
		return diagnosis{Status: http.StatusOK, Reason: "ok", Message: "a WebSocket handshake would be accepted", UserID: userID}, userID, caller
	case http.StatusUnauthorized:
		return diagnosis{Status: http.StatusUnauthorized, Reason: reasonUnauthorized, Message: "not logged in: the auth endpoint answered 401", err: err}, "", nil
	case http.StatusForbidden:
		if errors.Is(err, auth.ErrEndpointFailed) {
			// SPEC §3 answers 403, but the application failed rather than
			// refused: clients should retry, not give up.
			return diagnosis{Status: http.StatusForbidden, Reason: reasonEndpointError, Message: "the auth endpoint failed (5xx), try again", err: err}, "", nil
		}
		return diagnosis{Status: http.StatusForbidden, Reason: reasonForbidden, Message: "the auth endpoint refused this user", err: err}, "", nil
	default:
		return diagnosis{Status: http.StatusServiceUnavailable, Reason: reasonUnavailable, Message: "the auth endpoint is unavailable, try again", err: err}, "", nil
	}
}

// callerOf binds a handshake to the Caddy server and Host that received
// it (SPEC §2), with the site's document root for the endpoint checks.
func callerOf(r *http.Request) *auth.Caller {
	server := ""
	if srv, ok := r.Context().Value(caddyhttp.ServerCtxKey).(*caddyhttp.Server); ok {
		server = serverKey(srv)
	}
	root, _ := caddyhttp.GetVar(r.Context(), "root").(string)
	if repl, ok := r.Context().Value(caddy.ReplacerCtxKey).(*caddy.Replacer); ok && root != "" {
		root = repl.ReplaceAll(root, "")
	}
	return auth.NewCaller(r, server, root)
}

// warnIfScriptsUnchecked says, once, that *.php path endpoints cannot be
// checked for existence on a site without a `root` directive (the root of
// `php_server { root … }` is private to php_server): a missing script's
// request would then reach the front controller, refused only if its
// answer does not look like one.
func (h *Handler) warnIfScriptsUnchecked(c *auth.Caller) {
	if c.Site.Root != "" {
		return
	}
	h.noRootWarned.Do(func() {
		var scripts []string
		for _, e := range []string{h.AuthEndpoint, h.AuthorizeEndpoint, h.PresenceEndpoint} {
			if p, _, _ := strings.Cut(e, "?"); strings.HasPrefix(p, "/") && strings.HasSuffix(p, ".php") {
				scripts = append(scripts, p)
			}
		}
		if len(scripts) == 0 {
			return
		}
		h.logger.Warn("realtime: cannot check that the endpoint scripts exist: this site has no `root` directive (php_server's own root is not visible to other handlers); add `root * <document root>` to the site, so that a missing script is refused instead of reaching the front controller",
			slog.Any("scripts", scripts), slog.String("host", c.Site.Host))
	})
}

// originRefused is the refusal of a foreign Origin (SPEC §2).
func (h *Handler) originRefused(r *http.Request) diagnosis {
	h.hintOwnOrigin(r)
	msg := "this page's origin is not listed in allowed_origins"
	if len(h.AllowedOrigins) == 0 {
		msg = "this page's origin is not this server's own host; list other origins in allowed_origins"
	}
	return diagnosis{Status: http.StatusForbidden, Reason: reasonOrigin, Message: msg}
}

// serverKey names a Caddy server by its listen addresses: what stays the
// same when a reload renames servers (Caddy numbers them by listener order).
func serverKey(srv *caddyhttp.Server) string { return strings.Join(srv.Listen, " ") }

// hintOwnOrigin warns when allowed_origins locks out the site's own pages:
// intended (SPEC §2: with the option set, only the listed origins
// connect), but a surprise when it happens.
func (h *Handler) hintOwnOrigin(r *http.Request) {
	if len(h.AllowedOrigins) == 0 {
		return
	}
	if u, err := url.Parse(r.Header.Get("Origin")); err == nil && strings.EqualFold(u.Host, r.Host) {
		h.shared.refusals.hint("own origin not allowed", fmt.Sprintf(
			"allowed_origins does not list this site's own origin %s://%s, so its own pages cannot connect: add it to allowed_origins", u.Scheme, u.Host))
	}
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
