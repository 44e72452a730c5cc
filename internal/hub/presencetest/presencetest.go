// Package presencetest is the conformance suite of the hub.Presence
// contract (internal/hub/presence.go): every Presence implementation runs
// it from its own tests.
package presencetest

import (
	"bytes"
	"context"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/frankenphp-realtime/realtime/internal/hub"
)

// Config describes the implementation under test.
type Config struct {
	// NewNodes returns n Presence instances, one per node, sharing one
	// fresh, empty store (nothing shared with another call's). The suite
	// closes them when the test ends.
	NewNodes func(t *testing.T, n int) []hub.Presence
	// Nodes is how many distinct nodes NewNodes can make: 1 for a
	// single-node store, whose cross-node tests are then skipped.
	Nodes int
	// Crash, for stores whose memberships expire, stops a node the way a
	// dying process would: it neither refreshes nor removes its
	// memberships any more. nil: the store never expires memberships, and
	// Expire must return nothing.
	Crash func(t *testing.T, p hub.Presence)
	// Timeout bounds waits for expiry (default 20s); it must exceed the
	// TTL of the stores NewNodes makes.
	Timeout time.Duration
}

// Run runs the suite.
func Run(t *testing.T, c Config) {
	if c.NewNodes == nil {
		t.Fatal("presencetest: Config.NewNodes is required")
	}
	c.Nodes = max(c.Nodes, 1)
	if c.Timeout <= 0 {
		c.Timeout = 20 * time.Second
	}
	s := &suite{Config: c}
	t.Run("TransitionsAcrossNodes", s.transitionsAcrossNodes)
	t.Run("IdempotentPerNode", s.idempotentPerNode)
	t.Run("TransitionsExactlyOnceUnderConcurrency", s.exactlyOnce)
	t.Run("DataStoredAndReturned", s.data)
	t.Run("UsersAndMembersSortedAndUnique", s.sortedAndUnique)
	t.Run("ExpireReportsNothingWhileNodesLive", s.expireNothingLive)
	t.Run("ExpireHandsEachDepartureToOneCaller", s.expireExactlyOnce)
}

type suite struct{ Config }

var bg = context.Background()

func mem(channel, user string) hub.Membership { return hub.Membership{Channel: channel, UserID: user} }

func (s *suite) nodes(t *testing.T, n int) []hub.Presence {
	t.Helper()
	ps := s.NewNodes(t, n)
	if len(ps) != n {
		t.Fatalf("presencetest: NewNodes(%d) returned %d stores", n, len(ps))
	}
	for _, p := range ps {
		var once sync.Once
		t.Cleanup(func() { once.Do(func() { _ = p.Close() }) })
	}
	return ps
}

func add(t *testing.T, node int, p hub.Presence, m hub.Membership, data string, wantJoined bool) {
	t.Helper()
	joined, err := p.Add(bg, m, []byte(data))
	if err != nil {
		t.Fatalf("node %d: Add(%v): %v", node, m, err)
	}
	if joined != wantJoined {
		t.Fatalf("node %d: Add(%v): joined=%v, want %v", node, m, joined, wantJoined)
	}
}

// remove removes m and returns the data the leave carried.
func remove(t *testing.T, node int, p hub.Presence, m hub.Membership, wantLeft bool) []byte {
	t.Helper()
	left, data, err := p.Remove(bg, m)
	if err != nil {
		t.Fatalf("node %d: Remove(%v): %v", node, m, err)
	}
	if left != wantLeft {
		t.Fatalf("node %d: Remove(%v): left=%v, want %v", node, m, left, wantLeft)
	}
	if !left && len(data) > 0 {
		t.Errorf("node %d: Remove(%v) returned data %q without a leave", node, m, data)
	}
	return data
}

func users(t *testing.T, p hub.Presence, channel string) []string {
	t.Helper()
	u, err := p.Users(bg, channel)
	if err != nil {
		t.Fatalf("Users(%q): %v", channel, err)
	}
	return u
}

func members(t *testing.T, p hub.Presence, channel string) []hub.Member {
	t.Helper()
	ms, err := p.Members(bg, channel)
	if err != nil {
		t.Fatalf("Members(%q): %v", channel, err)
	}
	return ms
}

