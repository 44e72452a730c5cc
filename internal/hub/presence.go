package hub

import "context"

// Membership is one user's presence in one channel.
type Membership struct {
	Channel string
	UserID  string
}

// Member is a present user with the data the hub stored with the
// membership (opaque to the store; last writer wins across nodes).
type Member struct {
	UserID string
	Data   []byte
}

// Departure is a membership that left the cluster, with its last data.
type Departure struct {
	Membership
	Data []byte
}

// Presence stores which users are present in which channels. Nodes add and
// remove their own memberships; the store answers cluster-wide and decides
// cluster-wide transitions, so that a join or leave is reported exactly once
// whichever node caused it.
//
// Implementations must guarantee:
//   - Add reports joined=true only when no node held the membership before,
//     Remove reports left=true only when no node holds it any more, each
//     decided atomically (two nodes never both see the same transition);
//   - Add and Remove are idempotent per node: adding twice then removing once
//     removes this node's membership;
//   - Add stores data with the membership (replacing what any node stored);
//     Members returns it, and Remove and Expire return it with the leave;
//   - an Add that fails (the store is unreachable) is not lost: the store
//     keeps retrying it until it lands or Remove cancels it, and reports the
//     join it then causes through RejoinReporter. The caller therefore
//     always calls Remove for a membership it tried to Add;
//   - memberships of a node that stops refreshing (it crashed) expire after
//     the store's TTL, and Expire hands each expired membership that became a
//     leave to exactly one caller across the cluster;
//   - no call holds a lock that another call for an unrelated membership
//     waits on while it talks to the network.
//
// The conformance suite in internal/hub/presencetest checks these rules.
type Presence interface {
	Add(ctx context.Context, m Membership, data []byte) (joined bool, err error)
	// Remove returns the membership's data when left is true.
	Remove(ctx context.Context, m Membership) (left bool, data []byte, err error)
	// Users lists the unique user ids present in channel, sorted.
	Users(ctx context.Context, channel string) ([]string, error)
	// Members lists the users present in channel with their data, sorted by id.
	Members(ctx context.Context, channel string) ([]Member, error)
	// Expire removes the memberships of dead nodes and returns those that
	// thereby left the cluster.
	Expire(ctx context.Context) ([]Departure, error)
	// Close removes this node's memberships and releases resources.
	Close() error
}

// RejoinReporter is implemented by presence stores that re-add this node's
// memberships on their own, e.g. after the store lost its data or expired
// them during a long partition. Such a re-add is a cluster-wide join no Add
// call reports, so the store reports it through the callback, which must
// not block.
type RejoinReporter interface {
	OnRejoin(func(m Membership, data []byte))
}
