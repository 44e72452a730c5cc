// Package auth calls the PHP application's endpoints: the auth endpoint that
// identifies a WebSocket handshake, and the authorize endpoint that decides
// private and presence subscriptions.
//
// An endpoint given as a path is served in-process by the server's own
// handler chain (FrankenPHP runs the script on a PHP thread, no socket); an
// http(s):// URL is requested over HTTP.
package auth

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/frankenphp-realtime/realtime/internal/bridge"
)

// maxBody bounds what is read of an endpoint's response.
const maxBody = 64 << 10

// Endpoint is a PHP endpoint, local or remote.
type Endpoint struct {
	// Target is the configured value: a path ("/auth.php") or an http(s) URL.
	Target string
	// Local serves a path target in-process; required when Target is a path.
	Local Local
	// Gate bounds concurrent in-process calls; nil: unbounded.
	Gate *Gate
	// Client performs URL targets; noRedirects when nil.
	Client *http.Client
	// Secret signs URL calls (SignatureHeader); "" leaves them unsigned.
	Secret string
}

// noRedirects performs URL endpoint calls. A redirect is the endpoint's
// answer (a non-2xx: refused), never followed: following one would take
// the credentials and the signature to another URL, and a login page's
// 200 would look like an answer.
var noRedirects = &http.Client{
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// IsURL reports whether target names a remote endpoint rather than a path.
func IsURL(target string) bool {
	return strings.HasPrefix(target, "http://") || strings.HasPrefix(target, "https://")
}

// ParseTarget checks an endpoint option's value.
func ParseTarget(target string) error {
	if IsURL(target) {
		u, err := url.Parse(target)
		if err != nil || u.Host == "" {
			return fmt.Errorf("%q is not a valid http(s) URL", target)
		}
		return nil
	}
	if !strings.HasPrefix(target, "/") {
		return fmt.Errorf("%q must be a path starting with / or an http(s):// URL", target)
	}
	return nil
}

// response is what an endpoint answered.
type response struct {
	status int
	header http.Header
	body   []byte
}

// ErrUnavailable means the endpoint could not be reached or did not answer
// in time: the handshake gets a 503.
var ErrUnavailable = errors.New("endpoint unavailable")

// do sends a request to the endpoint for caller's connection (nil for
// calls no connection caused), with header and body.
func (e *Endpoint) do(ctx context.Context, method string, caller *Caller, header http.Header, body []byte) (*response, error) {
	if IsURL(e.Target) {
		return e.doHTTP(ctx, method, header, body)
	}
	return e.doLocal(ctx, method, caller, header, body)
}

func (e *Endpoint) doHTTP(ctx context.Context, method string, header http.Header, body []byte) (*response, error) {
	req, err := http.NewRequestWithContext(ctx, method, e.Target, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header = header
	if e.Secret != "" {
		req.Header.Set(SignatureHeader, Sign(e.Secret, time.Now(), method, req.URL.RequestURI(), body))
	}
	client := e.Client
	if client == nil {
		client = noRedirects
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return nil, fmt.Errorf("%w: reading response: %v", ErrUnavailable, err)
	}
	return &response{status: resp.StatusCode, header: resp.Header, body: data}, nil
}

// CauseMissingScript: a *.php path endpoint does not exist under the site's
// root, so its request would be served by a front controller or a catch-all.
const CauseMissingScript = "endpoint script is missing"

// doLocal runs the endpoint through the caller's site, in-process. The
// request carries a token that only this call's PHP script can show
// (realtime_is_internal_request()). The handler runs in its own goroutine
// so that a script that overruns the deadline cannot hold the handshake;
// its late answer is discarded.
func (e *Endpoint) doLocal(ctx context.Context, method string, caller *Caller, header http.Header, body []byte) (*response, error) {
	if e.Local == nil {
		return nil, fmt.Errorf("%w: no in-process handler for %s", ErrUnavailable, e.Target)
	}
	if caller == nil {
		caller = &Caller{}
	}
	if err := e.checkScript(caller.Site.Root); err != nil {
		return nil, err
	}
	leave, err := e.Gate.Enter(ctx)
	if err != nil {
		return nil, fmt.Errorf("%w: %w: every in-process endpoint slot is taken (endpoint_concurrency)", ErrUnavailable, err)
	}

	// A fresh context: the handshake's carries Caddy's per-request state
	// (replacer, vars, route groups), which the nested request must not share.
	reqCtx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, err := http.NewRequestWithContext(reqCtx, method, e.Target, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.RequestURI = e.Target
	req.Header = header
	token, end := bridge.BeginInternalCall()
	defer end()
	req.Header.Set(bridge.InternalHeader, token)
	req.Host = caller.Site.Host
	req.RemoteAddr = caller.RemoteAddr
	if caller.TLS {
		req.TLS = &tls.ConnectionState{HandshakeComplete: true}
	}
	rec := newRecorder()
	done := make(chan error, 1)
	go func() {
		// The slot is given back when the script ends, not when the caller
		// stops waiting: a script that overran the deadline still holds its
		// PHP thread, and pages must keep theirs.
		defer leave()
		defer func() {
			if p := recover(); p != nil {
				done <- fmt.Errorf("%w: handler panicked: %v", ErrUnavailable, p)
			}
		}()
		done <- e.Local.ServeLocal(ctx, caller.Site, rec, req)
	}()
	select {
	case err := <-done:
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrUnavailable, err)
		}
		return rec.result()
	case <-ctx.Done():
		return nil, fmt.Errorf("%w: %s did not answer in time", ErrUnavailable, e.Target)
	}
}

// checkScript refuses a *.php path endpoint that does not exist under the
// site's document root: php_server would route it to index.php (or any
// catch-all would answer), and that answer must never count. Paths without
// .php (framework routes) are the front controller's to serve.
func (e *Endpoint) checkScript(root string) error {
	path, _, _ := strings.Cut(e.Target, "?")
	if root == "" || !strings.HasSuffix(path, ".php") {
		return nil
	}
	if _, err := os.Stat(filepath.Join(root, filepath.FromSlash(path))); err == nil {
		return nil
	}
	return &Refusal{CauseMissingScript, fmt.Sprintf(
		"%s does not exist under the site's root %s: its requests would be answered by the front controller; create it, or fix the endpoint option", path, root)}
}

// forwardedHeader copies the headers the endpoint needs to identify the
// user (SPEC §3) and adds the client address.
func forwardedHeader(r *http.Request) http.Header {
	h := http.Header{}
	for _, k := range []string{"Cookie", "Authorization", "Origin", "User-Agent"} {
		if v := r.Header.Values(k); len(v) > 0 {
			h[k] = append([]string(nil), v...)
		}
	}
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		h.Set("X-Forwarded-For", host)
	}
	return h
}

// recorder is a minimal http.ResponseWriter that keeps the first maxBody
// bytes of the body.
type recorder struct {
	mu     sync.Mutex // the handler may outlive the call that reads the result
	header http.Header
	status int
	body   bytes.Buffer
}

func newRecorder() *recorder { return &recorder{header: http.Header{}} }

func (r *recorder) Header() http.Header { return r.header }

func (r *recorder) WriteHeader(status int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.status == 0 {
		r.status = status
	}
}

func (r *recorder) Write(p []byte) (int, error) {
	r.WriteHeader(http.StatusOK)
	r.mu.Lock()
	defer r.mu.Unlock()
	if room := maxBody - r.body.Len(); room > 0 {
		r.body.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

func (r *recorder) Flush() {}

func (r *recorder) result() (*response, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return &response{status: r.status, header: r.header.Clone(), body: bytes.Clone(r.body.Bytes())}, nil
}

// timeoutContext bounds a call to an endpoint.
func timeoutContext(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	if d <= 0 {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, d)
}
