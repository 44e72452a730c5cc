package hub_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/frankenphp-realtime/realtime/internal/hub"
)

// scriptedBroker is a memory broker whose subscription calls the test
// counts, fails or holds, and whose Publish it can make fail.
type scriptedBroker struct {
	*hub.MemoryBroker

	mu            sync.Mutex
	subscribes    []string
	unsubscribes  []string
	failSubscribe error                   // the next Subscribe fails with it
	hold          func(topic string) bool // Subscribe of such a topic waits for release
	release       chan struct{}           // closed to let held Subscribes go on
	entered       chan string             // a held Subscribe started
	publishErr    error                   // every Publish fails with it
	releaseOnce   sync.Once
}

func newScripted() *scriptedBroker {
	return &scriptedBroker{MemoryBroker: hub.NewMemoryBroker(), release: make(chan struct{}), entered: make(chan string, 16)}
}

func (b *scriptedBroker) Subscribe(ctx context.Context, topic string) error {
	b.mu.Lock()
	b.subscribes = append(b.subscribes, topic)
	err := b.failSubscribe
	b.failSubscribe = nil
	hold := b.hold != nil && b.hold(topic)
	b.mu.Unlock()
	if hold {
		b.entered <- topic
		<-b.release
	}
	if err != nil {
		return err
	}
	return b.MemoryBroker.Subscribe(ctx, topic)
}

func (b *scriptedBroker) Unsubscribe(ctx context.Context, topic string) error {
	b.mu.Lock()
	b.unsubscribes = append(b.unsubscribes, topic)
	b.mu.Unlock()
	return b.MemoryBroker.Unsubscribe(ctx, topic)
}

func (b *scriptedBroker) Publish(ctx context.Context, topic string, data []byte) error {
	b.mu.Lock()
	err := b.publishErr
	b.mu.Unlock()
	if err != nil {
		return err
	}
	return b.MemoryBroker.Publish(ctx, topic, data)
}

func (b *scriptedBroker) setPublishErr(err error) {
	b.mu.Lock()
	b.publishErr = err
	b.mu.Unlock()
}

func (b *scriptedBroker) calls() (subs, unsubs []string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.subscribes...), append([]string(nil), b.unsubscribes...)
}

func (b *scriptedBroker) unblock() { b.releaseOnce.Do(func() { close(b.release) }) }

// A channel's topic is subscribed on the broker for its first local
// holder only, and unsubscribed after its last; so is a user's topic.
func TestBrokerSubscriptionFollowsLocalHolders(t *testing.T) {
	b := newScripted()
	h := newTestHub(t, hub.Backend{Broker: b}, hub.Settings{})
	a, _ := connect(t, h, plain, "")
	c, _ := connect(t, h, plain, "")
	if subs, _ := b.calls(); len(subs) != 0 {
		t.Fatalf("anonymous connections subscribed %q", subs)
	}
	subscribe(t, h, a, "news", "")
	subscribe(t, h, c, "news", "")
	subscribe(t, h, a, "news", "") // idempotent
	subs, unsubs := b.calls()
	if len(subs) != 1 || !strings.Contains(subs[0], "news") || len(unsubs) != 0 {
		t.Fatalf("two holders of news: subscribes %q, unsubscribes %q; want one subscribe", subs, unsubs)
	}
	h.Unsubscribe(a, "news")
	if _, unsubs := b.calls(); len(unsubs) != 0 {
		t.Fatalf("unsubscribed %q while c still holds news", unsubs)
	}
	h.Unsubscribe(c, "news")
	if _, unsubs := b.calls(); len(unsubs) != 1 || unsubs[0] != subs[0] {
		t.Fatalf("after the last holder left: unsubscribes %q, want [%s]", unsubs, subs[0])
	}
	subscribe(t, h, c, "news", "")
	if subs, _ := b.calls(); len(subs) != 2 || subs[1] != subs[0] {
		t.Fatalf("a new first holder: subscribes %q, want the topic again", subs)
	}

	// A user's topic: one subscribe for the user's first connection, one
	// unsubscribe after their last.
	before, _ := b.calls()
	u1, f1 := connect(t, h, plain, "7")
	_, f2 := connect(t, h, plain, "7")
	subs, _ = b.calls()
	userTopics := subs[len(before):]
	if len(userTopics) != 1 || userTopics[0] == subs[0] {
		t.Fatalf("two connections of user 7 subscribed %q, want one user topic", userTopics)
	}
	subscribe(t, h, u1, "lobby", "7") // presence indexes the user again: no new topic
	subs, _ = b.calls()
	if n := len(subs) - len(before); n != 2 {
		t.Fatalf("after a presence subscribe, new broker topics %q, want only lobby's besides the user's", subs[len(before):])
	}
	f1.Close(hub.CloseNormal, "")
	f2.Close(hub.CloseNormal, "")
	eventually(t, "the user's topic unsubscribed", func() bool {
		_, unsubs := b.calls()
		for _, u := range unsubs {
			if u == userTopics[0] {
				return true
			}
		}
		return false
	})
}