func equalUsers(got, want []string) bool {
	return len(got) == len(want) && (len(want) == 0 || reflect.DeepEqual(got, want))
}

// A user joins when the first node adds them and leaves when the last
// node removes them.
func (s *suite) transitionsAcrossNodes(t *testing.T) {
	if s.Nodes < 2 {
		t.Skip("single-node store")
	}
	ps := s.nodes(t, 2)
	lobby := mem("presence-lobby", "42")
	add(t, 0, ps[0], lobby, "", true)
	add(t, 1, ps[1], lobby, "", false) // present already, through node 0
	add(t, 0, ps[0], mem("presence-lobby", "7"), "", true)
	if got := users(t, ps[1], "presence-lobby"); !equalUsers(got, []string{"42", "7"}) {
		t.Errorf("Users = %q, want [42 7]", got)
	}
	remove(t, 0, ps[0], lobby, false) // node 1 still holds it
	if got := users(t, ps[0], "presence-lobby"); !equalUsers(got, []string{"42", "7"}) {
		t.Errorf("Users after node 0 left = %q, want [42 7]", got)
	}
	remove(t, 1, ps[1], lobby, true)
	if got := users(t, ps[0], "presence-lobby"); !equalUsers(got, []string{"7"}) {
		t.Errorf("Users = %q, want [7]", got)
	}
	// The user comes back through the other node: a join again.
	add(t, 1, ps[1], lobby, "", true)
}

// Adding twice then removing once removes this node's membership;
// removing what this node does not hold changes nothing.
func (s *suite) idempotentPerNode(t *testing.T) {
	ps := s.nodes(t, min(s.Nodes, 2))
	m := mem("room", "1")
	remove(t, 0, ps[0], m, false) // never added
	add(t, 0, ps[0], m, "", true)
	add(t, 0, ps[0], m, "", false)
	remove(t, 0, ps[0], m, true)
	remove(t, 0, ps[0], m, false)
	if got := users(t, ps[0], "room"); len(got) != 0 {
		t.Errorf("Users after the only node removed the user = %q", got)
	}
	if len(ps) > 1 {
		add(t, 0, ps[0], m, "", true)
		remove(t, 1, ps[1], m, false) // node 1 never held it
		if got := users(t, ps[0], "room"); !equalUsers(got, []string{"1"}) {
			t.Errorf("Users after another node's no-op Remove = %q, want [1]", got)
		}
		add(t, 1, ps[1], m, "", false)
		add(t, 1, ps[1], m, "", false)
		remove(t, 1, ps[1], m, false) // node 0 still holds it
		remove(t, 0, ps[0], m, true)
	}
}

// Concurrent first arrivals produce one join, concurrent last departures
// one leave, whichever nodes and goroutines they come from.
func (s *suite) exactlyOnce(t *testing.T) {
	ps := s.nodes(t, min(s.Nodes, 3))
	const perNode = 4
	for round := range 20 {
		m := mem("presence-race", fmt.Sprintf("u%d", round))
		for _, op := range []string{"Add", "Remove"} {
			var transitions atomic.Int32
			var wg sync.WaitGroup
			start := make(chan struct{})
			for i, p := range ps {
				for range perNode {
					wg.Add(1)
					go func() {
						defer wg.Done()
						<-start
						var did bool
						var err error
						if op == "Add" {
							did, err = p.Add(bg, m, []byte("d"))
						} else {
							did, _, err = p.Remove(bg, m)
						}
						if err != nil {
							t.Errorf("node %d: %s: %v", i, op, err)
						}
						if did {
							transitions.Add(1)
						}
					}()
				}
			}
			close(start)
			wg.Wait()
			if got := transitions.Load(); got != 1 {
				t.Fatalf("round %d: %d callers saw the %s transition, want exactly 1", round, got, op)
			}
		}
		if got := users(t, ps[0], "presence-race"); len(got) != 0 {
			t.Fatalf("round %d: Users after every node removed the user = %q", round, got)
		}
	}
}

