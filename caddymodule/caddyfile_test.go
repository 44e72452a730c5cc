package caddymodule

import (
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
)

func parse(t *testing.T, input string) (Handler, error) {
	t.Helper()
	var h Handler
	err := h.UnmarshalCaddyfile(caddyfile.NewTestDispenser(input))
	return h, err
}

func TestUnmarshalCaddyfileEveryOption(t *testing.T) {
	h, err := parse(t, `realtime {
		driver redis
		redis_address valkey://:secret@cache:6380/2
		prefix app1
		auth_endpoint https://auth.example/check
		authorize_endpoint /authorize.php
		presence_endpoint /presence.php
		presence_hook_channels presence-* team-*
		presence_hook_channels private-*
		allowed_origins https://a.example https://b.example
		allowed_origins https://c.example
		max_frame_size 32KiB
		max_message_size 128KiB
		max_subscriptions 10
		max_pending_bytes 2MiB
		max_connections 5000
		ping_interval 10s
		auth_timeout 2s
		presence_ttl 1m
		presence_grace 500ms
	}`)
	if err != nil {
		t.Fatal(err)
	}
	o := h.Options
	if o.Driver != "redis" || o.ValkeyAddress != "valkey://:secret@cache:6380/2" || o.Prefix != "app1" ||
		o.AuthEndpoint != "https://auth.example/check" || o.AuthorizeEndpoint != "/authorize.php" || o.PresenceEndpoint != "/presence.php" {
		t.Fatalf("strings: %+v", o)
	}
	if strings.Join(o.PresenceHookChannels, " ") != "presence-* team-* private-*" || len(o.AllowedOrigins) != 3 {
		t.Fatalf("lists: %+v", o)
	}
	if o.MaxFrameSize != 32<<10 || o.MaxMessageSize != 128<<10 || o.MaxSubscriptions != 10 || o.MaxPendingBytes != 2<<20 || o.MaxConnections != 5000 {
		t.Fatalf("numbers: %+v", o)
	}
	if time.Duration(o.PingInterval) != 10*time.Second || time.Duration(o.AuthTimeout) != 2*time.Second ||
		time.Duration(o.PresenceTTL) != time.Minute || time.Duration(o.PresenceGrace) != 500*time.Millisecond {
		t.Fatalf("durations: %+v", o)
	}
	o.normalize()
	if o.Driver != "valkey" {
		t.Fatalf("redis must normalize to valkey, got %q", o.Driver)
	}
}

func TestUnmarshalCaddyfileErrorsNameTheOption(t *testing.T) {
	for input, want := range map[string]string{
		"realtime {\n max_frame 1\n}":                                              "max_frame",
		"realtime {\n max_frame_size banana\n}":                                    "max_frame_size",
		"realtime {\n max_subscriptions 0\n}":                                      "max_subscriptions",
		"realtime {\n max_connections -1\n}":                                       "max_connections",
		"realtime {\n ping_interval soon\n}":                                       "ping_interval",
		"realtime {\n auth_endpoint\n}":                                            "auth_endpoint",
		"realtime {\n driver memory valkey\n}":                                     "driver",
		"realtime {\n allowed_origins\n}":                                          "allowed_origins",
		"realtime extra":                                                           "no arguments",
		"realtime {\n presence_grace 0s\n}":                                        "presence_grace",
		"realtime {\n max_message_size 0\n}":                                       "max_message_size",
		"realtime {\n presence_hook_channels\n}":                                   "presence_hook_channels",
		"realtime {\n max_pending_bytes 1EiB\n}":                                   "max_pending_bytes",
		"realtime {\n auth_timeout -5s\n}":                                         "auth_timeout",
		"realtime {\n presence_ttl forever\n}":                                     "presence_ttl",
		"realtime {\n valkey_address a b\n}":                                       "valkey_address",
		"realtime {\n authorize_endpoint\n}":                                       "authorize_endpoint",
		"realtime {\n presence_endpoint\n}":                                        "presence_endpoint",
		"realtime {\n prefix\n}":                                                   "prefix",
		"realtime {\n max_subscriptions many\n}":                                   "max_subscriptions",
		"realtime {\n redis_address\n}":                                            "redis_address",
		"realtime {\n max_connections lots\n}":                                     "max_connections",
		"realtime {\n max_frame_size 16KiB 32KiB\n}":                               "max_frame_size",
		"realtime {\n pusher_app 1 key secret123\n pusher_app 2 key2 secret456\n}": "pusher_app' is given twice",
		"realtime {\n allowed_origins http://*.example.com\n}":                     "wildcards",
		"realtime {\n allowed_origins http://a.example:99999\n}":                   "port 99999",
		"realtime {\n pusher_app 1 k:ey secret123\n}":                              "must not contain ':'",
	} {
		_, err := parse(t, input)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: error %v does not name %q", input, err, want)
		}
	}
}

