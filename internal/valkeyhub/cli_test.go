package valkeyhub

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/frankenphp-realtime/realtime/internal/hub"
)

// newCLI returns PHP's API in a process that runs no server (php-cli), as
// internal/bridge builds it.
func newCLI(t *testing.T, addr, prefix string, s hub.Settings) *hub.Publisher {
	t.Helper()
	p, err := NewPublisher(addr, prefix)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	return hub.NewPublisher(p, p, p.Cache(), s)
}

// capture is a memory broker that remembers what a hub publishes.
type capture struct {
	*hub.MemoryBroker
	mu   sync.Mutex
	sent []delivery
}

func (c *capture) Publish(ctx context.Context, topic string, data []byte) error {
	c.mu.Lock()
	c.sent = append(c.sent, delivery{topic, string(data)})
	c.mu.Unlock()
	return c.MemoryBroker.Publish(ctx, topic, data)
}

// php-cli publishes, with no hub, exactly the bytes a hub would, on the
// topics a node's Broker listens to.
func TestCLIPublishesWhatTheHubWould(t *testing.T) {
	srv := startValkey(t)
	prefix := testPrefix(t)
	node, rec := startBroker(t, srv.addr, prefix)
	cli := newCLI(t, srv.addr, prefix, hub.Settings{})
	server := &capture{MemoryBroker: hub.NewMemoryBroker()}
	h, err := hub.New(hub.Backend{Broker: server}, hub.Settings{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = h.Shutdown(context.Background()) })

	calls := []func(hub.API) error{
		func(api hub.API) error {
			return api.Trigger(bg, hub.Publication{Channels: []string{"news"}, Event: "Named", Data: []byte(`{"a":1}`), Except: "1.2"})
		},
		func(api hub.API) error { return api.SendToUser(bg, "42", "", []byte("psst")) },
		func(api hub.API) error { return api.DisconnectUser(bg, "42") },
	}
	for _, call := range calls {
		if err := call(h); err != nil {
			t.Fatal(err)
		}
	}
	server.mu.Lock()
	want := append([]delivery(nil), server.sent...)
	server.mu.Unlock()
	if len(want) != 3 {
		t.Fatalf("the hub published %v", want)
	}
	for _, d := range want[:2] { // the user's two payloads share a topic
		subscribe(t, node, d.topic)
	}
	for _, call := range calls {
		if err := call(cli); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, 5*time.Second, func() bool { return len(rec.all()) == 3 }, "three deliveries")
	if got := rec.all(); !reflect.DeepEqual(got, want) {
		t.Errorf("node received %q, want what the hub publishes: %q", got, want)
	}
}

func TestCLIChannelUsersReadsPresence(t *testing.T) {
	srv := startValkey(t)
	prefix := testPrefix(t)
	p := newPresence(t, srv.addr, prefix, 0)
	cli := newCLI(t, srv.addr, prefix, hub.Settings{})
	mustAdd(t, p, m("presence-room", "b"), true)
	mustAdd(t, p, m("presence-room", "a"), true)
	got, err := cli.ChannelUsers(bg, "presence-room")
	if err != nil || !reflect.DeepEqual(got, []string{"a", "b"}) {
		t.Errorf("ChannelUsers = %v, %v; want [a b]", got, err)
	}
	other := newCLI(t, srv.addr, testPrefix(t), hub.Settings{})
	if got, err := other.ChannelUsers(bg, "presence-room"); err != nil || len(got) != 0 {
		t.Errorf("ChannelUsers under another prefix = %v, %v; want none", got, err)
	}
}

func TestCLIValidatesLikeTheHub(t *testing.T) {
	srv := startValkey(t)
	cli := newCLI(t, srv.addr, testPrefix(t), hub.Settings{MaxMessageSize: 16})
	pub := func(channel string, data []byte) error {
		return cli.Trigger(bg, hub.Publication{Channels: []string{channel}, Data: data})
	}
	for name, err := range map[string]error{
		"bad channel":            pub("no spaces", nil),
		"long message":           pub("news", []byte(strings.Repeat("x", 17))),
		"empty user":             cli.SendToUser(bg, " ", "", nil),
		"long direct message":    cli.SendToUser(bg, "1", "", []byte(strings.Repeat("x", 17))),
		"disconnect empty user":  cli.DisconnectUser(bg, ""),
		"users of a bad channel": func() error { _, err := cli.ChannelUsers(bg, ""); return err }(),
	} {
		if !hub.IsInputError(err) {
			t.Errorf("%s: %v, want an input error (ValueError in PHP)", name, err)
		}
	}
	if err := pub("news", []byte(strings.Repeat("x", 16))); err != nil {
		t.Errorf("a message of exactly the limit: %v", err)
	}
}

