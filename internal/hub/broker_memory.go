package hub

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"sync"
	"sync/atomic"
)

// Memory broker dispatch: topics are spread over dispatcher goroutines by
// hash, each with a bounded queue. Publish only enqueues, so a PHP request
// that broadcasts to 10,000 subscribers returns after the hand-off, not
// after the fan-out; one dispatcher per topic keeps per-topic order and
// never runs the handler concurrently for one topic.
const (
	memoryDispatchers = 16
	memoryQueueLen    = 4096
)

// MemoryBroker delivers publications to this process only: the default
// single-node driver.
type MemoryBroker struct {
	seed    maphash.Seed
	queues  [memoryDispatchers]chan memoryMessage
	handler BrokerHandler
	done    sync.WaitGroup

	// mu orders Publish with Close: no send on a closed queue.
	mu     sync.RWMutex
	closed bool

	// subscribed holds the topics this node subscribed: a publication on
	// any other topic has nobody to reach, so it is not queued (a PHP loop
	// broadcasting to channels nobody listens to costs no dispatcher work).
	subscribed sync.Map // topic -> struct{}

	overloaded atomic.Int64
}

type memoryMessage struct {
	topic string
	data  []byte
}

var (
	_ Broker      = (*MemoryBroker)(nil)
	_ BrokerStats = (*MemoryBroker)(nil)
)

// NewMemoryBroker returns a broker for a single node.
func NewMemoryBroker() *MemoryBroker { return &MemoryBroker{seed: maphash.MakeSeed()} }

func (b *MemoryBroker) Run(h BrokerHandler) error {
	if b.handler != nil {
		return errors.New("memory broker: already running")
	}
	b.handler = h
	for i := range b.queues {
		q := make(chan memoryMessage, memoryQueueLen)
		b.queues[i] = q
		b.done.Add(1)
		go b.dispatch(q)
	}
	return nil
}

func (b *MemoryBroker) dispatch(q chan memoryMessage) {
	defer b.done.Done()
	for m := range q {
		b.handler.HandleBrokerMessage(m.topic, m.data)
	}
}

// Publish queues data for delivery; it fails with ErrOverloaded when the
// topic's queue is full rather than wait.
func (b *MemoryBroker) Publish(_ context.Context, topic string, data []byte) error {
	b.mu.RLock()
	defer b.mu.RUnlock()
	if b.closed || b.handler == nil {
		return fmt.Errorf("memory broker: closed: %w", ErrNotPublished)
	}
	if _, ok := b.subscribed.Load(topic); !ok {
		return nil // published to no subscriber, like a Valkey PUBLISH
	}
	select {
	case b.queues[maphash.String(b.seed, topic)%memoryDispatchers] <- memoryMessage{topic, data}:
		return nil
	default:
		b.overloaded.Add(1)
		return fmt.Errorf("memory broker: %d messages already wait for delivery on this topic's queue: %w", memoryQueueLen, ErrOverloaded)
	}
}

// Subscribe and Unsubscribe only record the topic: the hub calls them once
// per topic (first holder, after the last), so no count is needed.
func (b *MemoryBroker) Subscribe(_ context.Context, topic string) error {
	b.subscribed.Store(topic, struct{}{})
	return nil
}

func (b *MemoryBroker) Unsubscribe(_ context.Context, topic string) error {
	b.subscribed.Delete(topic)
	return nil
}

// BrokerCounters counts publications refused for a full queue.
func (b *MemoryBroker) BrokerCounters() (int64, int64) { return b.overloaded.Load(), 0 }

// Close delivers what is queued, then stops.
func (b *MemoryBroker) Close() error {
	b.mu.Lock()
	if b.closed || b.handler == nil {
		b.closed = true
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	for _, q := range b.queues {
		close(q)
	}
	b.mu.Unlock()
	b.done.Wait()
	return nil
}
