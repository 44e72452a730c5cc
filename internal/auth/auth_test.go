package auth

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/frankenphp-realtime/realtime/internal/bridge"
	"github.com/frankenphp-realtime/realtime/internal/hub"
	"github.com/frankenphp-realtime/realtime/internal/native"
)

// local runs path endpoints through an http.Handler, as the Caddy module
// runs them through a site's routes; it records the sites it was asked for.
type local struct {
	handler http.Handler
	err     error // when set, ServeLocal cannot run the request at all

	mu    sync.Mutex
	sites []Site
}

var _ Local = (*local)(nil)

func (l *local) ServeLocal(_ context.Context, site Site, w http.ResponseWriter, r *http.Request) error {
	l.mu.Lock()
	l.sites = append(l.sites, site)
	l.mu.Unlock()
	if l.err != nil {
		return l.err
	}
	l.handler.ServeHTTP(w, r)
	return nil
}

func (l *local) seen() []Site {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]Site(nil), l.sites...)
}

func inProcess(h http.HandlerFunc) *local { return &local{handler: h} }

// authApp plays the PHP auth endpoint: the Cookie header decides the answer.
func authApp(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/landing" { // where redirect=1 points: an answer if followed
		w.Header().Set("Content-Type", "text/plain")
		_, _ = io.WriteString(w, "landing")
		return
	}
	switch r.Header.Get("Cookie") {
	case "redirect=1": // a login redirect is a refusal, never followed
		http.Redirect(w, r, "/landing", http.StatusFound)
	case "user=42":
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = io.WriteString(w, "42\n")
	case "html=1": // PHP's default content type: a page, not an answer
		w.Header().Set("Content-Type", "text/html; charset=UTF-8")
		_, _ = io.WriteString(w, "42")
	case "none=1": // no Content-Type at all (in-process; net/http would sniff one)
		w.Header()["Content-Type"] = nil
		_, _ = io.WriteString(w, "42")
	case "page=1": // a front controller's fallback
		w.Header().Set("Content-Type", "text/html; charset=UTF-8")
		_, _ = io.WriteString(w, "<!doctype html>\n<title>Home</title>")
	case "source=1": // auth.php without its <?php tag, sent as text
		w.Header().Set("Content-Type", "text/plain")
		_, _ = io.WriteString(w, "session_start();\necho $_SESSION['user_id'];\n")
	case "spaces=1":
		w.Header().Set("Content-Type", "text/plain")
		_, _ = io.WriteString(w, "user 42")
	case "long=1":
		w.Header().Set("Content-Type", "text/plain")
		_, _ = io.WriteString(w, strings.Repeat("x", MaxUserIDLength+1))
	case "max=1":
		w.Header().Set("Content-Type", "text/plain")
		_, _ = io.WriteString(w, strings.Repeat("x", MaxUserIDLength))
	case "json=bad":
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"id": 7}`)
	case "json=trailing":
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"user_id": 7} {"user_id": 8}`)
	case "json=big":
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"user_id": 12345678901234567890123}`)
	case "json=ctrl":
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"user_id": "a\u0000b"}`)
	case "json=7":
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		_, _ = io.WriteString(w, `{"user_id": 7}`)
	case "json=dup": // the last of duplicate keys must not win
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"user_id": "a", "user_id": "admin"}`)
	case "json=case":
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"User_ID": "admin"}`)
	case "json=str":
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"user_id": "abc"}`)
	case "empty=1":
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(http.StatusOK)
	case "forbidden=1":
		w.WriteHeader(http.StatusForbidden)
	case "boom=1":
		w.WriteHeader(http.StatusInternalServerError)
	case "slow=1":
		time.Sleep(300 * time.Millisecond) // an endpoint slower than the auth timeout
		_, _ = io.WriteString(w, "late")
	case "xff=1":
		w.Header().Set("Content-Type", "text/plain")
		_, _ = io.WriteString(w, r.Header.Get("X-Forwarded-For"))
	case "ua=1":
		w.Header().Set("Content-Type", "text/plain")
		_, _ = io.WriteString(w, r.Header.Get("User-Agent")+"|"+r.Header.Get("Authorization")+"|"+r.Header.Get("Origin"))
	default:
		w.WriteHeader(http.StatusUnauthorized)
	}
}

func handshake(cookie string) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "/ws", nil)
	r.RemoteAddr = "192.0.2.1:1234"
	if cookie != "" {
		r.Header.Set("Cookie", cookie)
	}
	return r
}

func TestAuthenticate(t *testing.T) {
	remote := httptest.NewServer(http.HandlerFunc(authApp))
	defer remote.Close()
	endpoints := map[string]Endpoint{
		"in-process": {Target: "/auth.php", Local: inProcess(authApp)},
		"url":        {Target: remote.URL + "/auth.php"},
	}
	cases := []struct {
		cookie string
		user   string
		status int
	}{
		{"user=42", "42", 0},
		{"json=7", "7", 0},
		{"json=str", "abc", 0},
		{"xff=1", "192.0.2.1", 0},
		{"max=1", strings.Repeat("x", MaxUserIDLength), 0},
		{"json=big", "12345678901234567890123", 0},
		{"html=1", "", http.StatusForbidden},
		{"none=1", "", http.StatusForbidden},
		{"page=1", "", http.StatusForbidden},
		{"source=1", "", http.StatusForbidden},
		{"spaces=1", "", http.StatusForbidden},
		{"long=1", "", http.StatusForbidden},
		{"json=bad", "", http.StatusForbidden},
		{"json=trailing", "", http.StatusForbidden},
		{"json=ctrl", "", http.StatusForbidden},
		{"json=dup", "", http.StatusForbidden},
		{"json=case", "", http.StatusForbidden},
		{"", "", http.StatusUnauthorized},
		{"forbidden=1", "", http.StatusForbidden},
		{"redirect=1", "", http.StatusForbidden},
		{"boom=1", "", http.StatusForbidden},
		{"empty=1", "", http.StatusForbidden},
		{"slow=1", "", http.StatusServiceUnavailable},
	}
	for name, ep := range endpoints {
		a := &Authenticator{Endpoint: ep, Timeout: 100 * time.Millisecond}
		for _, c := range cases {
			r := handshake(c.cookie)
			id, err := a.Authenticate(context.Background(), r, NewCaller(r, "srv0", ""))
			if c.status == 0 {
				if err != nil || id != c.user {
					t.Errorf("%s %q: got %q, %v; want %q", name, c.cookie, id, err, c.user)
				}
				continue
			}
			if err == nil || id != "" || StatusFor(err) != c.status {
				t.Errorf("%s %q: %q, err %v -> %d, want %d", name, c.cookie, id, err, StatusFor(err), c.status)
			}
			if failed := errors.Is(err, ErrEndpointFailed); failed != (c.cookie == "boom=1") {
				t.Errorf("%s %q: %v: a 5xx, and only a 5xx, is the endpoint failing", name, c.cookie, err)
			}
			var refusal *Refusal
			if c.status == http.StatusForbidden && c.cookie != "forbidden=1" && c.cookie != "boom=1" && c.cookie != "redirect=1" &&
				(!errors.As(err, &refusal) || refusal.Hint == "") {
				t.Errorf("%s %q: a refused 2xx must say why: %v", name, c.cookie, err)
			}
		}
	}
}

// The auth call forwards what identifies the user (SPEC §3), and only that.
func TestAuthenticateForwardsCredentials(t *testing.T) {
	var got http.Header
	app := func(w http.ResponseWriter, r *http.Request) {
		got = r.Header.Clone()
		w.Header().Set("Content-Type", "text/plain")
		_, _ = io.WriteString(w, "1")
	}
	a := &Authenticator{Endpoint: Endpoint{Target: "/auth.php", Local: inProcess(app)}, Timeout: time.Second}
	r := handshake("s=1")
	for k, v := range map[string]string{"Authorization": "Bearer t", "Origin": "https://app.example", "User-Agent": "ua/1", "X-Secret": "no"} {
		r.Header.Set(k, v)
	}
	if _, err := a.Authenticate(context.Background(), r, NewCaller(r, "srv0", "")); err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]string{"Cookie": "s=1", "Authorization": "Bearer t", "Origin": "https://app.example", "User-Agent": "ua/1", "X-Forwarded-For": "192.0.2.1"} {
		if got.Get(k) != v {
			t.Errorf("%s = %q, want %q", k, got.Get(k), v)
		}
	}
	if got.Get("X-Secret") != "" {
		t.Error("a header the endpoint does not need was forwarded")
	}
}

func TestAuthenticateUnavailable(t *testing.T) {
	r := handshake("user=42")
	for name, ep := range map[string]Endpoint{
		"unreachable URL":       {Target: "http://127.0.0.1:1/auth.php"},
		"no in-process handler": {Target: "/auth.php"},
		"site gone":             {Target: "/auth.php", Local: &local{handler: http.HandlerFunc(authApp), err: errors.New("no server srv0 after the reload")}},
		"handler panics":        {Target: "/auth.php", Local: inProcess(func(http.ResponseWriter, *http.Request) { panic("boom") })},
	} {
		a := &Authenticator{Endpoint: ep, Timeout: time.Second}
		_, err := a.Authenticate(context.Background(), r, NewCaller(r, "srv0", ""))
		if StatusFor(err) != http.StatusServiceUnavailable || !errors.Is(err, ErrUnavailable) {
			t.Errorf("%s: %v -> %d, want 503", name, err, StatusFor(err))
		}
	}
}

// Every call for a connection runs through the site of its handshake
// (SPEC §2): the auth call, its authorize calls and the presence hooks of
// its memberships, even those another node makes from the caller key.
func TestCallsRunThroughTheCallersSite(t *testing.T) {
	type seen struct{ host, remote string }
	var mu sync.Mutex
	var requests []seen
	app := func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		requests = append(requests, seen{r.Host, r.RemoteAddr})
		mu.Unlock()
		switch r.URL.Path {
		case "/auth.php":
			w.Header().Set("Content-Type", "text/plain")
			_, _ = io.WriteString(w, "42")
		case "/authorize.php":
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, `{"allow": true}`)
		}
	}
	l := inProcess(app)
	r := handshake("s=1")
	r.Host = "b.example:8443"
	caller := NewCaller(r, "srv1", "")
	if caller.Site != (Site{Server: "srv1", Host: "b.example:8443"}) || caller.Cookie != "s=1" || caller.RemoteAddr != "192.0.2.1:1234" {
		t.Fatalf("caller = %+v", caller)
	}
	a := &Authenticator{Endpoint: Endpoint{Target: "/auth.php", Local: l}, Timeout: time.Second}
	if _, err := a.Authenticate(context.Background(), r, caller); err != nil {
		t.Fatal(err)
	}
	z := &Authorizer{Endpoint: Endpoint{Target: "/authorize.php", Local: l}}
	if err := z.Authorize(context.Background(), "private-x", "42", caller); err != nil {
		t.Fatal(err)
	}
	key := caller.Key()
	if strings.Contains(key, "s=1") || strings.Contains(key, "192.0.2.1") {
		t.Fatalf("caller key %q carries credentials into the presence store", key)
	}
	if got := CallerFromKey(key); got.Site != caller.Site || got.Cookie != "" {
		t.Fatalf("CallerFromKey = %+v, want this process's site %+v", got, caller.Site)
	}
	other := strings.Replace(key, bootID, "0123456789abcdef", 1)
	if got := CallerFromKey(other); !got.Site.Remote || got.Site.Server != caller.Site.Server {
		t.Fatalf("CallerFromKey(another process's key) = %+v, want a Remote site", got)
	}
	h := NewHook(func() (*Endpoint, time.Duration) {
		return &Endpoint{Target: "/presence.php", Local: l}, time.Second
	}, slog.New(slog.DiscardHandler))
	defer h.Close()
	h.Notify(hub.EventJoin, hub.Membership{Channel: "presence-a", UserID: "42"}, key, time.Now())
	waitCounts(t, h, 1, 0)

	for i, s := range l.seen() {
		if s != caller.Site {
			t.Errorf("call %d ran through %+v, want %+v", i, s, caller.Site)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(requests) != 3 {
		t.Fatalf("%d requests", len(requests))
	}
	for i, s := range requests {
		if s.host != "b.example:8443" {
			t.Errorf("call %d had Host %q", i, s.host)
		}
	}
	if requests[0].remote != "192.0.2.1:1234" || requests[1].remote != "192.0.2.1:1234" {
		t.Errorf("the connection's calls came from %q, %q", requests[0].remote, requests[1].remote)
	}
}

// Only the module's own in-process calls carry a token that
// realtime_is_internal_request() accepts, and only while they run.
func TestInternalCallToken(t *testing.T) {
	var token string
	var valid bool
	app := func(w http.ResponseWriter, r *http.Request) {
		token = r.Header.Get(bridge.InternalHeader)
		valid = bridge.IsInternalCall(token)
		w.Header().Set("Content-Type", "text/plain")
		_, _ = io.WriteString(w, "1")
	}
	a := &Authenticator{Endpoint: Endpoint{Target: "/auth.php", Local: inProcess(app)}, Timeout: time.Second}
	r := handshake("")
	r.Header.Set(bridge.InternalHeader, "forged")
	if _, err := a.Authenticate(context.Background(), r, NewCaller(r, "srv0", "")); err != nil {
		t.Fatal(err)
	}
	if token == "" || token == "forged" || !valid {
		t.Fatalf("token %q valid=%v during the call", token, valid)
	}
	if bridge.IsInternalCall(token) {
		t.Fatal("the token is still valid after the call")
	}
}

// A *.php path endpoint missing from the site's root would be answered by
// the front controller: it is refused without being called.
func TestMissingScriptIsRefused(t *testing.T) {
	root := t.TempDir()
	var calls atomic.Int32
	l := inProcess(func(w http.ResponseWriter, _ *http.Request) {
		calls.Add(1)
		w.Header().Set("Content-Type", "text/plain")
		_, _ = io.WriteString(w, "42")
	})
	a := &Authenticator{Endpoint: Endpoint{Target: "/auth.php", Local: l}, Timeout: time.Second}
	r := handshake("")
	caller := NewCaller(r, "srv0", root)
	_, err := a.Authenticate(context.Background(), r, caller)
	var refusal *Refusal
	if StatusFor(err) != http.StatusForbidden || !errors.As(err, &refusal) || refusal.Cause != CauseMissingScript {
		t.Fatalf("missing script: %v", err)
	}
	z := &Authorizer{Endpoint: Endpoint{Target: "/authorize.php", Local: l}}
	if err := z.Authorize(context.Background(), "private-x", "42", caller); !errors.Is(err, native.ErrForbidden) {
		t.Fatalf("missing authorize script: %v, want forbidden", err)
	}
	if calls.Load() != 0 {
		t.Fatal("a missing script's request was run")
	}
	if err := os.WriteFile(filepath.Join(root, "auth.php"), []byte("<?php"), 0o644); err != nil {
		t.Fatal(err)
	}
	if id, err := a.Authenticate(context.Background(), r, caller); err != nil || id != "42" {
		t.Fatalf("once the script exists: %q, %v", id, err)
	}
	route := &Authenticator{Endpoint: Endpoint{Target: "/auth", Local: l}, Timeout: time.Second}
	if _, err := route.Authenticate(context.Background(), r, caller); err != nil {
		t.Fatalf("a framework route (no .php) is the front controller's to serve: %v", err)
	}
}

// The gate bounds in-process calls: one that waits too long for a slot is
// answered 503 at once rather than queued.
func TestGateRefusesWhenBusy(t *testing.T) {
	entered := make(chan struct{})
	release := make(chan struct{})
	app := func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Cookie") == "hold=1" {
			close(entered)
			<-release
		}
		w.Header().Set("Content-Type", "text/plain")
		_, _ = io.WriteString(w, "1")
	}
	a := &Authenticator{Endpoint: Endpoint{Target: "/auth.php", Local: inProcess(app), Gate: NewGate(1, 20*time.Millisecond)}, Timeout: 5 * time.Second}
	first := make(chan error, 1)
	go func() {
		r := handshake("hold=1")
		_, err := a.Authenticate(context.Background(), r, NewCaller(r, "srv0", ""))
		first <- err
	}()
	<-entered
	r := handshake("")
	_, err := a.Authenticate(context.Background(), r, NewCaller(r, "srv0", ""))
	if !errors.Is(err, ErrBusy) || StatusFor(err) != http.StatusServiceUnavailable {
		t.Fatalf("call with every slot taken: %v", err)
	}
	close(release)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	if _, err := a.Authenticate(context.Background(), r, NewCaller(r, "srv0", "")); err != nil {
		t.Fatalf("call once the slot is free: %v", err)
	}
}

// Calls to URL endpoints carry an HMAC signature the endpoint can check.
func TestURLCallsAreSigned(t *testing.T) {
	const secret = "s3cret"
	var header, method, uri, body string
	remote := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		header, method, uri, body = r.Header.Get(SignatureHeader), r.Method, r.URL.RequestURI(), string(b)
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"allow": true}`)
	}))
	defer remote.Close()
	z := &Authorizer{Endpoint: Endpoint{Target: remote.URL + "/authorize.php?app=1", Secret: secret}}
	if err := z.Authorize(context.Background(), "private-x", "42", &Caller{}); err != nil {
		t.Fatal(err)
	}
	ts, v1, ok := strings.Cut(strings.TrimPrefix(header, "t="), ",v1=")
	if !ok {
		t.Fatalf("signature header %q", header)
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(ts + "." + method + "." + uri + "." + body))
	if want := hex.EncodeToString(mac.Sum(nil)); v1 != want {
		t.Fatalf("signature %s over %q, want %s", v1, ts+"."+method+"."+uri+"."+body, want)
	}
	if uri != "/authorize.php?app=1" || !strings.Contains(body, "channel=private-x") {
		t.Errorf("signed %s %q", uri, body)
	}
	z.Endpoint.Secret = ""
	if err := z.Authorize(context.Background(), "private-x", "42", &Caller{}); err != nil {
		t.Fatal(err)
	}
	if header != "" {
		t.Errorf("unsigned endpoint got signature %q", header)
	}
}