// A broker that refuses a subscription leaves nothing held: the client
// is not subscribed, and the next holder's subscribe and last release
// reach the broker again.
func TestFailedBrokerSubscribeHoldsNothing(t *testing.T) {
	b := newScripted()
	h := newTestHub(t, hub.Backend{Broker: b}, hub.Settings{})
	c, _ := connect(t, h, plain, "")
	refused := errors.New("valkey: ERR refused")
	b.mu.Lock()
	b.failSubscribe = refused
	b.mu.Unlock()
	_, err := h.Subscribe(bg, c, "news", "", nil)
	if !errors.Is(err, hub.ErrBrokerSubscribe) || !errors.Is(err, refused) {
		t.Fatalf("subscribe with the broker refusing = %v", err)
	}
	if _, ok := c.Subscribed("news"); ok || h.Stats().Subscriptions != 0 {
		t.Fatalf("a failed subscribe left the client subscribed (stats %+v)", h.Stats())
	}
	subscribe(t, h, c, "news", "")
	h.Unsubscribe(c, "news")
	subs, unsubs := b.calls()
	if len(subs) != 2 || len(unsubs) != 1 {
		t.Fatalf("subscribes %q, unsubscribes %q: want the retry subscribed and its release unsubscribed", subs, unsubs)
	}
}

// Broker subscriptions of different channels never wait for each other:
// a Subscribe stuck on one topic delays only that topic's subscribers,
// who share its single broker subscription when it completes.
func TestSlowBrokerSubscribeDelaysOnlyItsTopic(t *testing.T) {
	b := newScripted()
	b.hold = func(topic string) bool { return strings.Contains(topic, "slow") }
	h := newTestHub(t, hub.Backend{Broker: b}, hub.Settings{})
	t.Cleanup(b.unblock) // before the hub shuts down
	first, _ := connect(t, h, plain, "")
	second, _ := connect(t, h, plain, "")
	other, _ := connect(t, h, plain, "")

	results := make(chan error, 2)
	go func() { _, err := h.Subscribe(bg, first, "slow", "", nil); results <- err }()
	select {
	case <-b.entered:
	case <-time.After(5 * time.Second):
		t.Fatal("the slow subscribe never reached the broker")
	}
	go func() { _, err := h.Subscribe(bg, second, "slow", "", nil); results <- err }()

	done := make(chan error, 1)
	go func() { _, err := h.Subscribe(bg, other, "fast", "", nil); done <- err }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a subscribe to another channel waited for the stuck one")
	}
	b.unblock()
	for range 2 {
		select {
		case err := <-results:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("the held subscribes never completed")
		}
	}
	if subs := slowCalls(b.calls()); subs != 1 {
		t.Fatalf("%d broker subscribes for the slow channel's two holders, want one", subs)
	}
	h.Unsubscribe(first, "slow")
	if _, unsubs := b.calls(); len(unsubs) != 0 {
		t.Fatalf("unsubscribed %q while second holds the channel", unsubs)
	}
	h.Unsubscribe(second, "slow")
	if _, unsubs := b.calls(); len(unsubs) != 1 {
		t.Fatalf("after the last holder: unsubscribes %q, want one", unsubs)
	}
}