// Driver, origins and endpoint forms fail while the Caddyfile is parsed,
// with the line, not later in a long provisioning chain.
func TestUnmarshalCaddyfileFailsEarlyWithLineAndSuggestion(t *testing.T) {
	for input, want := range map[string][]string{
		"realtime {\n driver valky\n}":                          {"Testfile:2", "driver", "valky", "did you mean 'valkey'?"},
		"realtime {\n\n allowed_origins https://a.example/x\n}": {"Testfile:3", "allowed_origins", "scheme://host"},
		"realtime {\n allowed_origins app.example.com\n}":       {"Testfile:2", "allowed_origins"},
		"realtime {\n auth_endpoint auth.php\n}":                {"Testfile:2", "auth_endpoint", "must be a path"},
		"realtime {\n authorize_endpoint ftp://x/y\n}":          {"Testfile:2", "authorize_endpoint"},
		"realtime {\n presence_endpont /presence.php\n}":        {"Testfile:2", "presence_endpont", "did you mean 'presence_endpoint'?"},
		"realtime {\n max_conections 5\n}":                      {"did you mean 'max_connections'?"},
	} {
		_, err := parse(t, input)
		for _, w := range want {
			if err == nil || !strings.Contains(err.Error(), w) {
				t.Errorf("%q: error %v does not contain %q", input, err, w)
			}
		}
	}
	if _, err := parse(t, "realtime {\n frobnicate 1\n}"); err == nil || strings.Contains(err.Error(), "did you mean") {
		t.Errorf("an unrelated word must get no suggestion: %v", err)
	}
}

func TestValidateNamesTheOption(t *testing.T) {
	for _, c := range []struct {
		opts Options
		want string
	}{
		{Options{Driver: "nope"}, "driver"},
		{Options{AuthEndpoint: "auth.php"}, "auth_endpoint"},
		{Options{AuthorizeEndpoint: "ftp://x/y"}, "authorize_endpoint"},
		{Options{PresenceEndpoint: "http://"}, "presence_endpoint"},
		{Options{AllowedOrigins: []string{"ftp://x"}}, "allowed_origins"},
		{Options{AllowedOrigins: []string{"https://a.example/path"}}, "allowed_origins"},
		{Options{PresenceHookChannels: []string{"[bad"}}, "presence_hook_channels"},
		// JSON configurations (POST /load) skip the Caddyfile parser.
		{Options{PusherApp: &PusherApp{ID: "1", Key: "ke:y", Secret: "secret123"}}, "pusher_app"},
		{Options{AllowedOrigins: []string{"http://*.example.com"}}, "allowed_origins"},
	} {
		c.opts.normalize()
		if err := c.opts.validate(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: error %v does not name %s", c.opts, err, c.want)
		}
	}
}

func TestNormalizeMakesEquivalentConfigsEqual(t *testing.T) {
	a := Options{MaxFrameSize: 16 << 10, AllowedOrigins: []string{"https://b.example", "https://a.example"}}
	b := Options{Driver: "memory", AuthEndpoint: "/auth.php", AllowedOrigins: []string{"https://a.example", "https://b.example", "https://a.example"},
		PingInterval: caddy.Duration(25 * time.Second)}
	a.normalize()
	b.normalize()
	if d := a.firstDifference(b); d != "" {
		t.Fatalf("equivalent options differ at %s", d)
	}
	b.MaxSubscriptions = 7
	if d := a.firstDifference(b); d != "max_subscriptions" {
		t.Fatalf("firstDifference = %q, want max_subscriptions", d)
	}
}

func TestOriginAllowed(t *testing.T) {
	for _, c := range []struct {
		origin, host string
		allowed      []string
		ok           bool
	}{
		{"", "example.com", nil, true},
		{"https://example.com", "example.com", nil, true},
		{"http://localhost:8080", "localhost:8080", nil, true},
		{"http://localhost:8080", "localhost:9090", nil, false},
		{"https://evil.example", "example.com", nil, false},
		{"https://EXAMPLE.com", "example.com", nil, true},
		{"null", "example.com", nil, false},
		{"https://a.example", "api.example", []string{"https://a.example", "https://b.example"}, true},
		{"https://c.example", "api.example", []string{"https://a.example"}, false},
		{"https://api.example", "api.example", []string{"https://a.example"}, false},
		{"https://anything", "api.example", []string{"*"}, true},
	} {
		r := httptest.NewRequest("GET", "/ws", nil)
		r.Host = c.host
		if c.origin != "" {
			r.Header.Set("Origin", c.origin)
		}
		if got := originAllowed(r, c.allowed); got != c.ok {
			t.Errorf("origin %q host %q allowed %v: got %v", c.origin, c.host, c.allowed, got)
		}
	}
}

func TestIsWebSocketHandshake(t *testing.T) {
	r := httptest.NewRequest("GET", "/ws", nil)
	r.Header.Set("Connection", "keep-alive, Upgrade")
	r.Header.Set("Upgrade", "WebSocket")
	if !isWebSocketHandshake(r) {
		t.Fatal("handshake not recognised")
	}
	r.Method = "POST"
	if isWebSocketHandshake(r) {
		t.Fatal("POST is not a handshake")
	}
}