func TestAuthorize(t *testing.T) {
	app := func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		switch {
		case r.Method != http.MethodPost || r.Header.Get("Cookie") != "s=1" || r.Header.Get("X-Forwarded-For") != "192.0.2.1":
			w.WriteHeader(http.StatusBadRequest)
		case r.PostForm.Get("channel") == "private-ok" && r.PostForm.Get("user_id") == "42":
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, `{"allow": true}`)
		case r.PostForm.Get("channel") == "private-plain": // the right body, not declared JSON
			w.Header().Set("Content-Type", "text/plain")
			_, _ = io.WriteString(w, `{"allow": true}`)
		case r.PostForm.Get("channel") == "private-no-content":
			w.WriteHeader(http.StatusNoContent)
		case r.PostForm.Get("channel") == "private-page":
			_, _ = io.WriteString(w, "<html>front controller</html>")
		case r.PostForm.Get("channel") == "private-false":
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, `{"allow": false}`)
		case r.PostForm.Get("channel") == "private-string":
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, `{"allow": "yes"}`)
		case r.PostForm.Get("channel") == "private-broken":
			w.WriteHeader(http.StatusBadGateway)
		case r.PostForm.Get("channel") == "private-case":
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, `{"Allow": true}`)
		case r.PostForm.Get("channel") == "private-dup":
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, `{"allow": false, "allow": true}`)
		case r.PostForm.Get("channel") == "private-login": // form_login's redirect
			http.Redirect(w, r, "/login", http.StatusFound)
		default:
			w.WriteHeader(http.StatusForbidden)
		}
	}
	a := &Authorizer{Endpoint: Endpoint{Target: "/authorize.php", Local: inProcess(app)}}
	caller := &Caller{Cookie: "s=1", RemoteAddr: "192.0.2.1:5555"}
	if err := a.Authorize(context.Background(), "private-ok", "42", caller); err != nil {
		t.Fatalf("allowed channel: %v", err)
	}
	for _, ch := range []string{"private-no", "private-plain", "private-no-content", "private-page", "private-false", "private-string", "private-login", "private-case", "private-dup"} {
		if err := a.Authorize(context.Background(), ch, "42", caller); !errors.Is(err, native.ErrForbidden) {
			t.Errorf("%s: %v, want forbidden", ch, err)
		}
	}
	if err := a.Authorize(context.Background(), "private-broken", "42", caller); err == nil || errors.Is(err, native.ErrForbidden) {
		t.Fatalf("broken endpoint must be an error, not forbidden: %v", err)
	}
	slow := &Authorizer{Endpoint: Endpoint{Target: "/authorize.php", Local: inProcess(func(http.ResponseWriter, *http.Request) {
		time.Sleep(200 * time.Millisecond) // slower than the caller's deadline
	})}}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := slow.Authorize(ctx, "private-ok", "42", caller); err == nil || errors.Is(err, native.ErrForbidden) {
		t.Fatalf("endpoint past the deadline must be an error, not forbidden: %v", err)
	}
}

