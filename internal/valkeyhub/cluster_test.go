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
)

// frameSink is a hub.Transport that keeps the frames it is given.
type frameSink struct {
	mu     sync.Mutex
	frames []map[string]any
	once   sync.Once
	closed chan struct{}
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

func (s *frameSink) Close(uint16, string) { s.once.Do(func() { close(s.closed) }) }

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

type allowAll struct{}

func (allowAll) Authorize(context.Context, string, hub.Identity) error { return nil }

func startHub(t *testing.T, addr, prefix string) *hub.Hub {
	t.Helper()
	b, err := NewBroker(addr, prefix, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	p, err := NewPresence(addr, prefix, 0, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	h, err := hub.New(hub.Config{
		Broker: b, Presence: p, Authorizer: allowAll{},
		PresenceGrace: 50 * time.Millisecond, PresenceSweep: 100 * time.Millisecond,
		Logger: testLogger(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = h.Shutdown(ctx, hub.CloseGoingAway, "test over")
	})
	return h
}

func join(t *testing.T, h *hub.Hub, user string) (*hub.Client, *frameSink) {
	t.Helper()
	s := newSink()
	c, err := h.Connect(s, hub.Identity{UserID: user})
	if err != nil {
		t.Fatal(err)
	}
	go func() { <-s.closed; h.Disconnected(c) }()
	return c, s
}

// Two hubs on one Valkey behave as one server: presence, broadcasts from
// either node and from php-cli, direct messages.
func TestTwoHubsOverValkey(t *testing.T) {
	srv := startValkey(t)
	prefix := testPrefix(t)
	hubA := startHub(t, srv.addr, prefix)
	hubB := startHub(t, srv.addr, prefix)
	cli := newAPI(t, srv.addr, prefix)

	alice, toAlice := join(t, hubA, "1")
	alice.HandleText([]byte(`{"action":"subscribe","channel":"presence-room"}`))
	toAlice.wait(t, map[string]any{"event": "subscribed", "channel": "presence-room", "users": []any{"1"}})

	bob, toBob := join(t, hubB, "2")
	bob.HandleText([]byte(`{"action":"subscribe","channel":"presence-room"}`))
	toBob.wait(t, map[string]any{"event": "subscribed", "users": []any{"1", "2"}})
	toAlice.wait(t, map[string]any{"event": "join", "channel": "presence-room", "user_id": "2"})

	for i, api := range []hub.API{hubA, hubB, cli} {
		msg := fmt.Sprintf("from api %d", i)
		if err := api.Broadcast(bg, "presence-room", []byte(msg)); err != nil {
			t.Fatal(err)
		}
		for _, s := range []*frameSink{toAlice, toBob} {
			s.wait(t, map[string]any{"event": "message", "channel": "presence-room", "data": msg})
		}
	}
	if err := cli.BroadcastToUser(bg, "1", []byte("psst")); err != nil {
		t.Fatal(err)
	}
	toAlice.wait(t, map[string]any{"event": "direct", "data": "psst"})
	if users, err := cli.ChannelUsers(bg, "presence-room"); err != nil || !reflect.DeepEqual(users, []string{"1", "2"}) {
		t.Errorf("php-cli ChannelUsers = %v, %v", users, err)
	}

	bob.HandleText([]byte(`{"action":"unsubscribe","channel":"presence-room"}`))
	toAlice.wait(t, map[string]any{"event": "leave", "channel": "presence-room", "user_id": "2"})
	if err := cli.DisconnectUser(bg, "1"); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, func() bool {
		select {
		case <-toAlice.closed:
			return true
		default:
			return false
		}
	}, "alice disconnected by php-cli")
}