// Add stores data with the membership, replacing what another node
// stored; Members returns it and the leave (Remove) carries it.
func (s *suite) data(t *testing.T) {
	ps := s.nodes(t, min(s.Nodes, 2))
	binary := "info\x00with\xffbytes"
	add(t, 0, ps[0], mem("presence-d", "1"), binary, true)
	add(t, 0, ps[0], mem("presence-d", "2"), "", true)
	got := members(t, ps[len(ps)-1], "presence-d")
	if len(got) != 2 || got[0].UserID != "1" || string(got[0].Data) != binary || got[1].UserID != "2" || len(got[1].Data) != 0 {
		t.Fatalf("Members = %s, want [1 %q] [2 \"\"]", describe(got), binary)
	}
	m := mem("presence-d", "1")
	last := 0
	if len(ps) > 1 {
		add(t, 1, ps[1], m, "from node 1", false)
		if got := members(t, ps[0], "presence-d"); len(got) != 2 || string(got[0].Data) != "from node 1" {
			t.Errorf("Members after another node's Add = %s, want its data (last writer wins)", describe(got))
		}
		remove(t, 0, ps[0], m, false)
		last = 1
	}
	data := remove(t, last, ps[last], m, true)
	want := binary
	if len(ps) > 1 {
		want = "from node 1"
	}
	if string(data) != want {
		t.Errorf("the leave carried %q, want %q", data, want)
	}
	if got := members(t, ps[0], "presence-d"); len(got) != 1 || got[0].UserID != "2" {
		t.Errorf("Members after the leave = %s, want only 2", describe(got))
	}
	remove(t, 0, ps[0], mem("presence-d", "2"), true)
	if got := members(t, ps[0], "presence-d"); len(got) != 0 {
		t.Errorf("Members of an emptied channel = %s", describe(got))
	}
}

// Users and Members list each user once, sorted by id, whatever order
// and nodes they were added in; channels do not mix.
func (s *suite) sortedAndUnique(t *testing.T) {
	ps := s.nodes(t, min(s.Nodes, 3))
	ids := []string{"b", "10", "a", "9", "Z", "user:with:colons"}
	for _, id := range ids {
		for n, p := range ps {
			joined, err := p.Add(bg, mem("presence-s", id), []byte(id))
			if err != nil {
				t.Fatal(err)
			}
			if joined != (n == 0) {
				t.Fatalf("node %d: Add(%s) joined=%v", n, id, joined)
			}
		}
	}
	add(t, 0, ps[0], mem("presence-other", "zz"), "", true)
	want := append([]string(nil), ids...)
	sort.Strings(want)
	for n, p := range ps {
		if got := users(t, p, "presence-s"); !reflect.DeepEqual(got, want) {
			t.Errorf("node %d: Users = %q, want %q", n, got, want)
		}
		got := members(t, p, "presence-s")
		var gotIDs []string
		for _, m := range got {
			gotIDs = append(gotIDs, m.UserID)
			if string(m.Data) != m.UserID {
				t.Errorf("node %d: member %s has data %q", n, m.UserID, m.Data)
			}
		}
		if !reflect.DeepEqual(gotIDs, want) {
			t.Errorf("node %d: Members = %q, want %q", n, gotIDs, want)
		}
	}
	if got := users(t, ps[0], "presence-nobody"); len(got) != 0 {
		t.Errorf("Users of a channel nobody joined = %q", got)
	}
	if got := members(t, ps[0], "presence-nobody"); len(got) != 0 {
		t.Errorf("Members of a channel nobody joined = %s", describe(got))
	}
}

// Memberships of live nodes never expire.
func (s *suite) expireNothingLive(t *testing.T) {
	ps := s.nodes(t, min(s.Nodes, 2))
	for n, p := range ps {
		add(t, n, p, mem("presence-live", fmt.Sprint(n)), "", true)
	}
	for n, p := range ps {
		gone, err := p.Expire(bg)
		if err != nil {
			t.Fatalf("node %d: Expire: %v", n, err)
		}
		if len(gone) != 0 {
			t.Errorf("node %d: Expire with every node alive = %v", n, gone)
		}
	}
	if got := users(t, ps[0], "presence-live"); len(got) != len(ps) {
		t.Errorf("Users after Expire = %q", got)
	}
}

