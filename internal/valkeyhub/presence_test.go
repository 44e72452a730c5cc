package valkeyhub

import (
	"errors"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/frankenphp-realtime/realtime/internal/hub"
)

func m(channel, user string) hub.Membership { return hub.Membership{Channel: channel, UserID: user} }

// crash stops p the way a dying process would: no more refreshes, and
// nothing removed.
func (p *Presence) crash() {
	p.closeOnce.Do(func() {
		close(p.stop)
		<-p.done
		p.closed.Store(true)
		p.client.Close()
	})
}

func mustAdd(t *testing.T, p *Presence, mem hub.Membership, wantJoined bool) {
	t.Helper()
	joined, err := p.Add(bg, mem, []byte("data of "+mem.UserID))
	if err != nil {
		t.Fatalf("Add %v: %v", mem, err)
	}
	if joined != wantJoined {
		t.Fatalf("Add %v on node %s: joined=%v, want %v", mem, p.NodeID(), joined, wantJoined)
	}
}

func mustRemove(t *testing.T, p *Presence, mem hub.Membership, wantLeft bool) {
	t.Helper()
	left, _, err := p.Remove(bg, mem)
	if err != nil {
		t.Fatalf("Remove %v: %v", mem, err)
	}
	if left != wantLeft {
		t.Fatalf("Remove %v on node %s: left=%v, want %v", mem, p.NodeID(), left, wantLeft)
	}
}

func users(t *testing.T, p *Presence, channel string) []string {
	t.Helper()
	u, err := p.Users(bg, channel)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func expiryScore(t *testing.T, p *Presence, mem hub.Membership) float64 {
	t.Helper()
	c := p.client
	s, err := c.Do(bg, c.B().Zscore().Key(p.expiryKey).Member(p.member(mem)).Build()).AsFloat64()
	if err != nil {
		t.Fatalf("ZSCORE %v: %v", mem, err)
	}
	return s
}

func TestPresenceRefreshPushesExpiryBack(t *testing.T) {
	srv := startValkey(t)
	prefix := testPrefix(t)
	n1 := newPresence(t, srv.addr, prefix, 900*time.Millisecond)
	mem := m("room", "1")
	mustAdd(t, n1, mem, true)
	first := expiryScore(t, n1, mem)
	// Two refreshes (every TTL/3) later the membership has outlived its
	// first expiry and is still there.
	eventually(t, 10*time.Second, func() bool { return expiryScore(t, n1, mem) > first+900 }, "the expiry pushed past the first one")
	n2 := newPresence(t, srv.addr, prefix, 0)
	gone, err := n2.Expire(bg)
	if err != nil || len(gone) != 0 {
		t.Errorf("Expire of a live node = %v, %v; want nothing", gone, err)
	}
	if got := users(t, n2, "room"); !reflect.DeepEqual(got, []string{"1"}) {
		t.Errorf("Users = %v, want [1]", got)
	}
}

// rejoins collects what a store reports through OnRejoin.
type rejoins struct {
	mu   sync.Mutex
	got  map[hub.Membership]string
	list []hub.Membership
}

func watchRejoins(p *Presence) *rejoins {
	r := &rejoins{got: make(map[hub.Membership]string)}
	p.OnRejoin(func(mem hub.Membership, data []byte) {
		r.mu.Lock()
		r.got[mem] = string(data)
		r.list = append(r.list, mem)
		r.mu.Unlock()
	})
	return r
}

func (r *rejoins) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.list)
}

// Valkey restarted without its data: the refresh adds this node's
// memberships again, with their data, and reports those that thereby
// joined; an Add made while Valkey was down lands the same way.
func TestPresenceReaddsAfterValkeyRestart(t *testing.T) {
	srv := startValkey(t)
	prefix := testPrefix(t)
	n1 := newPresence(t, srv.addr, prefix, 1500*time.Millisecond)
	rj := watchRejoins(n1)
	mustAdd(t, n1, m("presence-x", "1"), true)
	mustAdd(t, n1, m("presence-x", "2"), true)
	mustRemove(t, n1, m("presence-x", "2"), true)

	srv.kill()
	_, err := n1.Add(bg, m("presence-x", "3"), []byte("data of 3"))
	if !errors.Is(err, ErrUnreachable) || !strings.Contains(err.Error(), "unreachable at "+srv.addr) {
		t.Errorf("Add with Valkey down: %v, want an unreachable error", err)
	}
	srv.restart()
	// Both the membership Valkey lost (1) and the one added while it was
	// down (3) are added by the refresh, and their joins reported.
	eventually(t, 20*time.Second, func() bool {
		u, err := n1.Users(bg, "presence-x")
		return err == nil && reflect.DeepEqual(u, []string{"1", "3"})
	}, "the memberships added again")
	eventually(t, 5*time.Second, func() bool { return rj.count() == 2 }, "the rejoins reported")
	rj.mu.Lock()
	defer rj.mu.Unlock()
	if rj.got[m("presence-x", "1")] != "data of 1" || rj.got[m("presence-x", "3")] != "data of 3" {
		t.Errorf("rejoined = %q", rj.got)
	}
	members, err := n1.Members(bg, "presence-x")
	if err != nil || len(members) != 2 || string(members[0].Data) != "data of 1" || string(members[1].Data) != "data of 3" {
		t.Errorf("Members after the re-add = %+v, %v", members, err)
	}
}

