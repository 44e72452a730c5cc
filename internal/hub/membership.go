package hub

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// PresenceHook is told about cluster-wide presence transitions of the
// channels Settings.HookChannels selects. Notify must not block:
// implementations queue and deliver (with retries) on their own. callerKey
// is the Caller.Key of the connection that caused the transition, or the
// one stored with the membership when another node's memberships expired.
type PresenceHook interface {
	Notify(event string, m Membership, callerKey string, at time.Time)
}

// Presence events, as named in frames and hook calls.
const (
	EventJoin  = "join"
	EventLeave = "leave"
)

// presenceOpTimeout bounds one call to the presence store.
const presenceOpTimeout = 5 * time.Second

// memberships tracks this node's (channel, user) memberships: how many local
// connections hold each, and the pending leave of one that lost its last
// connection less than the grace period ago.
//
// Store calls for one membership run one at a time under that membership's
// own lock (a join waits for a leave still being removed, so the store sees
// them in order); mu guards only the map and counters and is never held
// across a store call.
type memberships struct {
	hub   *Hub
	mu    sync.Mutex
	local map[Membership]*memberState
}

type memberState struct {
	refs    int // guarded by memberships.mu: keeps the state in the map
	clients int
	stored  bool // the store holds it for this node (or retries the Add)
	info    []byte
	caller  Caller      // of the last connection that held it
	leaving *time.Timer // pending removal once the grace period passes
	// graceID identifies the pending removal, so that a timer that fired
	// while being cancelled does nothing.
	graceID uint64

	op sync.Mutex // held across this membership's store calls
}

func newMemberships(h *Hub) *memberships {
	return &memberships{hub: h, local: make(map[Membership]*memberState)}
}

// get returns m's state, creating it, with one more reference.
func (ms *memberships) get(m Membership) *memberState {
	st := ms.local[m]
	if st == nil {
		st = &memberState{}
		ms.local[m] = st
	}
	st.refs++
	return st
}

// put drops a reference; an unused state leaves the map.
func (ms *memberships) put(m Membership, st *memberState) {
	ms.mu.Lock()
	defer ms.mu.Unlock()
	if st.refs--; st.refs == 0 && st.clients == 0 && !st.stored && st.leaving == nil {
		delete(ms.local, m)
	}
}

// join counts one more local connection of m.UserID in m.Channel. The first
// one adds the membership to the presence store; a cluster-wide join is
// announced. A connection returning within the grace period cancels the
// pending leave, so a page reload produces neither leave nor join.
func (ms *memberships) join(m Membership, info []byte, caller Caller) error {
	ms.mu.Lock()
	st := ms.get(m)
	st.clients++
	st.caller = caller
	if st.info == nil {
		st.info = info
	}
	if st.leaving != nil {
		st.leaving.Stop()
		st.leaving = nil
	}
	ms.mu.Unlock()
	defer ms.put(m, st)

	st.op.Lock()
	ms.mu.Lock()
	add := !st.stored && st.clients > 0
	st.stored = st.stored || add
	data := encodeMemberData(st.info, st.caller)
	ms.mu.Unlock()
	if !add {
		st.op.Unlock()
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), presenceOpTimeout)
	joined, err := ms.hub.backend.Presence.Add(ctx, m, data)
	cancel()
	st.op.Unlock()
	// Even a failed Add is the store's to retry (Presence contract), so
	// the membership stays stored and its leave calls Remove.
	if err != nil {
		return err
	}
	if joined {
		ms.hub.announce(EventJoin, m, data)
	}
	return nil
}

// leave counts one local connection fewer; the last one starts the grace
// period, after which the membership is removed from the store.
func (ms *memberships) leave(m Membership) {
	ms.mu.Lock()
	defer ms.mu.Unlock()
	st := ms.local[m]
	if st == nil || st.clients == 0 {
		return
	}
	if st.clients--; st.clients > 0 {
		return
	}
	if !st.stored {
		if st.refs == 0 {
			delete(ms.local, m)
		}
		return
	}
	st.graceID++
	id := st.graceID
	st.leaving = time.AfterFunc(ms.hub.settings().PresenceGrace, func() { ms.expireGrace(m, id) })
}

func (ms *memberships) expireGrace(m Membership, id uint64) {
	ms.mu.Lock()
	st := ms.local[m]
	if st == nil || st.graceID != id {
		ms.mu.Unlock()
		return
	}
	st.refs++
	ms.mu.Unlock()
	defer ms.put(m, st)
	st.op.Lock()
	defer st.op.Unlock()
	ms.mu.Lock()
	remove := st.leaving != nil && st.graceID == id && st.clients == 0 && st.stored
	if remove {
		st.leaving, st.stored, st.info = nil, false, nil
	}
	ms.mu.Unlock()
	if remove {
		ms.remove(m)
	}
}

// remove takes m out of the store and announces the leave it causes.
func (ms *memberships) remove(m Membership) {
	ctx, cancel := context.WithTimeout(context.Background(), presenceOpTimeout)
	defer cancel()
	left, data, err := ms.hub.backend.Presence.Remove(ctx, m)
	if err != nil {
		// The store expires it after its TTL; the leave is then announced
		// by whichever node sweeps it.
		ms.hub.log.Warn("realtime: presence remove failed", slog.String("channel", m.Channel), slog.Any("error", err))
		return
	}
	if left {
		ms.hub.announce(EventLeave, m, data)
	}
}

// rejoined announces a join the store caused on its own (RejoinReporter).
func (ms *memberships) rejoined(m Membership, data []byte) {
	ms.hub.announce(EventJoin, m, data)
}

// flush removes every membership at once, pending leaves included: the
// node is shutting down.
func (ms *memberships) flush() {
	ms.mu.Lock()
	var all []Membership
	for m, st := range ms.local {
		if st.leaving != nil {
			st.leaving.Stop()
			st.leaving = nil
		}
		if st.stored {
			st.stored = false
			all = append(all, m)
		}
	}
	ms.mu.Unlock()
	ms.hub.workers.each(len(all), func(i int) { ms.remove(all[i]) })
}