// A crashed node's memberships expire; several nodes sweeping at once get
// each resulting leave exactly once between them, with its data;
// memberships a live node still holds produce no leave.
func (s *suite) expireExactlyOnce(t *testing.T) {
	if s.Crash == nil {
		t.Skip("the store never expires memberships")
	}
	if s.Nodes < 2 {
		t.Skip("expiry needs a node to crash and one to sweep")
	}
	ps := s.nodes(t, min(s.Nodes, 3))
	crashed, sweepers := ps[0], ps[1:]
	add(t, 0, crashed, mem("presence-a", "1"), "a1", true)
	add(t, 0, crashed, mem("presence-a", "2"), "a2", true)
	add(t, 0, crashed, mem("presence-b", "1"), "b1", true)
	add(t, 1, sweepers[0], mem("presence-a", "2"), "a2 live", false)
	add(t, 1, sweepers[0], mem("presence-c", "9"), "c9", true)
	s.Crash(t, crashed)

	var mu sync.Mutex
	var reported []hub.Departure
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i, p := range sweepers {
		for range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					select {
					case <-stop:
						return
					default:
					}
					gone, err := p.Expire(bg)
					if err != nil {
						t.Errorf("sweeper %d: Expire: %v", i+1, err)
						return
					}
					mu.Lock()
					reported = append(reported, gone...)
					mu.Unlock()
				}
			}()
		}
	}
	deadline := time.Now().Add(s.Timeout)
	for {
		mu.Lock()
		n, dup := len(reported), duplicate(reported)
		mu.Unlock()
		if dup != "" {
			close(stop)
			wg.Wait()
			t.Fatalf("the leave of %s was handed to more than one caller (%d leaves reported in all)", dup, n)
		}
		if n >= 2 && equalUsers(users(t, sweepers[0], "presence-b"), nil) &&
			equalUsers(users(t, sweepers[0], "presence-a"), []string{"2"}) {
			break
		}
		if time.Now().After(deadline) {
			close(stop)
			wg.Wait()
			t.Fatalf("after %s the crashed node's leaves reported are %v", s.Timeout, reported)
		}
		time.Sleep(10 * time.Millisecond) // polling the store, bounded by the deadline
	}
	// The sweepers race on once more each, then stop: nothing else may come.
	close(stop)
	wg.Wait()
	for i, p := range sweepers {
		gone, err := p.Expire(bg)
		if err != nil || len(gone) != 0 {
			t.Errorf("sweeper %d: Expire after the sweep = %v, %v", i+1, gone, err)
		}
		mu.Lock()
		reported = append(reported, gone...)
		mu.Unlock()
	}
	sort.Slice(reported, func(i, j int) bool {
		return reported[i].Channel+"\x00"+reported[i].UserID < reported[j].Channel+"\x00"+reported[j].UserID
	})
	want := []hub.Departure{
		{Membership: mem("presence-a", "1"), Data: []byte("a1")},
		{Membership: mem("presence-b", "1"), Data: []byte("b1")},
	}
	if len(reported) != len(want) {
		t.Fatalf("leaves reported = %v, want each of %v exactly once", reported, want)
	}
	for i := range want {
		if reported[i].Membership != want[i].Membership || !bytes.Equal(reported[i].Data, want[i].Data) {
			t.Errorf("leave %d = %v %q, want %v %q", i, reported[i].Membership, reported[i].Data, want[i].Membership, want[i].Data)
		}
	}
	if got := users(t, sweepers[0], "presence-c"); !equalUsers(got, []string{"9"}) {
		t.Errorf("Users(presence-c) = %q, want [9]: a live node's membership expired", got)
	}
	// The membership a live node shares survives, and leaves with that
	// node's removal.
	remove(t, 1, sweepers[0], mem("presence-a", "2"), true)
}

// duplicate names a membership that appears twice in ds, or returns "".
func duplicate(ds []hub.Departure) string {
	seen := make(map[hub.Membership]bool)
	for _, d := range ds {
		if seen[d.Membership] {
			return d.Channel + "/" + d.UserID
		}
		seen[d.Membership] = true
	}
	return ""
}

func describe(ms []hub.Member) string {
	parts := make([]string, len(ms))
	for i, m := range ms {
		parts[i] = fmt.Sprintf("[%s %q]", m.UserID, m.Data)
	}
	return "[" + strings.Join(parts, " ") + "]"
}
