package valkeyhub

import (
	"errors"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
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
	joined, err := p.Add(bg, mem)
	if err != nil {
		t.Fatalf("Add %v: %v", mem, err)
	}
	if joined != wantJoined {
		t.Fatalf("Add %v on node %s: joined=%v, want %v", mem, p.NodeID(), joined, wantJoined)
	}
}

func mustRemove(t *testing.T, p *Presence, mem hub.Membership, wantLeft bool) {
	t.Helper()
	left, err := p.Remove(bg, mem)
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

func TestPresenceTransitionsAcrossNodes(t *testing.T) {
	srv := startValkey(t)
	prefix := testPrefix(t)
	n1 := newPresence(t, srv.addr, prefix, 0)
	n2 := newPresence(t, srv.addr, prefix, 0)
	lobby := m("presence-lobby", "42")

	mustAdd(t, n1, lobby, true)
	mustAdd(t, n2, lobby, false) // present already, through n1
	mustAdd(t, n1, lobby, false) // idempotent per node
	mustAdd(t, n1, m("presence-lobby", "7"), true)
	if got := users(t, n2, "presence-lobby"); !reflect.DeepEqual(got, []string{"42", "7"}) {
		t.Errorf("Users = %v, want [42 7] (sorted)", got)
	}
	mustRemove(t, n1, lobby, false) // n2 still holds it
	if got := users(t, n1, "presence-lobby"); !reflect.DeepEqual(got, []string{"42", "7"}) {
		t.Errorf("Users = %v, want [42 7]", got)
	}
	mustRemove(t, n2, lobby, true)
	mustRemove(t, n2, lobby, false) // idempotent
	mustRemove(t, n1, lobby, false)
	if got := users(t, n1, "presence-lobby"); !reflect.DeepEqual(got, []string{"7"}) {
		t.Errorf("Users = %v, want [7]", got)
	}
	if got := users(t, n1, "elsewhere"); len(got) != 0 {
		t.Errorf("Users of an empty channel = %v", got)
	}
}

// Concurrent first arrivals on two nodes produce one join; concurrent
// last departures one leave.
func TestPresenceTransitionsAreExactlyOnce(t *testing.T) {
	srv := startValkey(t)
	prefix := testPrefix(t)
	nodes := []*Presence{newPresence(t, srv.addr, prefix, 0), newPresence(t, srv.addr, prefix, 0)}
	for round := range 20 {
		mem := m("presence-race", "u"+string(rune('a'+round)))
		for _, op := range []string{"add", "remove"} {
			var transitions atomic.Int32
			var wg sync.WaitGroup
			for _, n := range nodes {
				for range 4 {
					wg.Add(1)
					go func() {
						defer wg.Done()
						var did bool
						var err error
						if op == "add" {
							did, err = n.Add(bg, mem)
						} else {
							did, err = n.Remove(bg, mem)
						}
						if err != nil {
							t.Error(err)
						}
						if did {
							transitions.Add(1)
						}
					}()
				}
			}
			wg.Wait()
			if got := transitions.Load(); got != 1 {
				t.Fatalf("round %d: %d nodes saw the %s transition, want exactly 1", round, got, op)
			}
		}
	}
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

// A crashed node's memberships expire after its TTL; when several nodes
// sweep at once, each leave is reported by exactly one; memberships other
// nodes still hold produce no leave.
func TestPresenceExpiresCrashedNodeOnce(t *testing.T) {
	srv := startValkey(t)
	prefix := testPrefix(t)
	crashed := newPresence(t, srv.addr, prefix, time.Second)
	sweepers := []*Presence{newPresence(t, srv.addr, prefix, 0), newPresence(t, srv.addr, prefix, 0)}
	mustAdd(t, crashed, m("presence-a", "1"), true)
	mustAdd(t, crashed, m("presence-a", "2"), true)
	mustAdd(t, crashed, m("presence-b", "1"), true)
	mustAdd(t, sweepers[0], m("presence-a", "2"), false)
	mustAdd(t, sweepers[1], m("presence-c", "9"), true)
	crashed.crash()

	var mu sync.Mutex
	var reported []hub.Membership
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for _, s := range sweepers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				gone, err := s.Expire(bg)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				reported = append(reported, gone...)
				mu.Unlock()
			}
		}()
	}
	eventually(t, 15*time.Second, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(reported) >= 2
	}, "the crashed node's leaves")
	// Let the sweepers race on for a while after the expiry: nothing more
	// may come.
	eventually(t, 5*time.Second, func() bool {
		n, _ := sweepers[0].client.Do(bg, sweepers[0].client.B().Zcard().Key(sweepers[0].expiryKey).Build()).AsInt64()
		return n == 2 // the sweepers' own memberships
	}, "the crashed node's entries gone")
	close(stop)
	wg.Wait()

	slices.SortFunc(reported, func(a, b hub.Membership) int {
		return strings.Compare(a.Channel+"\x00"+a.UserID, b.Channel+"\x00"+b.UserID)
	})
	want := []hub.Membership{m("presence-a", "1"), m("presence-b", "1")}
	if !reflect.DeepEqual(reported, want) {
		t.Errorf("leaves reported = %v, want each of %v exactly once", reported, want)
	}
	if got := users(t, sweepers[0], "presence-a"); !reflect.DeepEqual(got, []string{"2"}) {
		t.Errorf("Users(presence-a) = %v, want [2] (still held by a live node)", got)
	}
	if got := users(t, sweepers[0], "presence-b"); len(got) != 0 {
		t.Errorf("Users(presence-b) = %v, want none", got)
	}
}

// Valkey restarted without its data: the refresh adds this node's
// memberships again and reports those that thereby joined.
func TestPresenceReaddsAfterValkeyRestart(t *testing.T) {
	srv := startValkey(t)
	prefix := testPrefix(t)
	n1 := newPresence(t, srv.addr, prefix, 1500*time.Millisecond)
	var mu sync.Mutex
	var rejoined []hub.Membership
	n1.OnRejoin(func(mem hub.Membership) {
		mu.Lock()
		rejoined = append(rejoined, mem)
		mu.Unlock()
	})
	mustAdd(t, n1, m("presence-x", "1"), true)
	mustAdd(t, n1, m("presence-x", "2"), true)
	mustRemove(t, n1, m("presence-x", "2"), true)

	srv.kill()
	_, err := n1.Add(bg, m("presence-x", "3"))
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
	eventually(t, 5*time.Second, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(rejoined) == 2
	}, "the rejoins reported")
	mu.Lock()
	defer mu.Unlock()
	got := map[hub.Membership]bool{rejoined[0]: true, rejoined[1]: true}
	if !got[m("presence-x", "1")] || !got[m("presence-x", "3")] {
		t.Errorf("rejoined = %v", rejoined)
	}
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
	if _, err := n1.Add(bg, m("c", "3")); err == nil {
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
