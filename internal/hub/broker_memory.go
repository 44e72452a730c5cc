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
	// Every connected user has a topic, so this is a plain map: about 19
	// bytes per topic, where a sync.Map entry costs about 126.
	subMu      sync.RWMutex
	subscribed map[string]struct{}

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

// memoryBatch is the most consecutive publications of one topic a
// dispatcher hands over at once.
const memoryBatch = 64

// dispatch delivers q's messages in order. With a backlog (a publisher
// loop outran the fan-out), consecutive messages of one topic go to a
// BatchHandler together; without one, each goes alone at once: batching
// never waits for a message to come.
func (b *MemoryBroker) dispatch(q chan memoryMessage) {
	defer b.done.Done()
	bh, _ := b.handler.(BatchHandler)
	batch := make([][]byte, 0, memoryBatch)
	for m := range q {
		if bh == nil {
			b.handler.HandleBrokerMessage(m.topic, m.data)
			continue
		}
		topic := m.topic
		batch = append(batch[:0], m.data)
	drain:
		for len(batch) < memoryBatch {
			select {
			case next, ok := <-q:
				if !ok {
					break drain
				}
				if next.topic != topic {
					bh.HandleBrokerBatch(topic, batch)
					topic = next.topic
					batch = append(batch[:0], next.data)
					continue
				}
				batch = append(batch, next.data)
			default:
				break drain
			}
		}
		bh.HandleBrokerBatch(topic, batch)
		clear(batch)
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
	b.subMu.RLock()
	_, ok := b.subscribed[topic]
	b.subMu.RUnlock()
	if !ok {
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
	b.subMu.Lock()
	if b.subscribed == nil {
		b.subscribed = make(map[string]struct{})
	}
	b.subscribed[topic] = struct{}{}
	b.subMu.Unlock()
	return nil
}

func (b *MemoryBroker) Unsubscribe(_ context.Context, topic string) error {
	b.subMu.Lock()
	delete(b.subscribed, topic)
	b.subMu.Unlock()
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
