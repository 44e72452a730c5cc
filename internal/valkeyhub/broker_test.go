package valkeyhub

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/frankenphp-realtime/realtime/internal/hub"
)

var bg = context.Background()

func subscribe(t *testing.T, b *Broker, topics ...string) {
	t.Helper()
	for _, topic := range topics {
		if err := b.Subscribe(bg, topic); err != nil {
			t.Fatalf("subscribe %s: %v", topic, err)
		}
	}
}

func publish(t *testing.T, b *Broker, topic, data string) {
	t.Helper()
	if err := b.Publish(bg, topic, []byte(data)); err != nil {
		t.Fatalf("publish %s: %v", topic, err)
	}
}

func TestBrokerDeliversAcrossNodes(t *testing.T) {
	srv := startValkey(t)
	prefix := testPrefix(t)
	a, recA := startBroker(t, srv.addr, prefix)
	b, recB := startBroker(t, srv.addr, prefix)
	subscribe(t, a, "c:news")
	subscribe(t, b, "c:news")

	publish(t, a, "c:news", "from a")
	publish(t, b, "c:news", "from b")
	for name, rec := range map[string]*recorder{"a": recA, "b": recB} {
		eventually(t, 5*time.Second, func() bool { return len(rec.on("c:news")) == 2 }, "node %s receiving both messages", name)
	}
	if got := a.Published() + b.Published(); got != 2 {
		t.Errorf("published counters sum to %d, want 2", got)
	}
	if a.Received() != 2 || b.Received() != 2 {
		t.Errorf("received counters: a=%d b=%d, want 2 each", a.Received(), b.Received())
	}
	if a.Errors() != 0 || b.Errors() != 0 {
		t.Errorf("error counters: a=%d b=%d, want 0", a.Errors(), b.Errors())
	}
}

// A node SUBSCRIBEs only topics with local subscribers: what it is not
// subscribed to never reaches it (no firehose), as its received counter
// shows.
func TestBrokerReceivesOnlySubscribedTopics(t *testing.T) {
	srv := startValkey(t)
	prefix := testPrefix(t)
	a, recA := startBroker(t, srv.addr, prefix)
	b, recB := startBroker(t, srv.addr, prefix)
	subscribe(t, a, "c:only-a")
	subscribe(t, b, "c:only-b")

	publish(t, a, "c:only-a", "for a")
	// Valkey delivers one connection's publications in order: once b has
	// the marker published after "for a", it would have had "for a" too.
	publish(t, a, "c:only-b", "marker")
	eventually(t, 5*time.Second, func() bool { return recB.has("c:only-b", "marker") }, "b receiving the marker")
	eventually(t, 5*time.Second, func() bool { return recA.has("c:only-a", "for a") }, "a receiving its message")

	if got := b.Received(); got != 1 {
		t.Errorf("b received %d messages (%v), want only the marker", got, recB.all())
	}
	if got := a.Received(); got != 1 {
		t.Errorf("a received %d messages (%v), want only its own topic", got, recA.all())
	}
}

func TestBrokerKeepsPublisherOrder(t *testing.T) {
	srv := startValkey(t)
	prefix := testPrefix(t)
	a, _ := startBroker(t, srv.addr, prefix)
	b, _ := startBroker(t, srv.addr, prefix)
	c, recC := startBroker(t, srv.addr, prefix)
	subscribe(t, c, "c:ordered")

	const n = 500
	var wg sync.WaitGroup
	for _, pub := range []struct {
		name string
		b    *Broker
	}{{"a", a}, {"b", b}} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range n {
				if err := pub.b.Publish(bg, "c:ordered", []byte(pub.name+":"+strconv.Itoa(i))); err != nil {
					t.Errorf("publish: %v", err)
					return
				}
			}
		}()
	}
	wg.Wait()
	eventually(t, 10*time.Second, func() bool { return len(recC.on("c:ordered")) == 2*n }, "all %d messages", 2*n)

	next := map[string]int{"a": 0, "b": 0}
	for _, m := range recC.on("c:ordered") {
		name, seq, _ := strings.Cut(m, ":")
		i, _ := strconv.Atoi(seq)
		if i != next[name] {
			t.Fatalf("publisher %s: got message %d, want %d: out of order", name, i, next[name])
		}
		next[name]++
	}
}

