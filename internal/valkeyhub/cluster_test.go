package valkeyhub

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/frankenphp-realtime/realtime/internal/hub"
	"github.com/frankenphp-realtime/realtime/internal/native"
)

// frameSink is a hub.Transport that keeps the frames it is given.
type frameSink struct {
	mu     sync.Mutex
	frames []map[string]any
	once   sync.Once
	closed chan struct{}
	code   uint16
}

func newSink() *frameSink { return &frameSink{closed: make(chan struct{})} }

func (s *frameSink) WriteText(data []byte) error {
	var v map[string]any
	if err := json.Unmarshal(data, &v); err != nil {
		return err
	}
	s.mu.Lock()
	s.frames = append(s.frames, v)
	s.mu.Unlock()
	return nil
}

func (s *frameSink) WritePing() error { return nil }

func (s *frameSink) Close(code uint16, _ string) {
	s.once.Do(func() {
		s.mu.Lock()
		s.code = code
		s.mu.Unlock()
		close(s.closed)
	})
}

// find returns the first frame with every field of want.
func (s *frameSink) find(want map[string]any) map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, f := range s.frames {
		match := true
		for k, v := range want {
			if !reflect.DeepEqual(f[k], v) {
				match = false
				break
			}
		}
		if match {
			return f
		}
	}
	return nil
}

func (s *frameSink) wait(t *testing.T, want map[string]any) map[string]any {
	t.Helper()
	var f map[string]any
	eventually(t, 10*time.Second, func() bool { f = s.find(want); return f != nil }, "frame %v", want)
	return f
}

func (s *frameSink) isClosed() bool {
	select {
	case <-s.closed:
		return true
	default:
		return false
	}
}

type allowAll struct{}

func (allowAll) Authorize(context.Context, string, string, hub.Caller) error { return nil }

type nodeCaller string

func (c nodeCaller) Key() string { return string(c) }

// node is a hub over Valkey, as one server of a cluster runs it.
type node struct {
	hub      *hub.Hub
	broker   *Broker
	presence *Presence
}

