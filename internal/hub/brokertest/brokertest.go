// Package brokertest is the conformance suite of the hub.Broker contract
// (internal/hub/broker.go): every Broker implementation runs it from its
// own tests.
//
//	func TestConformance(t *testing.T) {
//		brokertest.Run(t, brokertest.Config{NewNodes: ..., Nodes: 3})
//	}
package brokertest

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/frankenphp-realtime/realtime/internal/hub"
)

// Config describes the implementation under test.
type Config struct {
	// NewNodes returns n brokers of one fresh cluster (sharing nothing with
	// another call's), not running yet. The suite runs them, and closes
	// them when the test ends.
	NewNodes func(t *testing.T, n int) []hub.Broker
	// Nodes is how many nodes NewNodes can make: 1 for a single-node
	// broker, in which case several publishers are goroutines of that node.
	Nodes int
	// DeliversEveryTopic is set for a broker that hands every topic to its
	// handler, subscribed or not (the memory broker: it has one node). The
	// tests of subscription-based delivery are then skipped.
	DeliversEveryTopic bool
	// Timeout bounds each wait for deliveries (default 10s).
	Timeout time.Duration
}

// Run runs the suite.
func Run(t *testing.T, c Config) {
	if c.NewNodes == nil {
		t.Fatal("brokertest: Config.NewNodes is required")
	}
	c.Nodes = max(c.Nodes, 1)
	if c.Timeout <= 0 {
		c.Timeout = 10 * time.Second
	}
	s := &suite{Config: c}
	t.Run("DeliversToEverySubscribedNode", s.deliversToEverySubscribedNode)
	t.Run("KeepsEachPublishersOrder", s.keepsEachPublishersOrder)
	t.Run("DeliversOnlySubscribedTopics", s.deliversOnlySubscribedTopics)
	t.Run("UnsubscribeStopsDelivery", s.unsubscribeStopsDelivery)
	t.Run("NeverRunsTheHandlerConcurrentlyForATopic", s.neverConcurrentPerTopic)
	t.Run("SlowHandlerDoesNotBlockPublish", s.slowHandlerDoesNotBlockPublish)
	t.Run("PublishAfterCloseIsNotPublished", s.publishAfterClose)
}

type suite struct{ Config }

// node is one running broker with the handler the suite gave it.
type node struct {
	hub.Broker
	name  string
	rec   *recorder
	close func()
}

// start makes n nodes and runs each with a recorder; hook, when set, runs
// inside the handler before the message is recorded.
func (s *suite) start(t *testing.T, n int, hook func(node int, topic string, data []byte)) []*node {
	t.Helper()
	brokers := s.NewNodes(t, n)
	if len(brokers) != n {
		t.Fatalf("brokertest: NewNodes(%d) returned %d brokers", n, len(brokers))
	}
	nodes := make([]*node, n)
	for i, b := range brokers {
		rec := newRecorder()
		if hook != nil {
			rec.hook = func(topic string, data []byte) { hook(i, topic, data) }
		}
		var once sync.Once
		nd := &node{Broker: b, name: "node" + strconv.Itoa(i), rec: rec}
		nd.close = func() {
			once.Do(func() {
				if err := b.Close(); err != nil {
					t.Errorf("%s: Close: %v", nd.name, err)
				}
			})
		}
		t.Cleanup(nd.close)
		if err := b.Run(rec); err != nil {
			t.Fatalf("%s: Run: %v", nd.name, err)
		}
		nodes[i] = nd
	}
	return nodes
}

func subscribe(t *testing.T, n *node, topics ...string) {
	t.Helper()
	for _, topic := range topics {
		if err := n.Subscribe(context.Background(), topic); err != nil {
			t.Fatalf("%s: Subscribe(%q): %v", n.name, topic, err)
		}
	}
}

func publish(t *testing.T, n *node, topic, data string) {
	t.Helper()
	if err := n.Publish(context.Background(), topic, []byte(data)); err != nil {
		t.Fatalf("%s: Publish(%q, %q): %v", n.name, topic, data, err)
	}
}

func (s *suite) deliversToEverySubscribedNode(t *testing.T) {
	nodes := s.start(t, s.Nodes, nil)
	for _, n := range nodes {
		subscribe(t, n, "c:news")
	}
	var want []string
	for _, n := range nodes {
		msg := "from " + n.name
		publish(t, n, "c:news", msg)
		want = append(want, msg)
	}
	for _, n := range nodes {
		n.rec.waitFor(t, s.Timeout, n.name+" receiving every node's message", func() bool {
			return len(n.rec.on("c:news")) >= len(want)
		})
		got := n.rec.on("c:news")
		if !sameSet(got, want) {
			t.Errorf("%s received %q, want each of %q once", n.name, got, want)
		}
	}
}

