package bridge

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dustin/go-humanize"

	"github.com/frankenphp-realtime/realtime/internal/hub"
	"github.com/frankenphp-realtime/realtime/internal/valkeyhub"
)

// Environment of `frankenphp php-cli` (SPEC §5).
const (
	EnvValkeyAddress  = "REALTIME_VALKEY_ADDRESS"   // publish through Valkey, reaching every node
	EnvPrefix         = "REALTIME_PREFIX"           // with EnvValkeyAddress; default "realtime"
	EnvMaxMessageSize = "REALTIME_MAX_MESSAGE_SIZE" // with EnvValkeyAddress: bytes or "64KiB"
	EnvAdminAddress   = "REALTIME_ADMIN_ADDRESS"    // the server's admin listener; default localhost:2019
)

// DefaultAdminAddress is Caddy's default admin listener.
const DefaultAdminAddress = "localhost:2019"

var cli struct {
	once sync.Once
	api  hub.API
	err  error
}

// CLI is the hub API of a process that runs no hub (php-cli): through
// Valkey when REALTIME_VALKEY_ADDRESS is set (every node), else through the
// running server's admin listener on this machine (the memory driver's
// queue workers and cron). It is built once, on first use, and lives as
// long as the process.
//
// getenv reads the environment as PHP sees it (the C environment): a
// framework's .env loader that calls putenv() before the first publish
// (Laravel's does) counts, which os.Getenv, a copy taken at start, would
// miss. nil uses os.Getenv.
func CLI(getenv func(string) string) (hub.API, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	cli.once.Do(func() {
		if address := getenv(EnvValkeyAddress); address != "" {
			cli.api, cli.err = valkeyAPI(address, getenv)
			return
		}
		address := getenv(EnvAdminAddress)
		if address == "" {
			address = DefaultAdminAddress
		}
		cli.api, cli.err = newAdminClient(address)
	})
	return cli.api, cli.err
}

func valkeyAPI(address string, getenv func(string) string) (hub.API, error) {
	prefix := getenv(EnvPrefix)
	if prefix == "" {
		prefix = valkeyhub.DefaultPrefix
	}
	var settings hub.Settings
	if v := getenv(EnvMaxMessageSize); v != "" {
		n, err := humanize.ParseBytes(v)
		if err != nil || n == 0 || n > 1<<30 {
			return nil, fmt.Errorf("realtime: %s=%q: want a size such as 65536 or 64KiB", EnvMaxMessageSize, v)
		}
		settings.MaxMessageSize = int(n)
	}
	p, err := valkeyhub.NewPublisher(address, prefix)
	if err != nil {
		return nil, fmt.Errorf("realtime: %s: %w", EnvValkeyAddress, err)
	}
	return hub.NewPublisher(p, p, p.Cache(), settings), nil
}

// adminTimeout bounds one call to the server's admin listener.
const adminTimeout = 5 * time.Second

// adminClient calls the server's admin API routes (caddymodule/admin.go):
// the server validates and publishes, so its limits apply.
type adminClient struct {
	base   string
	client *http.Client
}

func newAdminClient(address string) (*adminClient, error) {
	if strings.HasPrefix(address, "unix/") {
		return nil, fmt.Errorf("realtime: %s=%s: unix socket admin listeners are not supported; use host:port", EnvAdminAddress, address)
	}
	return &adminClient{base: "http://" + strings.TrimPrefix(address, "tcp/"), client: &http.Client{Timeout: adminTimeout}}, nil
}

func (a *adminClient) Trigger(ctx context.Context, p hub.Publication) error {
	body := map[string]any{"channels": p.Channels, "event": p.Event, "data": string(p.Data), "except": p.Except}
	return a.post(ctx, "/realtime/trigger", body)
}

func (a *adminClient) SendToUser(ctx context.Context, userID, _ string, data []byte) error {
	return a.post(ctx, "/realtime/send_to_user", map[string]string{"user_id": userID, "message": string(data)})
}

func (a *adminClient) DisconnectUser(ctx context.Context, userID string) error {
	return a.post(ctx, "/realtime/disconnect_user", map[string]string{"user_id": userID})
}

func (a *adminClient) ChannelUsers(ctx context.Context, channel string) ([]string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, a.base+"/realtime/channel_users?channel="+url.QueryEscape(channel), nil)
	if err != nil {
		return nil, err
	}
	var out struct {
		Users []string `json:"users"`
	}
	if err := a.do(req, &out); err != nil {
		return nil, err
	}
	if out.Users == nil {
		out.Users = []string{}
	}
	return out.Users, nil
}

func (a *adminClient) post(ctx context.Context, path string, body any) error {
	data, err := json.Marshal(body)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, a.base+path, bytes.NewReader(data))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	return a.do(req, nil)
}

// reported is set once a failure to reach the server has been explained,
// so a worker loop does not repeat the long hint in every exception.
var reported atomic.Bool

func (a *adminClient) do(req *http.Request, out any) error {
	resp, err := a.client.Do(req)
	if err != nil {
		hint := ""
		if !reported.Swap(true) {
			hint = fmt.Sprintf(" (php-cli publishes through the running server's admin listener, %s: set %s if the server's `admin` option differs, or %s to publish through Valkey)",
				a.base, EnvAdminAddress, EnvValkeyAddress)
		}
		return fmt.Errorf("realtime: no hub is reachable: %v%s", err, hint)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	switch {
	case resp.StatusCode == http.StatusBadRequest:
		return hub.NewInputError(adminMessage(body))
	case resp.StatusCode == http.StatusNotFound:
		return errors.New("realtime: no hub is reachable: the server at " + a.base + " has no realtime admin routes (is it this project's binary?)")
	case resp.StatusCode >= 300:
		return fmt.Errorf("realtime: %s", adminMessage(body))
	}
	if out != nil {
		return json.Unmarshal(body, out)
	}
	return nil
}

// adminMessage extracts Caddy's admin API error message.
func adminMessage(body []byte) string {
	var e struct {
		Error string `json:"error"`
	}
	if json.Unmarshal(body, &e) == nil && e.Error != "" {
		return strings.TrimPrefix(e.Error, "realtime: ")
	}
	return strings.TrimSpace(string(body))
}
