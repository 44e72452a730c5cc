package valkeyhub

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/frankenphp-realtime/realtime/internal/hub"
)

func limits() hub.Limits { return hub.Limits{MaxMessageSize: 16} }

func newAPI(t *testing.T, addr, prefix string) *API {
	t.Helper()
	api, err := NewAPI(addr, prefix, limits())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(api.Close)
	return api
}

// php-cli publishes, with no hub, exactly the bytes a hub would, on the
// channels a node's Broker listens to.
func TestAPIPublishesWhatTheHubWould(t *testing.T) {
	srv := startValkey(t)
	prefix := testPrefix(t)
	node, rec := startBroker(t, srv.addr, prefix)
	api := newAPI(t, srv.addr, prefix)

	chTopic, chData := hub.ChannelFrame("news", []byte(`{"a":1}`))
	dTopic, dData := hub.DirectPayload("42", []byte("psst"))
	xTopic, xData := hub.DisconnectPayload("42")
	subscribe(t, node, chTopic, dTopic)

	if err := api.Broadcast(bg, "news", []byte(`{"a":1}`)); err != nil {
		t.Fatal(err)
	}
	if err := api.BroadcastToUser(bg, "42", []byte("psst")); err != nil {
		t.Fatal(err)
	}
	if err := api.DisconnectUser(bg, "42"); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, func() bool { return len(rec.all()) == 3 }, "three deliveries")
	want := []delivery{{chTopic, string(chData)}, {dTopic, string(dData)}, {xTopic, string(xData)}}
	if got := rec.all(); !reflect.DeepEqual(got, want) {
		t.Errorf("node received %q, want %q", got, want)
	}
}

func TestAPIChannelUsersReadsPresence(t *testing.T) {
	srv := startValkey(t)
	prefix := testPrefix(t)
	p := newPresence(t, srv.addr, prefix, 0)
	api := newAPI(t, srv.addr, prefix)
	mustAdd(t, p, m("presence-room", "b"), true)
	mustAdd(t, p, m("presence-room", "a"), true)
	got, err := api.ChannelUsers(bg, "presence-room")
	if err != nil || !reflect.DeepEqual(got, []string{"a", "b"}) {
		t.Errorf("ChannelUsers = %v, %v; want [a b]", got, err)
	}
	other := newAPI(t, srv.addr, testPrefix(t))
	if got, err := other.ChannelUsers(bg, "presence-room"); err != nil || len(got) != 0 {
		t.Errorf("ChannelUsers under another prefix = %v, %v; want none", got, err)
	}
}

func TestAPIValidatesLikeTheHub(t *testing.T) {
	srv := startValkey(t)
	api := newAPI(t, srv.addr, testPrefix(t))
	for name, err := range map[string]error{
		"bad channel":            api.Broadcast(bg, "no spaces", nil),
		"long message":           api.Broadcast(bg, "news", []byte(strings.Repeat("x", 17))),
		"empty user":             api.BroadcastToUser(bg, " ", nil),
		"long direct message":    api.BroadcastToUser(bg, "1", []byte(strings.Repeat("x", 17))),
		"disconnect empty user":  api.DisconnectUser(bg, ""),
		"users of a bad channel": func() error { _, err := api.ChannelUsers(bg, ""); return err }(),
	} {
		if !hub.IsInputError(err) {
			t.Errorf("%s: %v, want an input error (ValueError in PHP)", name, err)
		}
	}
	if err := api.Broadcast(bg, "news", []byte(strings.Repeat("x", 16))); err != nil {
		t.Errorf("a message of exactly the limit: %v", err)
	}
}

func TestAPIReportsUnreachableValkey(t *testing.T) {
	srv := startValkey(t)
	api := newAPI(t, srv.addr, testPrefix(t))
	srv.kill()
	start := time.Now()
	err := api.Broadcast(bg, "news", []byte("x"))
	if !errors.Is(err, ErrUnreachable) || !strings.Contains(err.Error(), "unreachable at "+srv.addr) {
		t.Errorf("Broadcast with Valkey down: %v, want an unreachable error naming %s", err, srv.addr)
	}
	if took := time.Since(start); took > DefaultOpTimeout+500*time.Millisecond {
		t.Errorf("Broadcast took %s to fail", took)
	}
	if _, err := api.ChannelUsers(bg, "news"); !errors.Is(err, ErrUnreachable) {
		t.Errorf("ChannelUsers with Valkey down: %v", err)
	}
	srv.restart()
	if err := api.Broadcast(bg, "news", []byte("x")); err != nil {
		t.Errorf("Broadcast once Valkey is back: %v", err)
	}
}

func TestAPIFromEnv(t *testing.T) {
	srv := startValkey(t)
	t.Setenv(EnvAddress, "")
	if _, err := APIFromEnv(); !errors.Is(err, ErrNoAddress) {
		t.Errorf("without %s: %v, want ErrNoAddress", EnvAddress, err)
	}

	prefix := testPrefix(t)
	t.Setenv(EnvAddress, "valkey://"+srv.addr+"/0")
	t.Setenv(EnvPrefix, prefix)
	t.Setenv(EnvMaxMessageSize, "1KiB")
	api, err := APIFromEnv()
	if err != nil {
		t.Fatal(err)
	}
	defer api.Close()
	if api.limits.MaxMessageSize != 1024 || api.channel != prefix+":" {
		t.Errorf("limits %+v, channel prefix %q", api.limits, api.channel)
	}
	node, rec := startBroker(t, srv.addr, prefix)
	subscribe(t, node, "c:news")
	if err := api.Broadcast(bg, "news", []byte("hi")); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, func() bool { return len(rec.on("c:news")) == 1 }, "the broadcast")

	t.Setenv(EnvPrefix, "")
	t.Setenv(EnvMaxMessageSize, "")
	def, err := APIFromEnv()
	if err != nil {
		t.Fatal(err)
	}
	defer def.Close()
	if def.channel != DefaultPrefix+":" || def.limits.MaxMessageSize != hub.DefaultMaxMessageSize {
		t.Errorf("defaults: channel prefix %q, limits %+v", def.channel, def.limits)
	}

	t.Setenv(EnvMaxMessageSize, "lots")
	if _, err := APIFromEnv(); err == nil || !strings.Contains(err.Error(), EnvMaxMessageSize) {
		t.Errorf("bad %s: %v", EnvMaxMessageSize, err)
	}
	t.Setenv(EnvMaxMessageSize, "")
	t.Setenv(EnvAddress, "ftp://host")
	if _, err := APIFromEnv(); err == nil || !strings.Contains(err.Error(), EnvAddress) {
		t.Errorf("bad %s: %v", EnvAddress, err)
	}
}