func TestBrokerPrefixesIsolateDeployments(t *testing.T) {
	srv := startValkey(t)
	one, recOne := startBroker(t, srv.addr, testPrefix(t))
	two, recTwo := startBroker(t, srv.addr, testPrefix(t))
	subscribe(t, one, "c:shared")
	subscribe(t, two, "c:shared")

	publish(t, one, "c:shared", "for one")
	publish(t, two, "c:shared", "for two")
	eventually(t, 5*time.Second, func() bool { return recOne.has("c:shared", "for one") && recTwo.has("c:shared", "for two") }, "each deployment receiving its own message")
	// Both publications went through the same server in this order; the
	// second has arrived, so the first would have too.
	if one.Received() != 1 || two.Received() != 1 {
		t.Errorf("deployments saw each other: one=%v two=%v", recOne.all(), recTwo.all())
	}
}

func TestBrokerUnsubscribeStopsDelivery(t *testing.T) {
	srv := startValkey(t)
	prefix := testPrefix(t)
	a, _ := startBroker(t, srv.addr, prefix)
	b, recB := startBroker(t, srv.addr, prefix)
	subscribe(t, b, "c:leaving", "c:staying")

	publish(t, a, "c:leaving", "before")
	eventually(t, 5*time.Second, func() bool { return recB.has("c:leaving", "before") }, "delivery before unsubscribing")
	if err := b.Unsubscribe(bg, "c:leaving"); err != nil {
		t.Fatal(err)
	}
	publish(t, a, "c:leaving", "after")
	publish(t, a, "c:staying", "marker")
	eventually(t, 5*time.Second, func() bool { return recB.has("c:staying", "marker") }, "the marker")
	if got := recB.on("c:leaving"); len(got) != 1 {
		t.Errorf("after Unsubscribe b still received: %v", got)
	}
}

// Valkey dies: publishing fails fast and says so, subscriptions made
// meanwhile are kept; Valkey comes back on the same address: delivery
// resumes with no new Subscribe call.
func TestBrokerSurvivesValkeyRestart(t *testing.T) {
	srv := startValkey(t)
	prefix := testPrefix(t)
	a, _ := startBroker(t, srv.addr, prefix)
	b, recB := startBroker(t, srv.addr, prefix)
	subscribe(t, b, "c:before")
	publish(t, a, "c:before", "0")
	eventually(t, 5*time.Second, func() bool { return recB.has("c:before", "0") }, "delivery before the outage")

	srv.kill()
	eventually(t, 5*time.Second, func() bool { return !a.Connected() && !b.Connected() }, "both nodes noticing the outage")
	start := time.Now()
	err := a.Publish(bg, "c:before", []byte("lost"))
	took := time.Since(start)
	if err == nil {
		t.Fatal("Publish succeeded with Valkey down")
	}
	if !errors.Is(err, ErrUnreachable) || !strings.Contains(err.Error(), "unreachable at "+srv.addr) {
		t.Errorf("Publish error %q does not say Valkey is unreachable at %s", err, srv.addr)
	}
	if !errors.Is(err, hub.ErrNotPublished) {
		t.Errorf("Publish error %q with Valkey known down does not say the message was not published", err)
	}
	if took > 500*time.Millisecond {
		t.Errorf("Publish took %s to fail with Valkey down, want fast", took)
	}
	t.Logf("publish during the outage failed in %s: %v", took, err)
	// The hub subscribes new channels during the outage too.
	subscribe(t, b, "c:during")

	srv.restart()
	restarted := time.Now()
	var resumed time.Duration
	seq := 0
	eventually(t, 20*time.Second, func() bool {
		seq++
		_ = a.Publish(bg, "c:before", []byte("r"+strconv.Itoa(seq)))
		_ = a.Publish(bg, "c:during", []byte("r"+strconv.Itoa(seq)))
		if len(recB.on("c:before")) > 1 && len(recB.on("c:during")) > 0 {
			resumed = time.Since(restarted)
			return true
		}
		return false
	}, "delivery after the restart")
	t.Logf("delivery resumed %s after Valkey restarted (reconnects: a=%d b=%d)", resumed, a.Reconnects(), b.Reconnects())
	if a.Reconnects() < 1 || b.Reconnects() < 1 {
		t.Errorf("reconnect counters a=%d b=%d, want >= 1", a.Reconnects(), b.Reconnects())
	}
	if a.Errors() == 0 {
		t.Error("a's error counter did not count the failed publish")
	}
	if recB.has("c:before", "lost") {
		t.Error("a publish that failed was delivered")
	}
}

func TestBrokerStartsWhileValkeyIsDown(t *testing.T) {
	srv := startValkey(t)
	srv.kill()
	prefix := testPrefix(t)
	a, recA := startBroker(t, srv.addr, prefix)
	subscribe(t, a, "c:later")
	if err := a.Publish(bg, "c:later", []byte("x")); !errors.Is(err, ErrUnreachable) {
		t.Fatalf("Publish with Valkey down: %v, want ErrUnreachable", err)
	}
	srv.restart()
	eventually(t, 20*time.Second, func() bool {
		_ = a.Publish(bg, "c:later", []byte("y"))
		return recA.has("c:later", "y")
	}, "delivery once Valkey is up")
}