func slowCalls(calls []string, _ []string) int {
	n := 0
	for _, c := range calls {
		if strings.Contains(c, "slow") {
			n++
		}
	}
	return n
}

// A client closed while its subscribe waits for the broker is not left
// subscribed, and the broker subscription made for it is given back.
func TestClientClosedDuringBrokerSubscribe(t *testing.T) {
	b := newScripted()
	b.hold = func(topic string) bool { return strings.Contains(topic, "slow") }
	h := newTestHub(t, hub.Backend{Broker: b}, hub.Settings{})
	t.Cleanup(b.unblock)
	c, f := connect(t, h, plain, "")
	result := make(chan error, 1)
	go func() { _, err := h.Subscribe(bg, c, "slow", "", nil); result <- err }()
	select {
	case <-b.entered:
	case <-time.After(5 * time.Second):
		t.Fatal("the subscribe never reached the broker")
	}
	f.Close(hub.CloseNormal, "")
	eventually(t, "the client detached", func() bool { return h.Stats().Connections == 0 })
	b.unblock()
	select {
	case err := <-result:
		if !errors.Is(err, hub.ErrClosed) {
			t.Fatalf("subscribe of a client closed meanwhile = %v, want ErrClosed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the subscribe never completed")
	}
	if s := h.Stats(); s.Subscriptions != 0 || s.Channels != 0 {
		t.Fatalf("stats = %+v", s)
	}
	subs, unsubs := b.calls()
	if len(subs) != 1 || len(unsubs) != 1 {
		t.Fatalf("subscribes %q, unsubscribes %q: the topic is still held", subs, unsubs)
	}
}

// When the broker definitely did not take a publication (ErrNotPublished)
// the node's own subscribers still get it and the caller gets the error;
// when the outcome is unknown or the broker is overloaded nothing is
// delivered locally (at-most-once), and the caller gets the error.
func TestPublishErrors(t *testing.T) {
	b := newScripted()
	h := newTestHub(t, hub.Backend{Broker: b}, hub.Settings{})
	c, f := connect(t, h, plain, "7")
	subscribe(t, h, c, "news", "")

	b.setPublishErr(fmt.Errorf("valkey: publish failed: unreachable: %w", hub.ErrNotPublished))
	err := h.Trigger(bg, hub.Publication{Channels: []string{"news"}, Data: []byte("local")})
	if !errors.Is(err, hub.ErrNotPublished) || !strings.Contains(err.Error(), "unreachable") || !strings.Contains(err.Error(), "this node") {
		t.Fatalf("trigger with the cluster out of reach = %v", err)
	}
	if ev := f.next(t, 0); ev["data"] != "local" {
		t.Fatalf("local subscriber got %v", ev)
	}
	if err := h.SendToUser(bg, "7", "", []byte("local direct")); !errors.Is(err, hub.ErrNotPublished) {
		t.Fatalf("direct with the cluster out of reach = %v", err)
	}
	if ev := f.next(t, 1); ev["kind"] != "direct" || ev["data"] != "local direct" {
		t.Fatalf("local user got %v", ev)
	}
	if n := h.Counters().Published; n != 0 {
		t.Errorf("published counter = %d after failed publishes", n)
	}

	for _, failure := range []error{
		errors.New("valkey: publish failed: i/o timeout"),
		fmt.Errorf("memory broker: queue full: %w", hub.ErrOverloaded),
	} {
		b.setPublishErr(failure)
		if err := h.Trigger(bg, hub.Publication{Channels: []string{"news"}, Data: []byte("maybe")}); !errors.Is(err, failure) {
			t.Fatalf("trigger = %v, want %v", err, failure)
		}
		if err := h.SendToUser(bg, "7", "", []byte("maybe")); !errors.Is(err, failure) {
			t.Fatalf("direct = %v, want %v", err, failure)
		}
	}
	b.setPublishErr(nil)
	trigger(t, h, "news", "", "marker")
	if ev := f.next(t, 2); ev["data"] != "marker" {
		t.Fatalf("a publication with an unknown outcome was delivered locally: %v", ev)
	}
}
