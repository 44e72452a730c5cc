package hub_test

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/frankenphp-realtime/realtime/internal/hub"
)

type hookCall struct {
	event, channel, user, callerKey string
}

func (c hookCall) String() string { return c.event + " " + c.channel + " " + c.user }

type recordedHook struct {
	mu    sync.Mutex
	calls []hookCall
}

func (r *recordedHook) Notify(event string, m hub.Membership, callerKey string, _ time.Time) {
	r.mu.Lock()
	r.calls = append(r.calls, hookCall{event, m.Channel, m.UserID, callerKey})
	r.mu.Unlock()
}

func (r *recordedHook) list() []hookCall {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]hookCall(nil), r.calls...)
}

func (r *recordedHook) strings() []string {
	var out []string
	for _, c := range r.list() {
		out = append(out, c.String())
	}
	return out
}

func (r *recordedHook) waitFor(t *testing.T, n int) []hookCall {
	t.Helper()
	eventually(t, fmt.Sprintf("%d hook calls", n), func() bool { return len(r.list()) >= n })
	return r.list()
}

func presenceOnly(ch string) bool { return strings.HasPrefix(ch, "presence-") }

func TestJoinLeaveFramesAndHooks(t *testing.T) {
	hook := &recordedHook{}
	h := newTestHub(t, hub.Backend{Hook: hook}, hub.Settings{PresenceGrace: 20 * time.Millisecond, HookChannels: presenceOnly})
	watcher, fw := connect(t, h, plain, "w")
	subscribe(t, h, watcher, "presence-room", "w")
	// w's own join is published on the channel's topic before this marker:
	// once the marker is in, nobody subscribing later can get that join.
	trigger(t, h, "presence-room", "", "w is in")
	fw.next(t, 0)

	alice, fa := connect(t, h, plain, "alice")
	subscribe(t, h, alice, "presence-room", "alice")
	if ev := fw.next(t, 1); ev["kind"] != "join" || ev["user"] != "alice" || ev["channel"] != "presence-room" {
		t.Fatalf("watcher got %v", ev)
	}
	// A second tab of alice: no second join.
	alice2, _ := connect(t, h, plain, "alice")
	subscribe(t, h, alice2, "presence-room", "alice")
	h.Unsubscribe(alice2, "presence-room")
	h.Unsubscribe(alice, "presence-room")
	if ev := fw.next(t, 2); ev["kind"] != "leave" || ev["user"] != "alice" {
		t.Fatalf("watcher got %v", ev)
	}
	// Alice never hears about herself: her first frame is this one.
	if err := h.SendToUser(bg, "alice", "", []byte("marker")); err != nil {
		t.Fatal(err)
	}
	if ev := fa.next(t, 0); ev["data"] != "marker" {
		t.Fatalf("alice got %v", ev)
	}
	want := []string{"join presence-room w", "join presence-room alice", "leave presence-room alice"}
	got := hook.waitFor(t, 3)
	if s := hook.strings(); !reflect.DeepEqual(s, want) {
		t.Fatalf("hook calls = %v, want %v", s, want)
	}
	if got[1].callerKey != "site of alice" || got[2].callerKey != "site of alice" {
		t.Errorf("hook caller keys = %q, %q; want alice's connection's", got[1].callerKey, got[2].callerKey)
	}
}

func TestGraceSuppressesReloadNoise(t *testing.T) {
	hook := &recordedHook{}
	h := newTestHub(t, hub.Backend{Hook: hook}, hub.Settings{HookChannels: func(string) bool { return true }, PresenceGrace: time.Hour})
	c, f := connect(t, h, plain, "u")
	subscribe(t, h, c, "lobby", "u")
	hook.waitFor(t, 1)
	f.Close(hub.CloseNormal, "") // the tab reloads...
	eventually(t, "the closed tab detached", func() bool { return h.Stats().Connections == 0 })
	users, _ := h.ChannelUsers(bg, "lobby")
	if len(users) != 1 {
		t.Fatalf("during the grace period users = %v, want u still listed", users)
	}
	c2, _ := connect(t, h, plain, "u") // ...and comes back
	subscribe(t, h, c2, "lobby", "u")
	if got := hook.strings(); len(got) != 1 {
		t.Fatalf("hook calls = %v, want only the first join", got)
	}
}

