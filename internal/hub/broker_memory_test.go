package hub

import (
	"context"
	"errors"
	"hash/maphash"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"
)

// blockingHandler records deliveries; the first one waits for release.
type blockingHandler struct {
	entered chan struct{}
	release chan struct{}
	once    sync.Once
	mu      sync.Mutex
	got     []string
	all     chan struct{}
	want    int
}

func (h *blockingHandler) HandleBrokerMessage(_ string, data []byte) {
	h.once.Do(func() {
		close(h.entered)
		<-h.release
	})
	h.mu.Lock()
	h.got = append(h.got, string(data))
	if len(h.got) == h.want {
		close(h.all)
	}
	h.mu.Unlock()
}

// A topic's queue holds memoryQueueLen messages behind the one being
// handled; the next Publish fails at once with ErrOverloaded (counted)
// instead of waiting, and what was queued is still delivered, in order.
func TestMemoryBrokerRefusesWhenTheTopicQueueIsFull(t *testing.T) {
	b := NewMemoryBroker()
	h := &blockingHandler{entered: make(chan struct{}), release: make(chan struct{}), all: make(chan struct{}), want: memoryQueueLen + 1}
	if err := b.Run(h); err != nil {
		t.Fatal(err)
	}
	released := false
	defer func() {
		if !released {
			close(h.release)
		}
		_ = b.Close()
	}()
	ctx := context.Background()
	if err := b.Subscribe(ctx, "c:busy"); err != nil {
		t.Fatal(err)
	}
	if err := b.Publish(ctx, "c:busy", []byte("0")); err != nil {
		t.Fatal(err)
	}
	select {
	case <-h.entered:
	case <-time.After(5 * time.Second):
		t.Fatal("the first message was never handled")
	}
	for i := 1; i <= memoryQueueLen; i++ {
		if err := b.Publish(ctx, "c:busy", []byte(strconv.Itoa(i))); err != nil {
			t.Fatalf("publish #%d with room in the queue: %v", i, err)
		}
	}
	start := time.Now()
	err := b.Publish(ctx, "c:busy", []byte("one too many"))
	if !errors.Is(err, ErrOverloaded) || errors.Is(err, ErrNotPublished) {
		t.Fatalf("publish on a full queue = %v, want ErrOverloaded (and not ErrNotPublished)", err)
	}
	if took := time.Since(start); took > time.Second {
		t.Errorf("the refused publish took %s: it must not wait", took)
	}
	if errs, _ := b.BrokerCounters(); errs != 1 {
		t.Errorf("BrokerCounters errors = %d, want 1", errs)
	}
	close(h.release)
	released = true
	select {
	case <-h.all:
	case <-time.After(10 * time.Second):
		t.Fatal("the queued messages were not delivered")
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for i, got := range h.got {
		if got != strconv.Itoa(i) {
			t.Fatalf("delivery #%d = %q: out of order", i, got)
		}
	}
}

func TestMemoryBrokerRunsOnce(t *testing.T) {
	b := NewMemoryBroker()
	if err := b.Publish(context.Background(), "c:x", nil); !errors.Is(err, ErrNotPublished) {
		t.Errorf("Publish before Run = %v, want ErrNotPublished", err)
	}
	h := &blockingHandler{entered: make(chan struct{}), release: make(chan struct{})}
	close(h.release)
	if err := b.Run(h); err != nil {
		t.Fatal(err)
	}
	if err := b.Run(h); err == nil {
		t.Error("a second Run succeeded")
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Errorf("a second Close: %v", err)
	}
}

// batchingHandler is a blockingHandler that also takes batches.
type batchingHandler struct {
	blockingHandler
	batches []int // sizes, in order
	topics  []string
}

func (h *batchingHandler) HandleBrokerBatch(topic string, data [][]byte) {
	h.mu.Lock()
	h.batches = append(h.batches, len(data))
	h.topics = append(h.topics, topic)
	h.mu.Unlock()
	for _, d := range data {
		h.HandleBrokerMessage(topic, d)
	}
}

// A backlog reaches a BatchHandler in runs of one topic, at most
// memoryBatch long, in publish order; without a backlog each message goes
// alone at once.
func TestMemoryBrokerHandsBacklogOverInBatches(t *testing.T) {
	b := NewMemoryBroker()
	// Two topics on one dispatcher queue, so that their runs interleave.
	a, c := "c:a", ""
	for i := 0; c == ""; i++ {
		if x := "c:b" + strconv.Itoa(i); maphash.String(b.seed, x)%memoryDispatchers == maphash.String(b.seed, a)%memoryDispatchers {
			c = x
		}
	}
	total := 1 + 2*memoryBatch + 10
	h := &batchingHandler{blockingHandler: blockingHandler{entered: make(chan struct{}), release: make(chan struct{}), all: make(chan struct{}), want: total}}
	if err := b.Run(h); err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	ctx := context.Background()
	for _, topic := range []string{a, c} {
		if err := b.Subscribe(ctx, topic); err != nil {
			t.Fatal(err)
		}
	}
	publish := func(topic string, i int) {
		if err := b.Publish(ctx, topic, []byte(strconv.Itoa(i))); err != nil {
			t.Fatal(err)
		}
	}
	publish(a, 0)
	<-h.entered // the dispatcher is held: what follows queues up
	i := 1
	for ; i <= 2*memoryBatch; i++ {
		publish(a, i)
	}
	for ; i < total; i++ {
		publish(c, i)
	}
	close(h.release)
	select {
	case <-h.all:
	case <-time.After(10 * time.Second):
		t.Fatal("the backlog was not delivered")
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for k, got := range h.got {
		if got != strconv.Itoa(k) {
			t.Fatalf("delivery #%d = %q: out of order", k, got)
		}
	}
	wantSizes := []int{1, memoryBatch, memoryBatch, 10}
	wantTopics := []string{a, a, a, c}
	if !slices.Equal(h.batches, wantSizes) || !slices.Equal(h.topics, wantTopics) {
		t.Errorf("batches %v of %v, want %v of %v", h.batches, h.topics, wantSizes, wantTopics)
	}
}
