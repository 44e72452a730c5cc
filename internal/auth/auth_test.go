package auth

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/frankenphp-realtime/realtime/internal/hub"
)

// authApp plays the PHP auth endpoint: the Cookie header decides the answer.
func authApp(w http.ResponseWriter, r *http.Request) {
	switch r.Header.Get("Cookie") {
	case "user=42":
		_, _ = io.WriteString(w, "42\n")
	case "json=7":
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		_, _ = io.WriteString(w, `{"user_id": 7}`)
	case "json=str":
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"user_id": "abc"}`)
	case "empty=1":
		w.WriteHeader(http.StatusOK)
	case "forbidden=1":
		w.WriteHeader(http.StatusForbidden)
	case "boom=1":
		w.WriteHeader(http.StatusInternalServerError)
	case "slow=1":
		time.Sleep(300 * time.Millisecond)
		_, _ = io.WriteString(w, "late")
	case "xff=1":
		_, _ = io.WriteString(w, r.Header.Get("X-Forwarded-For"))
	default:
		w.WriteHeader(http.StatusUnauthorized)
	}
}

func TestAuthenticate(t *testing.T) {
	remote := httptest.NewServer(http.HandlerFunc(authApp))
	defer remote.Close()
	endpoints := map[string]Endpoint{
		"in-process": {Target: "/auth.php", Local: http.HandlerFunc(authApp)},
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
		{"", "", http.StatusUnauthorized},
		{"forbidden=1", "", http.StatusForbidden},
		{"boom=1", "", http.StatusForbidden},
		{"empty=1", "", http.StatusForbidden},
		{"slow=1", "", http.StatusServiceUnavailable},
	}
	for name, ep := range endpoints {
		a := &Authenticator{Endpoint: ep, Timeout: 100 * time.Millisecond}
		for _, c := range cases {
			r := httptest.NewRequest(http.MethodGet, "/ws", nil)
			r.RemoteAddr = "192.0.2.1:1234"
			if c.cookie != "" {
				r.Header.Set("Cookie", c.cookie)
			}
			id, err := a.Authenticate(context.Background(), r)
			if c.status == 0 {
				if err != nil || id.UserID != c.user {
					t.Errorf("%s %q: got %q, %v; want %q", name, c.cookie, id.UserID, err, c.user)
				}
				continue
			}
			if err == nil || StatusFor(err) != c.status {
				t.Errorf("%s %q: err %v -> %d, want %d", name, c.cookie, err, StatusFor(err), c.status)
			}
		}
	}
}

func TestAuthenticateUnreachable(t *testing.T) {
	a := &Authenticator{Endpoint: Endpoint{Target: "http://127.0.0.1:1/auth.php"}, Timeout: time.Second}
	_, err := a.Authenticate(context.Background(), httptest.NewRequest(http.MethodGet, "/ws", nil))
	if StatusFor(err) != http.StatusServiceUnavailable {
		t.Fatalf("unreachable endpoint: %v", err)
	}
}

func TestAuthorize(t *testing.T) {
	app := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		switch {
		case r.Method != http.MethodPost || r.Header.Get("Cookie") != "s=1":
			w.WriteHeader(http.StatusBadRequest)
		case r.PostForm.Get("channel") == "private-ok" && r.PostForm.Get("user_id") == "42":
			w.WriteHeader(http.StatusNoContent)
		case r.PostForm.Get("channel") == "private-broken":
			w.WriteHeader(http.StatusBadGateway)
		default:
			w.WriteHeader(http.StatusForbidden)
		}
	})
	a := &Authorizer{Endpoint: Endpoint{Target: "/authorize.php", Local: app}, Timeout: time.Second}
	id := hub.Identity{UserID: "42", Cookie: "s=1"}
	if err := a.Authorize(context.Background(), "private-ok", id); err != nil {
		t.Fatalf("allowed channel: %v", err)
	}
	if err := a.Authorize(context.Background(), "private-no", id); !errors.Is(err, hub.ErrForbidden) {
		t.Fatalf("refused channel: %v", err)
	}
	if err := a.Authorize(context.Background(), "private-broken", id); err == nil || errors.Is(err, hub.ErrForbidden) {
		t.Fatalf("broken endpoint must be an error, not forbidden: %v", err)
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

func TestHookRetriesUntilAcknowledged(t *testing.T) {
	var mu sync.Mutex
	var calls []string
	var attempts atomic.Int32
	app := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		if attempts.Add(1) <= 2 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		mu.Lock()
		calls = append(calls, r.PostForm.Get("event")+" "+r.PostForm.Get("channel")+" "+r.PostForm.Get("user_id")+" "+r.PostForm.Get("timestamp"))
		mu.Unlock()
	})
	h := NewHook(Endpoint{Target: "/presence.php", Local: app}, time.Second, slog.New(slog.DiscardHandler))
	h.Backoff = time.Millisecond
	defer h.Close()
	h.Notify("join", hub.Membership{Channel: "presence-a", UserID: "7"}, time.Unix(1700000000, 0))
	deadline := time.Now().Add(5 * time.Second)
	for {
		if d, _, _ := h.Counts(); d == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("hook never acknowledged")
		}
		time.Sleep(5 * time.Millisecond) // polling a counter, bounded by the deadline
	}
	mu.Lock()
	defer mu.Unlock()
	if len(calls) != 1 || calls[0] != "join presence-a 7 1700000000" || attempts.Load() != 3 {
		t.Fatalf("calls = %v after %d attempts", calls, attempts.Load())
	}
}

func TestHookGivesUp(t *testing.T) {
	app := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusInternalServerError) })
	h := NewHook(Endpoint{Target: "/presence.php", Local: app}, time.Second, slog.New(slog.DiscardHandler))
	h.Backoff = time.Millisecond
	defer h.Close()
	h.Notify("leave", hub.Membership{Channel: "presence-a", UserID: "7"}, time.Now())
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, f, _ := h.Counts(); f == 1 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("hook failure not counted")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
