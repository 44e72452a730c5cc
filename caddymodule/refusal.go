package caddymodule

import (
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/frankenphp-realtime/realtime/internal/auth"
)

// Refused handshakes are logged so that an operator can tell why a browser
// cannot connect (browsers hide the handshake's status from the page):
// one Info line per refusal, rate-limited, and a Warn with what to fix the
// first time each cause is seen (again every hintInterval).
const (
	refusalBurst  = 20
	refusalPerSec = 5
	hintInterval  = 10 * time.Minute
)

// Handshake refusal reasons, also used by the JSON diagnosis.
const (
	reasonOrigin       = "origin"
	reasonUnauthorized = "unauthorized"
	reasonForbidden    = "forbidden"
	reasonFull         = "full"
	reasonUnavailable  = "unavailable"
	// reasonEndpointError: the auth endpoint answered 5xx (HTTP 403 per
	// SPEC §3, but retryable: the application failed, it did not refuse).
	reasonEndpointError = "endpoint_error"
)

type refusalLog struct {
	logger *slog.Logger

	mu         sync.Mutex
	tokens     float64
	last       time.Time
	suppressed int
	hinted     map[string]time.Time
}

func newRefusalLog(logger *slog.Logger) *refusalLog {
	return &refusalLog{logger: logger, tokens: refusalBurst, hinted: make(map[string]time.Time)}
}

// refused logs one refused handshake. err may carry an *auth.Refusal,
// whose hint is logged once per cause.
func (l *refusalLog) refused(r *http.Request, status int, reason string, err error) {
	now := time.Now()
	l.mu.Lock()
	l.tokens = min(refusalBurst, l.tokens+now.Sub(l.last).Seconds()*refusalPerSec)
	l.last = now
	allowed := l.tokens >= 1
	suppressed := 0
	if allowed {
		l.tokens--
		suppressed, l.suppressed = l.suppressed, 0
	} else {
		l.suppressed++
	}
	l.mu.Unlock()
	if allowed {
		attrs := []any{slog.Int("status", status), slog.String("reason", reason),
			slog.String("remote_addr", r.RemoteAddr), slog.String("origin", r.Header.Get("Origin"))}
		if err != nil {
			attrs = append(attrs, slog.String("error", err.Error()))
		}
		if suppressed > 0 {
			attrs = append(attrs, slog.Int("refusals_not_logged", suppressed))
		}
		l.logger.Info("realtime: handshake refused", attrs...)
	}
	l.hintFor(err)
}

// hintFor logs the hint of an *auth.Refusal in err, if any: a
// misconfigured endpoint, not an endpoint that said no.
func (l *refusalLog) hintFor(err error) {
	var refusal *auth.Refusal
	if errors.As(err, &refusal) && refusal.Cause != auth.CauseNotAllowed {
		l.hint(refusal.Cause, refusal.Hint)
	}
}

// hint logs a Warn about cause unless one was logged recently for the same
// endpoint: hints start with the endpoint they are about, so the auth and
// the authorize endpoint misconfigured alike are each reported.
func (l *refusalLog) hint(cause, hint string) {
	now := time.Now()
	endpoint, _, _ := strings.Cut(hint, " ")
	key := cause + " " + endpoint
	l.mu.Lock()
	last, seen := l.hinted[key]
	if seen && now.Sub(last) < hintInterval {
		l.mu.Unlock()
		return
	}
	l.hinted[key] = now
	l.mu.Unlock()
	l.logger.Warn("realtime: "+hint, slog.String("cause", cause))
}