// A membership Valkey lost is added back by the node that still holds it,
// and only by that node; one removed meanwhile stays removed, and a
// membership other nodes still hold is re-added without a join.
func TestPresenceRefreshReaddsOnlyWhatTheNodeHolds(t *testing.T) {
	srv := startValkey(t)
	prefix := testPrefix(t)
	n1 := newPresence(t, srv.addr, prefix, 900*time.Millisecond)
	n2 := newPresence(t, srv.addr, prefix, 900*time.Millisecond)
	rj1, rj2 := watchRejoins(n1), watchRejoins(n2)
	mustAdd(t, n1, m("room", "kept"), true)
	mustAdd(t, n1, m("room", "shared"), true)
	mustAdd(t, n2, m("room", "shared"), false)
	mustAdd(t, n1, m("room", "gone"), true)
	mustRemove(t, n1, m("room", "gone"), true)

	// Valkey loses n1's entry of "kept" and "shared" (as after a partial
	// loss); n2's entry of "shared" survives.
	for _, mem := range []hub.Membership{m("room", "kept"), m("room", "shared")} {
		c := n1.client
		if err := c.Do(bg, c.B().Zrem().Key(n1.expiryKey).Member(n1.member(mem)).Build()).Error(); err != nil {
			t.Fatal(err)
		}
	}
	c := n1.client
	if err := c.Do(bg, c.B().Hdel().Key(n1.channelKey+"room").Field("kept").Build()).Error(); err != nil {
		t.Fatal(err)
	}
	if err := c.Do(bg, c.B().Hincrby().Key(n1.channelKey+"room").Field("shared").Increment(-1).Build()).Error(); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, func() bool { return rj1.count() >= 1 }, "n1 re-adding what it lost")
	eventually(t, 10*time.Second, func() bool {
		score, err := c.Do(bg, c.B().Zscore().Key(n1.expiryKey).Member(n1.member(m("room", "shared"))).Build()).AsFloat64()
		return err == nil && score > 0
	}, "n1's entry of shared re-added")
	if got := users(t, n2, "room"); !reflect.DeepEqual(got, []string{"kept", "shared"}) {
		t.Errorf("Users = %q, want [kept shared]: a removed membership came back", got)
	}
	rj1.mu.Lock()
	if len(rj1.list) != 1 || rj1.list[0] != m("room", "kept") {
		t.Errorf("n1 reported rejoins %v, want only kept (shared never left: n2 holds it)", rj1.list)
	}
	rj1.mu.Unlock()
	if rj2.count() != 0 {
		t.Errorf("n2 reported rejoins %v", rj2.list)
	}
	// Both entries of shared count again: it leaves only when both go.
	mustRemove(t, n1, m("room", "shared"), false)
	mustRemove(t, n2, m("room", "shared"), true)
}

func TestPresenceCloseRemovesThisNode(t *testing.T) {
	srv := startValkey(t)
	prefix := testPrefix(t)
	n1, err := NewPresence(srv.addr, prefix, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	n2 := newPresence(t, srv.addr, prefix, 0)
	mustAdd(t, n1, m("c", "1"), true)
	mustAdd(t, n1, m("c", "2"), true)
	mustAdd(t, n2, m("c", "2"), false)
	if err := n1.Close(); err != nil {
		t.Fatal(err)
	}
	if got := users(t, n2, "c"); !reflect.DeepEqual(got, []string{"2"}) {
		t.Errorf("Users after node 1 closed = %v, want [2]", got)
	}
	if _, err := n1.Add(bg, m("c", "3"), nil); err == nil {
		t.Error("Add after Close succeeded")
	}
}

func TestParseMember(t *testing.T) {
	p := &Presence{node: "0123abcd"}
	for _, mem := range []hub.Membership{
		m("news", "42"),
		m("presence-a:b", "user:with:colons"),
		m("c", "odd\x00user"),
		m("c", "trailing\x00"),
	} {
		got, ok := parseMember(p.member(mem))
		if !ok || got != mem {
			t.Errorf("parseMember(member(%q)) = %q, %v", mem, got, ok)
		}
	}
	if _, ok := parseMember("no separators"); ok {
		t.Error("parseMember accepted a malformed member")
	}
}

// remaining is how long mem has left before it expires, by Valkey's clock.
func remaining(t *testing.T, p *Presence, mem hub.Membership) time.Duration {
	t.Helper()
	now, err := p.client.Do(bg, p.client.B().Time().Build()).AsIntSlice()
	if err != nil || len(now) != 2 {
		t.Fatalf("TIME: %v %v", now, err)
	}
	nowMs := float64(now[0]*1000 + now[1]/1000)
	return time.Duration(expiryScore(t, p, mem)-nowMs) * time.Millisecond
}

// presence_ttl changes on reload without a new store: the next refresh
// sets the new expiry.
func TestPresenceSetTTLAppliesFromTheNextRefresh(t *testing.T) {
	srv := startValkey(t)
	p := newPresence(t, srv.addr, testPrefix(t), 900*time.Millisecond)
	mem := m("room", "1")
	mustAdd(t, p, mem, true)
	if left := remaining(t, p, mem); left > 900*time.Millisecond {
		t.Fatalf("a membership under a 900ms TTL has %s left", left)
	}
	if err := p.SetTTL(100 * time.Millisecond); err == nil {
		t.Error("a TTL under the minimum was accepted")
	}
	if err := p.SetTTL(5 * time.Second); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, func() bool { return remaining(t, p, mem) > 3*time.Second }, "the expiry pushed back by the new TTL")
	mustAdd(t, p, m("room", "2"), true)
	if left := remaining(t, p, m("room", "2")); left < 3*time.Second {
		t.Errorf("a membership added after SetTTL(5s) has %s left", left)
	}
}
