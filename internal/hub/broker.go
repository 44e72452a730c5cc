package hub

import (
	"context"
	"errors"
)

// Broker carries publications between the nodes of a cluster. The hub names
// topics (one per channel, one per user) and encodes payloads; a broker moves
// opaque bytes.
//
// Implementations must guarantee:
//   - messages published by one caller on one topic are handed to the
//     handler of every subscribed node in publish order;
//   - a node receives only the topics it is subscribed to (the memory broker,
//     having one node, delivers every topic);
//   - the handler is never called concurrently for the same topic, and a
//     slow handler never makes Publish block on another node;
//   - Publish returns nil once the message is handed over, an error
//     wrapping ErrNotPublished when it definitely was not (the cluster is out
//     of reach: nothing will deliver it), one wrapping ErrOverloaded when the
//     broker refused it for lack of room, and any other error when the
//     outcome is unknown (it may still be delivered, e.g. a timeout after
//     the request was sent). It never drops silently.
//
// The conformance suite in internal/hub/brokertest checks these rules.
type Broker interface {
	// Run starts delivering to h. It is called once, before any other method.
	Run(h BrokerHandler) error
	// Publish sends data on topic to every subscribed node, this one included.
	Publish(ctx context.Context, topic string, data []byte) error
	// Subscribe and Unsubscribe start and stop delivery of a topic to this
	// node. The hub calls them at most once at a time per topic.
	Subscribe(ctx context.Context, topic string) error
	Unsubscribe(ctx context.Context, topic string) error
	// Close stops delivery and releases every resource the broker holds.
	Close() error
}

var (
	// ErrNotPublished: the message was not handed over and will not be
	// delivered by the broker; the hub then serves this node's own
	// connections directly and reports the error.
	ErrNotPublished = errors.New("not published")
	// ErrOverloaded: the broker's hand-off queue is full; nothing was
	// delivered. The caller may retry later.
	ErrOverloaded = errors.New("publish queue full")
)

// BrokerStats is implemented by brokers that count their failures.
type BrokerStats interface {
	// BrokerCounters returns how many operations failed and how many times
	// the broker reconnected, since it started.
	BrokerCounters() (errors, reconnects int64)
}

// BrokerHandler receives what a Broker delivers. It must not block: it hands
// data to bounded per-connection queues and returns.
type BrokerHandler interface {
	HandleBrokerMessage(topic string, data []byte)
}

// BatchHandler is implemented by handlers that take several consecutive
// publications of one topic at once, in order: a broker with a backlog
// hands them over together, so each connection gets the whole run in one
// enqueue and one write. Brokers use it when the handler has it.
type BatchHandler interface {
	HandleBrokerBatch(topic string, data [][]byte)
}
