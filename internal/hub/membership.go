package hub

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/frankenphp-realtime/realtime/internal/protocol"
)

// PresenceHook is told about cluster-wide presence transitions. Notify must
// not block: implementations queue and deliver (with retries) on their own.
type PresenceHook interface {
	Notify(event string, m Membership, at time.Time)
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
type memberships struct {
	hub   *Hub
	mu    sync.Mutex
	local map[Membership]*memberState
}

type memberState struct {
	clients int
	stored  bool        // the presence store holds it for this node
	leaving *time.Timer // pending removal once the grace period passes
	// graceID identifies the pending removal, so that a timer that fired
	// while being cancelled does nothing.
	graceID uint64
}

func newMemberships(h *Hub) *memberships {
	return &memberships{hub: h, local: make(map[Membership]*memberState)}
}

func membershipKey(m Membership) string { return "p:" + m.Channel + "\x00" + m.UserID }

// join counts one more local connection of m.UserID in m.Channel. The first
// one adds the membership to the presence store; a cluster-wide join is
// announced. A connection returning within the grace period cancels the
// pending leave, so a page reload produces neither leave nor join.
func (ms *memberships) join(m Membership) error {
	unlock := ms.hub.locks.lock(membershipKey(m))
	defer unlock()
	ms.mu.Lock()
	st := ms.local[m]
	if st == nil {
		st = &memberState{}
		ms.local[m] = st
	}
	st.clients++
	if st.leaving != nil {
		st.leaving.Stop()
		st.leaving = nil
	}
	stored := st.stored
	ms.mu.Unlock()
	if stored {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), presenceOpTimeout)
	defer cancel()
	joined, err := ms.hub.cfg.Presence.Add(ctx, m)
	// Even a failed Add is the store's to retry (Presence contract), so
	// the membership counts as stored and its leave calls Remove.
	ms.mu.Lock()
	st.stored = true
	ms.mu.Unlock()
	if err != nil {
		return err
	}
	if joined {
		ms.hub.announce(EventJoin, m)
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
		delete(ms.local, m)
		return
	}
	st.graceID++
	id := st.graceID
	st.leaving = time.AfterFunc(ms.hub.cfg.PresenceGrace, func() { ms.expireGrace(m, id) })
}

func (ms *memberships) expireGrace(m Membership, id uint64) {
	unlock := ms.hub.locks.lock(membershipKey(m))
	defer unlock()
	ms.mu.Lock()
	st := ms.local[m]
	if st == nil || st.leaving == nil || st.graceID != id || st.clients > 0 {
		ms.mu.Unlock()
		return // a connection came back in time
	}
	delete(ms.local, m)
	ms.mu.Unlock()
	ms.remove(m)
}

func (ms *memberships) remove(m Membership) {
	ctx, cancel := context.WithTimeout(context.Background(), presenceOpTimeout)
	defer cancel()
	left, err := ms.hub.cfg.Presence.Remove(ctx, m)
	if err != nil {
		// The store expires it after its TTL; the leave is then announced
		// by whichever node sweeps it.
		ms.hub.log.Warn("realtime: presence remove failed", slog.String("channel", m.Channel), slog.Any("error", err))
		return
	}
	if left {
		ms.hub.announce(EventLeave, m)
	}
}

// flush removes every membership at once, pending leaves included: the
// node is shutting down.
func (ms *memberships) flush() {
	ms.mu.Lock()
	var all []Membership
	for m, st := range ms.local {
		if st.leaving != nil {
			st.leaving.Stop()
		}
		if st.stored {
			all = append(all, m)
		}
	}
	ms.local = make(map[Membership]*memberState)
	ms.mu.Unlock()
	for _, m := range all {
		ms.remove(m)
	}
}

// announce tells presence channels' subscribers, on every node, and the
// presence hook about a cluster-wide transition. It runs on exactly one
// node per transition: the one whose store call observed it.
func (h *Hub) announce(event string, m Membership) {
	if protocol.IsPresence(m.Channel) {
		var frame []byte
		if event == EventJoin {
			frame = protocol.Join(m.Channel, m.UserID)
		} else {
			frame = protocol.Leave(m.Channel, m.UserID)
		}
		topic, data := presencePayload(m, frame)
		ctx, cancel := context.WithTimeout(context.Background(), presenceOpTimeout)
		if err := h.cfg.Broker.Publish(ctx, topic, data); err != nil {
			h.log.Warn("realtime: publishing presence event failed", slog.String("channel", m.Channel), slog.Any("error", err))
		}
		cancel()
	}
	if h.cfg.PresenceHook != nil && h.cfg.HookChannels(m.Channel) {
		h.cfg.PresenceHook.Notify(event, m, time.Now())
	}
}

// sweepLoop announces the leaves of memberships whose node stopped
// refreshing them (it crashed).
func (h *Hub) sweepLoop() {
	defer close(h.sweepDone)
	t := time.NewTicker(h.cfg.PresenceSweep)
	defer t.Stop()
	for {
		select {
		case <-h.stopSweep:
			return
		case <-t.C:
			ctx, cancel := context.WithTimeout(context.Background(), presenceOpTimeout)
			gone, err := h.cfg.Presence.Expire(ctx)
			cancel()
			if err != nil {
				h.log.Debug("realtime: presence sweep failed", slog.Any("error", err))
				continue
			}
			for _, m := range gone {
				h.announce(EventLeave, m)
			}
		}
	}
}