// Presence is tracked on every channel; the hook is called for the
// channels HookChannels selects, read at each transition.
func TestHookChannelsFilter(t *testing.T) {
	hook := &recordedHook{}
	h := newTestHub(t, hub.Backend{Hook: hook}, hub.Settings{HookChannels: presenceOnly, PresenceGrace: time.Millisecond})
	c, _ := connect(t, h, plain, "u")
	subscribe(t, h, c, "news", "u")
	subscribe(t, h, c, "presence-x", "u")
	if got := hook.waitFor(t, 1); got[0].String() != "join presence-x u" {
		t.Fatalf("hook calls = %v", got)
	}
	users, _ := h.ChannelUsers(bg, "news")
	if len(users) != 1 || users[0] != "u" {
		t.Fatalf("presence is tracked on every channel: users = %v", users)
	}
	h.Configure(hub.Settings{PresenceGrace: time.Millisecond}) // no hook channels any more
	subscribe(t, h, c, "presence-y", "u")
	h.Configure(hub.Settings{PresenceGrace: time.Millisecond, HookChannels: func(string) bool { return true }})
	subscribe(t, h, c, "plain", "u")
	hook.waitFor(t, 2)
	if got := hook.strings(); !reflect.DeepEqual(got, []string{"join presence-x u", "join plain u"}) {
		t.Fatalf("hook calls = %v", got)
	}
}

// Join and leave frames go to presence-* channels only.
func TestJoinFramesOnlyOnPresenceChannels(t *testing.T) {
	h := newTestHub(t, hub.Backend{}, hub.Settings{PresenceGrace: time.Millisecond})
	w, fw := connect(t, h, plain, "w")
	subscribe(t, h, w, "news", "w")
	u, _ := connect(t, h, plain, "u")
	subscribe(t, h, u, "news", "u")
	h.Unsubscribe(u, "news")
	eventually(t, "u leaving news", func() bool {
		users, _ := h.ChannelUsers(bg, "news")
		return len(users) == 1
	})
	trigger(t, h, "news", "", "marker")
	if ev := fw.next(t, 0); ev["data"] != "marker" {
		t.Fatalf("a subscriber of a plain channel got %v", ev)
	}
}

// What a member joins with (Pusher user_info) is stored with the
// membership: Members lists it, join and leave frames carry it.
func TestMembersCarryTheirInfo(t *testing.T) {
	hook := &recordedHook{}
	h := newTestHub(t, hub.Backend{Hook: hook}, hub.Settings{PresenceGrace: time.Millisecond, HookChannels: presenceOnly})
	w, fw := connect(t, h, plain, "w")
	subscribe(t, h, w, "presence-p", "w")
	ann, _ := connect(t, h, plain, "7")
	info := []byte(`{"name":"Ann"}`)
	if _, err := h.Subscribe(bg, ann, "presence-p", "7", info); err != nil {
		t.Fatal(err)
	}
	if ev := fw.next(t, 0); ev["kind"] != "join" || ev["user"] != "7" || ev["info"] != string(info) {
		t.Fatalf("join frame = %v", ev)
	}
	members, err := h.Members(bg, "presence-p")
	if err != nil {
		t.Fatal(err)
	}
	if len(members) != 2 || members[0].UserID != "7" || string(members[0].Data) != string(info) ||
		members[1].UserID != "w" || len(members[1].Data) != 0 {
		t.Fatalf("Members = %+v", members)
	}
	h.Unsubscribe(ann, "presence-p")
	if ev := fw.next(t, 1); ev["kind"] != "leave" || ev["user"] != "7" || ev["info"] != string(info) {
		t.Fatalf("leave frame = %v", ev)
	}
	calls := hook.waitFor(t, 3)
	if calls[1].callerKey != "site of 7" || calls[2].callerKey != "site of 7" {
		t.Errorf("hook calls %+v: want the caller key of 7's connection", calls)
	}
}

