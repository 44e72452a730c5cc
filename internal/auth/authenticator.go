package auth

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/frankenphp-realtime/realtime/internal/hub"
	"github.com/frankenphp-realtime/realtime/internal/native"
)

// Handshake outcomes other than success, each mapped to an HTTP status.
var (
	// ErrUnauthorized: the endpoint answered 401 (HTTP 401).
	ErrUnauthorized = errors.New("not authenticated")
	// ErrRefused: another non-2xx, or a 2xx that is not a user id (HTTP
	// 403); a *Refusal in the chain says why.
	ErrRefused = errors.New("authentication refused")
	// ErrEndpointFailed: the endpoint answered 5xx; also an ErrRefused (HTTP
	// 403, SPEC §3), but a failure of the application, not a refusal.
	ErrEndpointFailed = errors.New("auth endpoint failed")
)

// StatusFor maps an Authenticate error to the handshake's HTTP status: 200
// for nil, 503 when the endpoint was unavailable or busy.
func StatusFor(err error) int {
	var refusal *Refusal
	switch {
	case err == nil:
		return http.StatusOK
	case errors.Is(err, ErrUnauthorized):
		return http.StatusUnauthorized
	case errors.Is(err, ErrRefused), errors.As(err, &refusal):
		return http.StatusForbidden
	default:
		return http.StatusServiceUnavailable
	}
}

// Authenticator identifies WebSocket handshakes through the auth endpoint.
type Authenticator struct {
	Endpoint Endpoint
	Timeout  time.Duration
}

// Authenticate asks the endpoint, with a GET carrying the handshake's
// credentials and run through caller's site, which user r belongs to.
func (a *Authenticator) Authenticate(ctx context.Context, r *http.Request, caller *Caller) (string, error) {
	ctx, cancel := timeoutContext(ctx, a.Timeout)
	defer cancel()
	resp, err := a.Endpoint.do(ctx, http.MethodGet, caller, forwardedHeader(r), nil)
	if err != nil {
		return "", err
	}
	switch {
	case resp.status == http.StatusUnauthorized:
		return "", ErrUnauthorized
	case resp.status >= 500:
		return "", fmt.Errorf("%w: %w: it answered %d", ErrRefused, ErrEndpointFailed, resp.status)
	case resp.status < 200 || resp.status > 299:
		return "", fmt.Errorf("%w: auth endpoint answered %d", ErrRefused, resp.status)
	}
	userID, err := parseUserID(a.Endpoint.Target, resp)
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrRefused, err)
	}
	return userID, nil
}

// Authorizer asks the authorize endpoint about private and presence
// channels: a POST with form fields channel and user_id, plus the cookies
// captured at connect, run through the connection's own site.
type Authorizer struct {
	Endpoint Endpoint
}

var _ native.Authorizer = (*Authorizer)(nil)

// Authorize allows only on a 2xx application/json {"allow": true}, refuses
// on any other 2xx and on 4xx (the Refusal says why), and fails on anything
// else, so a broken endpoint reads as "try again" rather than "forbidden".
func (a *Authorizer) Authorize(ctx context.Context, channel, userID string, hc hub.Caller) error {
	caller, _ := hc.(*Caller)
	header := http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}
	if caller != nil && caller.Cookie != "" {
		header.Set("Cookie", caller.Cookie)
	}
	if caller != nil {
		if host, _, err := net.SplitHostPort(caller.RemoteAddr); err == nil {
			header.Set("X-Forwarded-For", host)
		}
	}
	body := url.Values{"channel": {channel}, "user_id": {userID}}.Encode()
	resp, err := a.Endpoint.do(ctx, http.MethodPost, caller, header, []byte(body))
	var refusal *Refusal
	switch {
	case errors.As(err, &refusal):
		return fmt.Errorf("%w: %w", native.ErrForbidden, err)
	case err != nil:
		return err
	case resp.status >= 200 && resp.status <= 299:
		if err := parseAllow(a.Endpoint.Target, resp); err != nil {
			return fmt.Errorf("%w: %w", native.ErrForbidden, err)
		}
		return nil
	case resp.status >= 300 && resp.status <= 499:
		// A redirect is a login page's answer (Symfony's form_login): a
		// refusal, like a 4xx, not an outage to retry.
		return fmt.Errorf("%w: authorize endpoint answered %d", native.ErrForbidden, resp.status)
	default:
		return fmt.Errorf("authorize endpoint answered %d", resp.status)
	}
}