// Several publishers, spread over the nodes, each publish a numbered
// sequence on one topic at the same time: every subscribed node receives
// every sequence complete, each in its publisher's order.
func (s *suite) keepsEachPublishersOrder(t *testing.T) {
	const publishers, perPublisher = 4, 300
	nodes := s.start(t, s.Nodes, nil)
	for _, n := range nodes {
		subscribe(t, n, "c:ordered")
	}
	var wg sync.WaitGroup
	for p := range publishers {
		n := nodes[p%len(nodes)]
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perPublisher {
				if err := n.Publish(context.Background(), "c:ordered", []byte(fmt.Sprintf("p%d:%d", p, i))); err != nil {
					t.Errorf("%s: publisher %d: Publish #%d: %v", n.name, p, i, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	for _, n := range nodes {
		n.rec.waitFor(t, s.Timeout, fmt.Sprintf("%s receiving %d messages", n.name, publishers*perPublisher), func() bool {
			return len(n.rec.on("c:ordered")) >= publishers*perPublisher
		})
		next := make(map[string]int)
		for _, m := range n.rec.on("c:ordered") {
			p, seq, _ := strings.Cut(m, ":")
			i, _ := strconv.Atoi(seq)
			if i != next[p] {
				t.Fatalf("%s: publisher %s: received message %d where %d was due: out of order, lost or duplicated", n.name, p, i, next[p])
			}
			next[p]++
		}
	}
}

// A node receives only the topics it subscribed to. Absence is proved
// with the order guarantee rather than a quiet period: a publisher sends
// "before" on a topic a node does not hold, and "after" on the same topic
// once the node holds it; had the broker delivered "before" to that node,
// it would have delivered it first.
func (s *suite) deliversOnlySubscribedTopics(t *testing.T) {
	if s.DeliversEveryTopic {
		t.Skip("the broker delivers every topic to its single node")
	}
	nodes := s.start(t, max(s.Nodes, 2), nil)
	a, b := nodes[0], nodes[1]
	subscribe(t, a, "c:for-a")
	subscribe(t, b, "c:for-b")
	publish(t, b, "c:for-a", "before") // b publishes on a topic only a holds
	publish(t, a, "c:for-b", "before") // and a on one only b holds
	a.rec.waitFor(t, s.Timeout, "a receiving its topic", func() bool { return a.rec.has("c:for-a", "before") })
	b.rec.waitFor(t, s.Timeout, "b receiving its topic", func() bool { return b.rec.has("c:for-b", "before") })

	subscribe(t, b, "c:for-a")
	subscribe(t, a, "c:for-b")
	publish(t, b, "c:for-a", "after")
	publish(t, a, "c:for-b", "after")
	a.rec.waitFor(t, s.Timeout, "a receiving b's topic once subscribed", func() bool { return a.rec.has("c:for-b", "after") })
	b.rec.waitFor(t, s.Timeout, "b receiving a's topic once subscribed", func() bool { return b.rec.has("c:for-a", "after") })
	if got := a.rec.on("c:for-b"); len(got) != 1 {
		t.Errorf("a received %q on c:for-b, want only what followed its subscribe", got)
	}
	if got := b.rec.on("c:for-a"); len(got) != 1 {
		t.Errorf("b received %q on c:for-a, want only what followed its subscribe", got)
	}
}

// After Unsubscribe nothing more of the topic arrives: "gone" published
// while unsubscribed would arrive before "back" (same publisher, same
// topic) if it were delivered.
func (s *suite) unsubscribeStopsDelivery(t *testing.T) {
	if s.DeliversEveryTopic {
		t.Skip("the broker delivers every topic to its single node")
	}
	nodes := s.start(t, max(s.Nodes, 2), nil)
	pub, sub := nodes[0], nodes[1]
	subscribe(t, sub, "c:leaving")
	publish(t, pub, "c:leaving", "held")
	sub.rec.waitFor(t, s.Timeout, "delivery while subscribed", func() bool { return sub.rec.has("c:leaving", "held") })
	if err := sub.Unsubscribe(context.Background(), "c:leaving"); err != nil {
		t.Fatalf("Unsubscribe: %v", err)
	}
	publish(t, pub, "c:leaving", "gone")
	subscribe(t, sub, "c:leaving")
	publish(t, pub, "c:leaving", "back")
	sub.rec.waitFor(t, s.Timeout, "delivery after subscribing again", func() bool { return sub.rec.has("c:leaving", "back") })
	if got := sub.rec.on("c:leaving"); len(got) != 2 || got[0] != "held" || got[1] != "back" {
		t.Errorf("%s received %q, want [held back]: a message published while unsubscribed was delivered", sub.name, got)
	}
}

// Publishers on every node hammer a few topics; each handler call counts
// itself in flight per (node, topic) and yields, so that a broker calling
// the handler concurrently for one topic is caught in the act.
func (s *suite) neverConcurrentPerTopic(t *testing.T) {
	const topics, publishers, perPublisher = 4, 8, 200
	var inFlight [16][topics]atomic.Int32
	var overlaps, crossTopic atomic.Int32
	var anyInFlight [16]atomic.Int32
	topicIndex := func(topic string) int {
		i, _ := strconv.Atoi(strings.TrimPrefix(topic, "c:t"))
		return i
	}
	n := min(s.Nodes, len(inFlight))
	nodes := s.start(t, n, func(node int, topic string, _ []byte) {
		c := &inFlight[node][topicIndex(topic)]
		if c.Add(1) > 1 {
			overlaps.Add(1)
		}
		if anyInFlight[node].Add(1) > 1 {
			crossTopic.Add(1)
		}
		for range 20 {
			runtime.Gosched()
		}
		anyInFlight[node].Add(-1)
		c.Add(-1)
	})
	names := make([]string, topics)
	for i := range names {
		names[i] = "c:t" + strconv.Itoa(i)
	}
	for _, nd := range nodes {
		subscribe(t, nd, names...)
	}
	var wg sync.WaitGroup
	for p := range publishers {
		nd := nodes[p%len(nodes)]
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perPublisher {
				if err := nd.Publish(context.Background(), names[(p+i)%topics], []byte("x")); err != nil {
					t.Errorf("%s: Publish: %v", nd.name, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	for _, nd := range nodes {
		nd.rec.waitFor(t, s.Timeout, nd.name+" receiving every message", func() bool {
			return nd.rec.count() >= publishers*perPublisher
		})
	}
	if o := overlaps.Load(); o > 0 {
		t.Errorf("the handler ran concurrently for one topic %d times", o)
	}
	t.Logf("handler calls overlapping across topics: %d", crossTopic.Load())
}

// A handler that does not return (a stuck node) never makes Publish wait,
// on its node or another.
func (s *suite) slowHandlerDoesNotBlockPublish(t *testing.T) {
	release := make(chan struct{})
	var releaseOnce sync.Once
	unblock := func() { releaseOnce.Do(func() { close(release) }) }
	nodes := s.start(t, s.Nodes, func(_ int, topic string, _ []byte) {
		if topic == "c:stuck" {
			<-release
		}
	})
	t.Cleanup(unblock) // before the nodes close (cleanups run last first)
	for _, nd := range nodes {
		subscribe(t, nd, "c:stuck")
	}
	const perNode = 20
	for _, nd := range nodes {
		done := make(chan error, 1)
		go func() {
			for i := range perNode {
				if err := nd.Publish(context.Background(), "c:stuck", []byte(strconv.Itoa(i))); err != nil {
					done <- err
					return
				}
			}
			done <- nil
		}()
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("%s: Publish while a handler is stuck: %v", nd.name, err)
			}
		case <-time.After(s.Timeout):
			t.Fatalf("%s: Publish blocked for %s behind a stuck handler", nd.name, s.Timeout)
		}
	}
	unblock()
	for _, nd := range nodes {
		nd.rec.waitFor(t, s.Timeout, nd.name+" receiving the queued messages once unblocked", func() bool {
			return len(nd.rec.on("c:stuck")) >= perNode*len(nodes)
		})
	}
}

// Publish on a closed broker definitely did not hand the message over:
// the error wraps hub.ErrNotPublished, so the hub serves its own node.
func (s *suite) publishAfterClose(t *testing.T) {
	nodes := s.start(t, 1, nil)
	subscribe(t, nodes[0], "c:closed")
	nodes[0].close()
	err := nodes[0].Publish(context.Background(), "c:closed", []byte("x"))
	if !errors.Is(err, hub.ErrNotPublished) {
		t.Fatalf("Publish after Close = %v, want an error wrapping hub.ErrNotPublished", err)
	}
}

// recorder is the BrokerHandler of one node.
type recorder struct {
	hook    func(topic string, data []byte)
	mu      sync.Mutex
	msgs    []delivery
	changed chan struct{}
}

type delivery struct{ topic, data string }

func newRecorder() *recorder { return &recorder{changed: make(chan struct{}, 1)} }

func (r *recorder) HandleBrokerMessage(topic string, data []byte) {
	if r.hook != nil {
		r.hook(topic, data)
	}
	r.mu.Lock()
	r.msgs = append(r.msgs, delivery{topic, string(data)})
	r.mu.Unlock()
	select {
	case r.changed <- struct{}{}:
	default:
	}
}

func (r *recorder) on(topic string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, m := range r.msgs {
		if m.topic == topic {
			out = append(out, m.data)
		}
	}
	return out
}

func (r *recorder) has(topic, data string) bool {
	for _, d := range r.on(topic) {
		if d == data {
			return true
		}
	}
	return false
}

func (r *recorder) all() []delivery {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]delivery(nil), r.msgs...)
}

func (r *recorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.msgs)
}

// waitFor waits, at most timeout, for cond, re-checking at each delivery.
func (r *recorder) waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	// A delivery between the check and the wait leaves its signal in the
	// channel; the tick covers conditions that depend on other recorders.
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-r.changed:
		case <-tick.C:
		case <-deadline.C:
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
	}
}

// sameSet reports whether got holds exactly the elements of want, each once.
func sameSet(got, want []string) bool {
	if len(got) != len(want) {
		return false
	}
	count := make(map[string]int)
	for _, w := range want {
		count[w]++
	}
	for _, g := range got {
		if count[g]--; count[g] < 0 {
			return false
		}
	}
	return true
}
