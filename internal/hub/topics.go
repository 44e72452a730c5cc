package hub

import (
	"context"
	"sync"
)

// topics holds this node's broker subscriptions: a topic is subscribed for
// its first local holder and unsubscribed after its last. Calls for one
// topic run one at a time, under that topic's own lock, so a slow broker
// delays only the subscribes of the same channel, never unrelated ones;
// the map lock is never held across a broker call.
type topics struct {
	broker Broker
	mu     sync.Mutex
	states map[string]*topicState
}

type topicState struct {
	refs int // guarded by topics.mu: holders plus calls in progress

	mu         sync.Mutex // held across this topic's broker calls
	holders    int
	subscribed bool
}

func newTopics(b Broker) *topics {
	return &topics{broker: b, states: make(map[string]*topicState)}
}

func (t *topics) ref(topic string) *topicState {
	t.mu.Lock()
	defer t.mu.Unlock()
	st := t.states[topic]
	if st == nil {
		st = &topicState{}
		t.states[topic] = st
	}
	st.refs++
	return st
}

func (t *topics) unref(topic string, st *topicState) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if st.refs--; st.refs == 0 {
		delete(t.states, topic)
	}
}

// acquire counts one more local holder of topic, subscribing the broker
// for the first. On error nothing is held.
func (t *topics) acquire(ctx context.Context, topic string) error {
	st := t.ref(topic)
	st.mu.Lock()
	defer st.mu.Unlock()
	if !st.subscribed {
		if err := t.broker.Subscribe(ctx, topic); err != nil {
			t.unref(topic, st)
			return err
		}
		st.subscribed = true
	}
	st.holders++
	return nil // the holder keeps the reference until release
}

// release counts one local holder fewer, unsubscribing the broker after
// the last. A failed unsubscribe leaves the node receiving a topic nobody
// here holds (harmless: nothing is delivered); it is retried on the next
// acquire and release.
func (t *topics) release(ctx context.Context, topic string) error {
	t.mu.Lock()
	st := t.states[topic]
	t.mu.Unlock()
	if st == nil {
		return nil
	}
	st.mu.Lock()
	var err error
	if st.holders--; st.holders == 0 && st.subscribed {
		st.subscribed = false
		err = t.broker.Unsubscribe(ctx, topic)
	}
	st.mu.Unlock()
	t.unref(topic, st)
	return err
}