// With Valkey down, php-cli's calls fail fast, saying Valkey is
// unreachable and that nothing was published (a RuntimeException in PHP).
func TestCLIReportsUnreachableValkey(t *testing.T) {
	srv := startValkey(t)
	cli := newCLI(t, srv.addr, testPrefix(t), hub.Settings{})
	if err := cli.Trigger(bg, hub.Publication{Channels: []string{"news"}, Data: []byte("x")}); err != nil {
		t.Fatalf("Trigger with Valkey up: %v", err)
	}
	srv.kill()
	start := time.Now()
	err := cli.Trigger(bg, hub.Publication{Channels: []string{"news"}, Data: []byte("x")})
	if !errors.Is(err, ErrUnreachable) || !strings.Contains(err.Error(), "unreachable at "+srv.addr) {
		t.Errorf("Trigger with Valkey down: %v, want an unreachable error naming %s", err, srv.addr)
	}
	if hub.IsInputError(err) {
		t.Errorf("an outage reported as the caller's fault: %v", err)
	}
	if took := time.Since(start); took > DefaultOpTimeout+500*time.Millisecond {
		t.Errorf("Trigger took %s to fail", took)
	}
	if _, err := cli.ChannelUsers(bg, "news"); !errors.Is(err, ErrUnreachable) {
		t.Errorf("ChannelUsers with Valkey down: %v", err)
	}
	// Once the connection is known to be gone, a refused dial certainly
	// sent nothing.
	if err := cli.SendToUser(bg, "1", "", []byte("x")); !errors.Is(err, hub.ErrNotPublished) {
		t.Errorf("SendToUser with Valkey down: %v, want ErrNotPublished", err)
	}
	srv.restart()
	if err := cli.Trigger(bg, hub.Publication{Channels: []string{"news"}, Data: []byte("x")}); err != nil {
		t.Errorf("Trigger once Valkey is back: %v", err)
	}
}

// The php-cli Publisher only publishes and reads.
func TestCLIPublisherOnlyPublishes(t *testing.T) {
	srv := startValkey(t)
	p, err := NewPublisher(srv.addr, testPrefix(t))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if err := p.Run(&recorder{}); err == nil {
		t.Error("Run succeeded")
	}
	if err := p.Subscribe(bg, "c:x"); err == nil {
		t.Error("Subscribe succeeded")
	}
	if _, err := p.Add(bg, m("c", "1"), nil); err == nil {
		t.Error("Add succeeded")
	}
	if gone, err := p.Expire(bg); err != nil || len(gone) != 0 {
		t.Errorf("Expire = %v, %v", gone, err)
	}
	if _, err := NewPublisher(srv.addr, ""); err == nil {
		t.Error("an empty prefix was accepted")
	}
}

func TestCacheExpires(t *testing.T) {
	srv := startValkey(t)
	b, err := NewBroker(srv.addr, testPrefix(t), testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	c := b.Cache()
	if _, ok, err := c.Get(bg, "cache-x"); ok || err != nil {
		t.Fatalf("Get of nothing = %v, %v", ok, err)
	}
	if err := c.Set(bg, "cache-x", []byte("v\x00\xff"), 300*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if v, ok, err := c.Get(bg, "cache-x"); !ok || err != nil || string(v) != "v\x00\xff" {
		t.Fatalf("Get = %q, %v, %v", v, ok, err)
	}
	other, err := NewBroker(srv.addr, testPrefix(t), testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if _, ok, _ := other.Cache().Get(bg, "cache-x"); ok {
		t.Error("another prefix sees the value")
	}
	eventually(t, 5*time.Second, func() bool {
		_, ok, err := c.Get(bg, "cache-x")
		return !ok && err == nil
	}, "the value to expire")
}