// scriptedPresence is a memory presence that records what the hub stores,
// can fail Add, and returns chosen departures and rejoins.
type scriptedPresence struct {
	*hub.MemoryPresence
	mu      sync.Mutex
	stored  map[hub.Membership][]byte
	addErr  error
	removed []hub.Membership
	expired []hub.Departure // returned by the next Expire
	rejoin  func(hub.Membership, []byte)
}

var _ hub.RejoinReporter = (*scriptedPresence)(nil)

func newScriptedPresence() *scriptedPresence {
	return &scriptedPresence{MemoryPresence: hub.NewMemoryPresence(), stored: make(map[hub.Membership][]byte)}
}

func (p *scriptedPresence) Add(ctx context.Context, m hub.Membership, data []byte) (bool, error) {
	p.mu.Lock()
	p.stored[m] = data
	err := p.addErr
	p.mu.Unlock()
	if err != nil {
		return false, err
	}
	return p.MemoryPresence.Add(ctx, m, data)
}

func (p *scriptedPresence) Remove(ctx context.Context, m hub.Membership) (bool, []byte, error) {
	p.mu.Lock()
	p.removed = append(p.removed, m)
	p.mu.Unlock()
	return p.MemoryPresence.Remove(ctx, m)
}

func (p *scriptedPresence) Expire(context.Context) ([]hub.Departure, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	gone := p.expired
	p.expired = nil
	return gone, nil
}

func (p *scriptedPresence) OnRejoin(f func(hub.Membership, []byte)) {
	p.mu.Lock()
	p.rejoin = f
	p.mu.Unlock()
}

func (p *scriptedPresence) dataOf(m hub.Membership) []byte {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stored[m]
}

func (p *scriptedPresence) removes() []hub.Membership {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]hub.Membership(nil), p.removed...)
}

// Memberships another node left behind when it crashed (the store's
// Expire), and memberships the store re-added on its own (RejoinReporter),
// are announced like any transition, with the data stored for them.
func TestExpiredAndRejoinedMembershipsAreAnnounced(t *testing.T) {
	store := newScriptedPresence()
	hook := &recordedHook{}
	h := newTestHub(t, hub.Backend{Presence: store, Hook: hook, PresenceSweep: 5 * time.Millisecond},
		hub.Settings{HookChannels: presenceOnly, PresenceGrace: time.Hour})
	w, fw := connect(t, h, plain, "w")
	subscribe(t, h, w, "presence-room", "w")
	ghost, _ := connect(t, h, plain, "ghost")
	ghostM := hub.Membership{Channel: "presence-room", UserID: "ghost"}
	if _, err := h.Subscribe(bg, ghost, "presence-room", "ghost", []byte("boo")); err != nil {
		t.Fatal(err)
	}
	fw.next(t, 0) // ghost's join
	data := store.dataOf(ghostM)
	if len(data) == 0 {
		t.Fatal("nothing stored with the membership")
	}

	// As if the store expired a crashed node's membership of ghost...
	store.mu.Lock()
	store.expired = []hub.Departure{{Membership: ghostM, Data: data}}
	store.mu.Unlock()
	if ev := fw.next(t, 1); ev["kind"] != "leave" || ev["user"] != "ghost" || ev["info"] != "boo" {
		t.Fatalf("expired membership: watcher got %v", ev)
	}
	hook.waitFor(t, 3) // the sweep's hook call follows its frame
	// ...and then re-added a membership on its own.
	store.mu.Lock()
	rejoin := store.rejoin
	store.mu.Unlock()
	if rejoin == nil {
		t.Fatal("the hub did not register for rejoins")
	}
	rejoin(ghostM, data)
	if ev := fw.next(t, 2); ev["kind"] != "join" || ev["user"] != "ghost" || ev["info"] != "boo" {
		t.Fatalf("rejoined membership: watcher got %v", ev)
	}
	calls := hook.waitFor(t, 4)
	want := []string{"join presence-room w", "join presence-room ghost", "leave presence-room ghost", "join presence-room ghost"}
	if got := hook.strings(); !reflect.DeepEqual(got, want) {
		t.Fatalf("hook calls = %v, want %v", got, want)
	}
	for _, c := range calls[1:] {
		if c.callerKey != "site of ghost" {
			t.Errorf("hook call %v has caller key %q, want the one stored with the membership", c, c.callerKey)
		}
	}
}