func TestParseTarget(t *testing.T) {
	for target, ok := range map[string]bool{
		"/auth.php": true, "http://app:8080/auth": true, "https://a.example/x": true,
		"auth.php": false, "http://": false, "ftp://x/y": false,
	} {
		if err := ParseTarget(target); (err == nil) != ok {
			t.Errorf("ParseTarget(%q) = %v", target, err)
		}
	}
}

func TestValidUserID(t *testing.T) {
	for id, ok := range map[string]bool{
		"42": true, "user@example.com": true, "é": true, strings.Repeat("x", 128): true,
		"": false, "a b": false, "a\tb": false, "a\x00b": false, "\xff": false, strings.Repeat("x", 129): false,
		"a\u00a0b": false,
	} {
		if ValidUserID(id) != ok {
			t.Errorf("ValidUserID(%q) = %v", id, !ok)
		}
	}
}

func waitCounts(t *testing.T, h *Hook, delivered, failed int64) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		d, f, _ := h.Counts()
		if d == delivered && f == failed {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("hook counts delivered=%d failed=%d, want %d and %d", d, f, delivered, failed)
		}
		time.Sleep(5 * time.Millisecond) // polling counters, bounded by the deadline
	}
}

func fixedEndpoint(ep *Endpoint) func() (*Endpoint, time.Duration) {
	return func() (*Endpoint, time.Duration) { return ep, time.Second }
}

