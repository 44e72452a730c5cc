package hub

import "context"

// Broker carries publications between the nodes of a cluster. The hub names
// topics (one per channel, one per user) and encodes payloads; a broker moves
// opaque bytes.
//
// Implementations must guarantee:
//   - messages published by one caller on one topic are handed to the
//     BrokerHandler of every node in publish order;
//   - a node receives only the topics it is subscribed to (the memory broker,
//     having one node, may deliver every topic);
//   - HandleBrokerMessage is never called concurrently for the same topic,
//     and a slow handler never makes Publish on another node block;
//   - Publish returns an error when the message could not be handed over;
//     it never silently drops.
type Broker interface {
	// Run starts delivering to h. It is called once, before any other method.
	Run(h BrokerHandler) error
	// Publish sends data on topic to every subscribed node, this one included.
	Publish(ctx context.Context, topic string, data []byte) error
	// Subscribe and Unsubscribe start and stop delivery of a topic to this node.
	Subscribe(ctx context.Context, topic string) error
	Unsubscribe(ctx context.Context, topic string) error
	// Close stops delivery and releases every resource the broker holds.
	Close() error
}

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