func startHub(t *testing.T, addr, prefix string, ttl time.Duration) *node {
	t.Helper()
	b, err := NewBroker(addr, prefix, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	p, err := NewPresence(addr, prefix, ttl, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	h, err := hub.New(hub.Backend{Broker: b, Presence: p, Cache: b.Cache(), PresenceSweep: 100 * time.Millisecond, Logger: testLogger(t)},
		hub.Settings{PresenceGrace: 50 * time.Millisecond, CacheChannels: func(ch string) bool { return len(ch) > 6 && ch[:6] == "cache-" }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = h.Shutdown(ctx)
	})
	return &node{hub: h, broker: b, presence: p}
}

// join opens a native connection of user on n.
func (n *node) join(t *testing.T, user string) (*native.Session, *hub.Client, *frameSink) {
	t.Helper()
	slot, err := n.hub.Admit()
	if err != nil {
		t.Fatal(err)
	}
	s := newSink()
	c, err := n.hub.Attach(slot, s, native.Codec{}, nodeCaller("site"), user)
	if err != nil {
		t.Fatal(err)
	}
	cfg := native.Config{Authorizer: allowAll{}, AuthTimeout: time.Second, MaxFrameSize: hub.DefaultMaxFrameSize}
	sess := native.Open(n.hub, c, user, func() native.Config { return cfg }, testLogger(t))
	go func() { <-s.closed; n.hub.Disconnected(c) }()
	s.wait(t, map[string]any{"event": "connected", "user_id": user})
	return sess, c, s
}

func send(s *native.Session, frame string) { s.HandleText([]byte(frame)) }

// Two hubs on one Valkey behave as one server: presence, publications
// from either node and from php-cli, direct messages, disconnects.
func TestTwoHubsOverValkey(t *testing.T) {
	srv := startValkey(t)
	prefix := testPrefix(t)
	nodeA := startHub(t, srv.addr, prefix, 0)
	nodeB := startHub(t, srv.addr, prefix, 0)
	cli := newCLI(t, srv.addr, prefix, hub.Settings{})

	alice, aliceClient, toAlice := nodeA.join(t, "1")
	send(alice, `{"action":"subscribe","channel":"presence-room"}`)
	toAlice.wait(t, map[string]any{"event": "subscribed", "channel": "presence-room", "users": []any{"1"}})

	bob, _, toBob := nodeB.join(t, "2")
	send(bob, `{"action":"subscribe","channel":"presence-room"}`)
	toBob.wait(t, map[string]any{"event": "subscribed", "users": []any{"1", "2"}})
	toAlice.wait(t, map[string]any{"event": "join", "channel": "presence-room", "user_id": "2"})

	for i, api := range []hub.API{nodeA.hub, nodeB.hub, cli} {
		msg := fmt.Sprintf("from api %d", i)
		if err := api.Trigger(bg, hub.Publication{Channels: []string{"presence-room"}, Event: "Said", Data: []byte(msg)}); err != nil {
			t.Fatal(err)
		}
		for _, s := range []*frameSink{toAlice, toBob} {
			s.wait(t, map[string]any{"event": "message", "channel": "presence-room", "name": "Said", "data": msg})
		}
	}
	// Leaving out a socket works across nodes.
	if err := nodeB.hub.Trigger(bg, hub.Publication{Channels: []string{"presence-room"}, Data: []byte("not alice"), Except: aliceClient.ID()}); err != nil {
		t.Fatal(err)
	}
	if err := cli.Trigger(bg, hub.Publication{Channels: []string{"presence-room"}, Data: []byte("after")}); err != nil {
		t.Fatal(err)
	}
	toBob.wait(t, map[string]any{"data": "not alice"})
	toAlice.wait(t, map[string]any{"data": "after"})
	if toAlice.find(map[string]any{"data": "not alice"}) != nil {
		t.Error("the excepted socket on another node got the message")
	}

	if err := cli.SendToUser(bg, "1", "", []byte("psst")); err != nil {
		t.Fatal(err)
	}
	toAlice.wait(t, map[string]any{"event": "direct", "data": "psst"})
	for _, api := range []hub.API{nodeB.hub, cli} {
		if users, err := api.ChannelUsers(bg, "presence-room"); err != nil || !reflect.DeepEqual(users, []string{"1", "2"}) {
			t.Errorf("ChannelUsers = %v, %v", users, err)
		}
	}

	send(bob, `{"action":"unsubscribe","channel":"presence-room"}`)
	toAlice.wait(t, map[string]any{"event": "leave", "channel": "presence-room", "user_id": "2"})
	if err := cli.DisconnectUser(bg, "1"); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, toAlice.isClosed, "alice disconnected by php-cli")
	if toAlice.code != hub.CloseDisconnected {
		t.Errorf("close code %d", toAlice.code)
	}
}

// A node that dies without removing anything: its users leave, once,
// on the other nodes, when their presence expires.
func TestCrashedNodesUsersLeave(t *testing.T) {
	srv := startValkey(t)
	prefix := testPrefix(t)
	nodeA := startHub(t, srv.addr, prefix, 0)
	nodeB := startHub(t, srv.addr, prefix, 0)
	doomed := startHub(t, srv.addr, prefix, time.Second)

	alice, _, toAlice := nodeA.join(t, "1")
	send(alice, `{"action":"subscribe","channel":"presence-room"}`)
	bob, _, toBob := nodeB.join(t, "2")
	send(bob, `{"action":"subscribe","channel":"presence-room"}`)
	ghost, _, toGhost := doomed.join(t, "9")
	send(ghost, `{"action":"subscribe","channel":"presence-room"}`)
	toGhost.wait(t, map[string]any{"event": "subscribed", "users": []any{"1", "2", "9"}})
	toAlice.wait(t, map[string]any{"event": "join", "user_id": "9"})

	// The process dies: no more refreshes, nothing removed.
	doomed.presence.crash()
	_ = doomed.broker.Close()

	for _, s := range []*frameSink{toAlice, toBob} {
		s.wait(t, map[string]any{"event": "leave", "channel": "presence-room", "user_id": "9"})
	}
	if users, err := nodeA.hub.ChannelUsers(bg, "presence-room"); err != nil || !reflect.DeepEqual(users, []string{"1", "2"}) {
		t.Errorf("ChannelUsers after the crash = %v, %v", users, err)
	}
	// Both nodes swept, one announced: exactly one leave frame each.
	if err := nodeA.hub.Trigger(bg, hub.Publication{Channels: []string{"presence-room"}, Data: []byte("marker")}); err != nil {
		t.Fatal(err)
	}
	toAlice.wait(t, map[string]any{"data": "marker"})
	toAlice.mu.Lock()
	defer toAlice.mu.Unlock()
	leaves := 0
	for _, f := range toAlice.frames {
		if f["event"] == "leave" && f["user_id"] == "9" {
			leaves++
		}
	}
	if leaves != 1 {
		t.Errorf("alice got %d leave frames for the crashed node's user, want 1", leaves)
	}
}

// Cache channels remember their last event in Valkey: a node, or php-cli,
// publishes it; every node answers with it.
func TestCacheChannelsAcrossNodes(t *testing.T) {
	srv := startValkey(t)
	prefix := testPrefix(t)
	nodeA := startHub(t, srv.addr, prefix, 0)
	nodeB := startHub(t, srv.addr, prefix, 0)
	cli := newCLI(t, srv.addr, prefix, hub.Settings{CacheChannels: func(ch string) bool { return ch == "cache-prices" }})
	if err := cli.Trigger(bg, hub.Publication{Channels: []string{"cache-prices"}, Event: "tick", Data: []byte("1")}); err != nil {
		t.Fatal(err)
	}
	for i, n := range []*node{nodeA, nodeB} {
		event, data, ok, err := n.hub.LastEvent(bg, "cache-prices")
		if err != nil || !ok || event != "tick" || string(data) != "1" {
			t.Errorf("node %d: LastEvent = %q %q %v %v", i, event, data, ok, err)
		}
	}
	if err := nodeA.hub.Trigger(bg, hub.Publication{Channels: []string{"cache-prices"}, Event: "tick", Data: []byte("2")}); err != nil {
		t.Fatal(err)
	}
	if _, data, _, err := nodeB.hub.LastEvent(bg, "cache-prices"); err != nil || string(data) != "2" {
		t.Errorf("node B after node A published: %q, %v", data, err)
	}
	if _, _, ok, err := nodeA.hub.LastEvent(bg, "cache-other"); ok || err != nil {
		t.Errorf("a channel nobody published on: ok=%v err=%v", ok, err)
	}
}

// A channel is occupied while any node has a subscriber to it.
func TestOccupiedChannelsAcrossNodes(t *testing.T) {
	srv := startValkey(t)
	prefix := testPrefix(t)
	nodeA := startHub(t, srv.addr, prefix, 0)
	nodeB := startHub(t, srv.addr, prefix, 0)
	other := startHub(t, srv.addr, testPrefix(t), 0) // another deployment
	alice, _, toAlice := nodeA.join(t, "1")
	send(alice, `{"action":"subscribe","channel":"news-a"}`)
	send(alice, `{"action":"subscribe","channel":"sport"}`)
	toAlice.wait(t, map[string]any{"event": "subscribed", "channel": "sport"})
	stranger, _, toStranger := other.join(t, "3")
	send(stranger, `{"action":"subscribe","channel":"news-z"}`)
	toStranger.wait(t, map[string]any{"event": "subscribed", "channel": "news-z"})

	got, err := nodeB.hub.OccupiedChannels(bg, "news")
	if err != nil || !reflect.DeepEqual(got, []string{"news-a"}) {
		t.Errorf("OccupiedChannels(news) on node B = %v, %v; want [news-a]", got, err)
	}
	if ok, err := nodeB.hub.Occupied(bg, "sport"); !ok || err != nil {
		t.Errorf("Occupied(sport) on node B = %v, %v", ok, err)
	}
	send(alice, `{"action":"unsubscribe","channel":"sport"}`)
	toAlice.wait(t, map[string]any{"event": "unsubscribed", "channel": "sport"})
	if ok, err := nodeB.hub.Occupied(bg, "sport"); ok || err != nil {
		t.Errorf("Occupied(sport) after its last subscriber left = %v, %v", ok, err)
	}
}