func TestBrokerCloseLeavesNoGoroutine(t *testing.T) {
	srv := startValkey(t)
	before := runtime.NumGoroutine()
	for _, down := range []bool{false, true} {
		prefix := testPrefix(t)
		b, err := NewBroker(srv.addr, prefix, testLogger(t))
		if err != nil {
			t.Fatal(err)
		}
		p, err := NewPresence(srv.addr, prefix, time.Second, testLogger(t))
		if err != nil {
			t.Fatal(err)
		}
		cli, err := NewPublisher(srv.addr, prefix)
		if err != nil {
			t.Fatal(err)
		}
		api := hub.NewPublisher(cli, cli, cli.Cache(), hub.Settings{})
		rec := &recorder{}
		if err := b.Run(rec); err != nil {
			t.Fatal(err)
		}
		subscribe(t, b, "c:x")
		publish(t, b, "c:x", "1")
		if err := api.Trigger(bg, hub.Publication{Channels: []string{"x"}, Data: []byte("2")}); err != nil {
			t.Fatal(err)
		}
		if _, err := p.Add(bg, m("x", "1"), []byte("data")); err != nil {
			t.Fatal(err)
		}
		eventually(t, 5*time.Second, func() bool { return len(rec.on("c:x")) == 2 }, "deliveries")
		if down {
			srv.kill() // closing while the loops are reconnecting
			eventually(t, 5*time.Second, func() bool { return !b.Connected() }, "the broker noticing the outage")
		}
		_ = b.Close()
		_ = p.Close()
		_ = cli.Close()
	}
	deadline := time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("%d goroutines left after Close, %d before:\n%s", runtime.NumGoroutine(), before, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestBrokerSubscribeDuringOutageIsNotAnError(t *testing.T) {
	srv := startValkey(t)
	b, _ := startBroker(t, srv.addr, testPrefix(t))
	srv.kill()
	eventually(t, 5*time.Second, func() bool { return !b.Connected() }, "the outage noticed")
	for i := range 3 {
		if err := b.Subscribe(bg, fmt.Sprintf("c:%d", i)); err != nil {
			t.Errorf("Subscribe during the outage: %v", err)
		}
	}
	if err := b.Unsubscribe(bg, "c:0"); err != nil {
		t.Errorf("Unsubscribe during the outage: %v", err)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.topics) != 2 {
		t.Errorf("wanted topics %v, want c:1 and c:2", b.topics)
	}
}

// A publish whose outcome is unknown (sent, then timed out) is not marked
// ErrNotPublished, so the hub does not deliver it locally: Valkey may
// still deliver it, and delivery is at-most-once.
func TestBrokerTimeoutIsNotNotPublished(t *testing.T) {
	srv := startValkey(t)
	prefix := testPrefix(t)
	a, recA := startBroker(t, srv.addr, prefix)
	subscribe(t, a, "c:slow")
	// Another connection pauses every client of the server for a while.
	admin, _ := startBroker(t, srv.addr, prefix)
	if err := admin.client.Do(bg, admin.client.B().ClientPause().Timeout(1000).All().Build()).Error(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(bg, 200*time.Millisecond)
	defer cancel()
	err := a.Publish(ctx, "c:slow", []byte("maybe"))
	if err == nil {
		t.Fatal("Publish succeeded while the server was paused")
	}
	if errors.Is(err, hub.ErrNotPublished) {
		t.Fatalf("a publish that timed out after being sent is marked not published: %v", err)
	}
	t.Logf("publish to a paused server: %v", err)
	// The broker works again once the pause ends.
	eventually(t, 10*time.Second, func() bool {
		_ = a.Publish(bg, "c:slow", []byte("later"))
		return recA.has("c:slow", "later")
	}, "delivery after the pause")
}

func TestBrokerRejectsBadConfiguration(t *testing.T) {
	if _, err := NewBroker("localhost:6379", "", nil); err == nil {
		t.Error("an empty prefix was accepted")
	}
	if _, err := NewBroker("ftp://host", "p", nil); err == nil {
		t.Error("a bad address was accepted")
	}
	srv := startValkey(t)
	b, _ := startBroker(t, srv.addr, testPrefix(t))
	if err := b.Run(&recorder{}); err == nil {
		t.Error("a second Run succeeded")
	}
}