func TestHookRetriesUntilAcknowledged(t *testing.T) {
	var mu sync.Mutex
	var calls []string
	var attempts atomic.Int32
	app := func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		if attempts.Add(1) <= 2 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		mu.Lock()
		calls = append(calls, r.PostForm.Get("event")+" "+r.PostForm.Get("channel")+" "+r.PostForm.Get("user_id")+" "+r.PostForm.Get("timestamp"))
		mu.Unlock()
	}
	h := NewHook(fixedEndpoint(&Endpoint{Target: "/presence.php", Local: inProcess(app)}), slog.New(slog.DiscardHandler))
	h.Backoff = time.Millisecond
	defer h.Close()
	h.Notify("join", hub.Membership{Channel: "presence-a", UserID: "7"}, "", time.Unix(1700000000, 0))
	waitCounts(t, h, 1, 0)
	mu.Lock()
	defer mu.Unlock()
	if len(calls) != 1 || calls[0] != "join presence-a 7 1700000000" || attempts.Load() != 3 {
		t.Fatalf("calls = %v after %d attempts", calls, attempts.Load())
	}
}

func TestHookGivesUp(t *testing.T) {
	var attempts atomic.Int32
	app := func(w http.ResponseWriter, _ *http.Request) {
		attempts.Add(1)
		w.WriteHeader(http.StatusInternalServerError)
	}
	h := NewHook(fixedEndpoint(&Endpoint{Target: "/presence.php", Local: inProcess(app)}), slog.New(slog.DiscardHandler))
	h.Backoff = time.Millisecond
	defer h.Close()
	h.Notify("leave", hub.Membership{Channel: "presence-a", UserID: "7"}, "", time.Now())
	waitCounts(t, h, 0, 1)
	if n := attempts.Load(); n != hookAttempts {
		t.Fatalf("%d attempts, want %d", n, hookAttempts)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if !h.Drain(ctx) {
		t.Fatal("Drain with nothing pending")
	}
}

// The hook reads the current configuration's endpoint at each call: none
// means no call; a reload's new endpoint takes the queued calls.
func TestHookFollowsTheConfiguredEndpoint(t *testing.T) {
	var current atomic.Pointer[Endpoint]
	var mu sync.Mutex
	var got []string
	app := func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		mu.Lock()
		got = append(got, r.PostForm.Get("event")+" "+r.PostForm.Get("user_id"))
		mu.Unlock()
	}
	h := NewHook(func() (*Endpoint, time.Duration) { return current.Load(), time.Second }, slog.New(slog.DiscardHandler))
	defer h.Close()
	m := hub.Membership{Channel: "presence-a", UserID: "7"}
	h.Notify("join", m, "", time.Now()) // no presence endpoint configured
	current.Store(&Endpoint{Target: "/presence.php", Local: inProcess(app)})
	for _, ev := range []string{"leave", "join", "leave"} {
		h.Notify(ev, m, "", time.Now())
	}
	waitCounts(t, h, 3, 0)
	mu.Lock()
	defer mu.Unlock()
	// One membership's calls are delivered in order.
	if strings.Join(got, ",") != "leave 7,join 7,leave 7" {
		t.Fatalf("calls = %v", got)
	}
}

// A caller already gone gets no slot, even a free one: its script must not
// run on a PHP thread for nobody.
func TestGateRefusesADoneContext(t *testing.T) {
	g := NewGate(1, time.Second)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if leave, err := g.Enter(ctx); err == nil {
		leave()
		t.Fatal("a done context entered the gate")
	}
	leave, err := g.Enter(context.Background())
	if err != nil {
		t.Fatalf("the slot was lost: %v", err)
	}
	leave()
}
