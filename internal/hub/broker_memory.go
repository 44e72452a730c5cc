package hub

import (
	"context"
	"errors"
	"sync/atomic"
)

// MemoryBroker delivers publications to this process only: the default
// single-node driver.
type MemoryBroker struct {
	handler atomic.Pointer[BrokerHandler]
}

var _ Broker = (*MemoryBroker)(nil)

// NewMemoryBroker returns a broker for a single node.
func NewMemoryBroker() *MemoryBroker { return &MemoryBroker{} }

func (b *MemoryBroker) Run(h BrokerHandler) error {
	b.handler.Store(&h)
	return nil
}

// Publish hands data to the local hub synchronously; the hub's handler only
// enqueues, so a PHP request never waits on a client socket.
func (b *MemoryBroker) Publish(_ context.Context, topic string, data []byte) error {
	h := b.handler.Load()
	if h == nil {
		return errors.New("memory broker: closed")
	}
	(*h).HandleBrokerMessage(topic, data)
	return nil
}

func (b *MemoryBroker) Subscribe(context.Context, string) error   { return nil }
func (b *MemoryBroker) Unsubscribe(context.Context, string) error { return nil }

func (b *MemoryBroker) Close() error {
	b.handler.Store(nil)
	return nil
}
