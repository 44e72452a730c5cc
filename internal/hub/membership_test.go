package hub

import (
	"context"
	"sync"
	"testing"
	"time"
)

type recordedHook struct {
	mu     sync.Mutex
	events []string
	seen   chan struct{}
}

func newRecordedHook() *recordedHook { return &recordedHook{seen: make(chan struct{}, 64)} }

func (r *recordedHook) Notify(event string, m Membership, _ time.Time) {
	r.mu.Lock()
	r.events = append(r.events, event+" "+m.Channel+" "+m.UserID)
	r.mu.Unlock()
	r.seen <- struct{}{}
}

func (r *recordedHook) list() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.events...)
}

func (r *recordedHook) waitFor(t *testing.T, n int) []string {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for len(r.list()) < n {
		select {
		case <-r.seen:
		case <-deadline:
			t.Fatalf("hook saw %v, want %d events", r.list(), n)
		}
	}
	return r.list()
}

func TestJoinLeaveFramesAndHooks(t *testing.T) {
	hook := newRecordedHook()
	h := newTestHub(t, Config{Authorizer: allowAll{}, PresenceHook: hook, PresenceGrace: 50 * time.Millisecond})
	watcher, fw := connect(t, h, "w")
	watcher.HandleText([]byte(`{"action":"subscribe","channel":"presence-room"}`))
	fw.next(t, 1)

	alice, fa := connect(t, h, "alice")
	alice.HandleText([]byte(`{"action":"subscribe","channel":"presence-room"}`))
	if ev := fw.next(t, 2); ev["event"] != "join" || ev["user_id"] != "alice" || ev["channel"] != "presence-room" {
		t.Fatalf("watcher got %v", ev)
	}
	// A second tab of alice: no second join.
	alice2, fa2 := connect(t, h, "alice")
	alice2.HandleText([]byte(`{"action":"subscribe","channel":"presence-room"}`))
	fa2.next(t, 1)
	alice2.HandleText([]byte(`{"action":"unsubscribe","channel":"presence-room"}`))
	fa2.next(t, 2)
	alice.HandleText([]byte(`{"action":"unsubscribe","channel":"presence-room"}`))
	if ev := fw.next(t, 3); ev["event"] != "leave" || ev["user_id"] != "alice" {
		t.Fatalf("watcher got %v", ev)
	}
	// Alice never hears about herself: her frames are connected, subscribed, unsubscribed.
	if ev := fa.next(t, 2); ev["event"] != "unsubscribed" {
		t.Fatalf("alice got %v", ev)
	}
	want := []string{"join presence-room w", "join presence-room alice", "leave presence-room alice"}
	if got := hook.waitFor(t, 3); len(got) != 3 || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
		t.Fatalf("hook events = %v", got)
	}
}

func TestGraceSuppressesReloadNoise(t *testing.T) {
	hook := newRecordedHook()
	h := newTestHub(t, Config{PresenceHook: hook, HookChannels: func(string) bool { return true }, PresenceGrace: time.Hour})
	c, f := connect(t, h, "u")
	c.HandleText([]byte(`{"action":"subscribe","channel":"lobby"}`))
	f.next(t, 1)
	hook.waitFor(t, 1)
	h.Disconnected(c) // the tab reloads...
	users, _ := h.ChannelUsers(context.Background(), "lobby")
	if len(users) != 1 {
		t.Fatalf("during the grace period users = %v, want u still listed", users)
	}
	c2, f2 := connect(t, h, "u") // ...and comes back
	c2.HandleText([]byte(`{"action":"subscribe","channel":"lobby"}`))
	f2.next(t, 1)
	if got := hook.list(); len(got) != 1 {
		t.Fatalf("hook events = %v, want only the first join", got)
	}
}

func TestHookChannelsFilter(t *testing.T) {
	hook := newRecordedHook()
	h := newTestHub(t, Config{Authorizer: allowAll{}, PresenceHook: hook, PresenceGrace: time.Millisecond})
	c, f := connect(t, h, "u")
	c.HandleText([]byte(`{"action":"subscribe","channel":"news"}`))
	c.HandleText([]byte(`{"action":"subscribe","channel":"presence-x"}`))
	f.next(t, 2)
	if got := hook.waitFor(t, 1); got[0] != "join presence-x u" {
		t.Fatalf("hook events = %v", got)
	}
	users, _ := h.ChannelUsers(context.Background(), "news")
	if len(users) != 1 || users[0] != "u" {
		t.Fatalf("presence is tracked on every channel: users = %v", users)
	}
}
