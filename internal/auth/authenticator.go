package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/frankenphp-realtime/realtime/internal/hub"
)

// Handshake outcomes other than success, each mapped to an HTTP status.
var (
	// ErrUnauthorized: the endpoint answered 401 (HTTP 401).
	ErrUnauthorized = errors.New("not authenticated")
	// ErrRefused: another non-2xx, or an empty user id (HTTP 403).
	ErrRefused = errors.New("authentication refused")
)

// StatusFor maps an Authenticate error to the handshake's HTTP status.
func StatusFor(err error) int {
	switch {
	case errors.Is(err, ErrUnauthorized):
		return http.StatusUnauthorized
	case errors.Is(err, ErrRefused):
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
// credentials, which user r belongs to.
func (a *Authenticator) Authenticate(ctx context.Context, r *http.Request) (hub.Identity, error) {
	ctx, cancel := timeoutContext(ctx, a.Timeout)
	defer cancel()
	resp, err := a.Endpoint.do(ctx, http.MethodGet, r, forwardedHeader(r), nil)
	if err != nil {
		return hub.Identity{}, err
	}
	switch {
	case resp.status == http.StatusUnauthorized:
		return hub.Identity{}, ErrUnauthorized
	case resp.status < 200 || resp.status > 299:
		return hub.Identity{}, fmt.Errorf("%w: auth endpoint answered %d", ErrRefused, resp.status)
	}
	userID, err := parseUserID(resp)
	if err != nil {
		return hub.Identity{}, fmt.Errorf("%w: %v", ErrRefused, err)
	}
	return hub.Identity{UserID: userID, Cookie: r.Header.Get("Cookie"), Host: r.Host, RemoteAddr: r.RemoteAddr}, nil
}

// parseUserID reads the user id from a plain-text body or, for
// application/json, from {"user_id": "42"} (numbers accepted).
func parseUserID(resp *response) (string, error) {
	mt, _, _ := mime.ParseMediaType(resp.header.Get("Content-Type"))
	var id string
	if mt == "application/json" {
		var body struct {
			UserID json.RawMessage `json:"user_id"`
		}
		if err := json.Unmarshal(resp.body, &body); err != nil {
			return "", fmt.Errorf("auth endpoint returned invalid JSON: %v", err)
		}
		id = jsonScalarString(body.UserID)
	} else {
		id = strings.TrimSpace(string(resp.body))
	}
	if id == "" {
		return "", errors.New("auth endpoint returned an empty user id")
	}
	return id, nil
}

func jsonScalarString(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return strings.TrimSpace(s)
	}
	var n json.Number
	if json.Unmarshal(raw, &n) == nil {
		return n.String()
	}
	return ""
}

// Authorizer asks the authorize endpoint about private and presence
// channels: a POST with form fields channel and user_id, plus the cookies
// captured at connect.
type Authorizer struct {
	Endpoint Endpoint
	Timeout  time.Duration
}

var _ hub.Authorizer = (*Authorizer)(nil)

// Authorize allows on 2xx, refuses on 4xx and fails on anything else, so a
// broken endpoint reads as "try again" rather than "forbidden".
func (a *Authorizer) Authorize(ctx context.Context, channel string, id hub.Identity) error {
	ctx, cancel := timeoutContext(ctx, a.Timeout)
	defer cancel()
	header := http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}
	if id.Cookie != "" {
		header.Set("Cookie", id.Cookie)
	}
	body := url.Values{"channel": {channel}, "user_id": {id.UserID}}.Encode()
	origin := &http.Request{Host: id.Host, RemoteAddr: id.RemoteAddr, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1}
	resp, err := a.Endpoint.do(ctx, http.MethodPost, origin, header, []byte(body))
	if err != nil {
		return err
	}
	switch {
	case resp.status >= 200 && resp.status <= 299:
		return nil
	case resp.status >= 400 && resp.status <= 499:
		return fmt.Errorf("%w: authorize endpoint answered %d", hub.ErrForbidden, resp.status)
	default:
		return fmt.Errorf("authorize endpoint answered %d", resp.status)
	}
}