// An Add the store could not make is still the store's to retry, so the
// hub removes the membership when its last connection leaves.
func TestFailedAddIsStillRemoved(t *testing.T) {
	store := newScriptedPresence()
	store.addErr = fmt.Errorf("valkey: presence add failed: unreachable")
	h := newTestHub(t, hub.Backend{Presence: store}, hub.Settings{PresenceGrace: time.Millisecond})
	c, _ := connect(t, h, plain, "u")
	if _, err := h.Subscribe(bg, c, "presence-x", "u", nil); err != nil {
		t.Fatalf("subscribe with the presence store down: %v (the subscription itself works)", err)
	}
	if _, ok := c.Subscribed("presence-x"); !ok {
		t.Fatal("not subscribed")
	}
	h.Unsubscribe(c, "presence-x")
	m := hub.Membership{Channel: "presence-x", UserID: "u"}
	eventually(t, "the membership removed", func() bool {
		r := store.removes()
		return len(r) == 1 && r[0] == m
	})
}

// Shutdown removes this node's memberships, pending leaves included, and
// announces the leaves.
func TestShutdownRemovesMemberships(t *testing.T) {
	store := newScriptedPresence()
	hook := &recordedHook{}
	h, err := hub.New(hub.Backend{Presence: store, Hook: hook}, hub.Settings{PresenceGrace: time.Hour, HookChannels: presenceOnly})
	if err != nil {
		t.Fatal(err)
	}
	a, fa := connect(t, h, plain, "a")
	subscribe(t, h, a, "presence-x", "a")
	b, _ := connect(t, h, plain, "b")
	subscribe(t, h, b, "presence-x", "b")
	fa.Close(hub.CloseNormal, "") // a's leave waits for the grace period
	eventually(t, "a detached", func() bool { return h.Stats().Connections == 1 })
	ctx, cancel := context.WithTimeout(bg, 5*time.Second)
	defer cancel()
	if err := h.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if users, _ := store.Users(bg, "presence-x"); len(users) != 0 {
		t.Fatalf("users left in the store after shutdown: %v", users)
	}
	var leaves []string
	for _, c := range hook.list() {
		if c.event == hub.EventLeave {
			leaves = append(leaves, c.user)
		}
	}
	if len(leaves) != 2 {
		t.Fatalf("leaves announced at shutdown: %v, want a and b", leaves)
	}
}

// However a user's connections churn through a channel, the store and the
// hook see their transitions strictly alternate, and end with the user
// gone.
func TestMembershipChurnKeepsTransitionsInOrder(t *testing.T) {
	hook := &recordedHook{}
	h := newTestHub(t, hub.Backend{Hook: hook}, hub.Settings{PresenceGrace: time.Microsecond, HookChannels: func(string) bool { return true }})
	var wg sync.WaitGroup
	for i := range 4 {
		c, _ := connect(t, h, plain, "u")
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 100 {
				if _, err := h.Subscribe(bg, c, "room", "u", nil); err != nil {
					t.Error(err)
					return
				}
				if (i+j)%3 == 0 {
					time.Sleep(time.Duration(j%5) * 50 * time.Microsecond) // let some graces pass
				}
				h.Unsubscribe(c, "room")
			}
		}()
	}
	wg.Wait()
	eventually(t, "the user gone with a leave last", func() bool {
		users, _ := h.ChannelUsers(bg, "room")
		calls := hook.list()
		return len(users) == 0 && len(calls) > 0 && calls[len(calls)-1].event == hub.EventLeave
	})
	calls := hook.list()
	for i, c := range calls {
		want := hub.EventJoin
		if i%2 == 1 {
			want = hub.EventLeave
		}
		if c.event != want {
			t.Fatalf("hook call %d is %s, want %s: transitions out of order (%d calls)", i, c.event, want, len(calls))
		}
	}
	t.Logf("%d transitions", len(calls))
}
