package hub

import "context"

// Membership is one user's presence in one channel.
type Membership struct {
	Channel string
	UserID  string
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
//   - an Add that fails (the store is unreachable) is not lost: the store
//     keeps retrying it until it lands or Remove cancels it, and reports the
//     join it then causes through RejoinReporter. The caller therefore
//     always calls Remove for a membership it tried to Add;
//   - memberships of a node that stops refreshing (it crashed) expire after
//     the store's TTL, and Expire hands each expired membership that became a
//     leave to exactly one caller across the cluster.
type Presence interface {
	Add(ctx context.Context, m Membership) (joined bool, err error)
	Remove(ctx context.Context, m Membership) (left bool, err error)
	// Users lists the unique user ids present in channel, sorted.
	Users(ctx context.Context, channel string) ([]string, error)
	// Expire removes the memberships of dead nodes and returns those that
	// thereby left the cluster.
	Expire(ctx context.Context) ([]Membership, error)
	// Close removes this node's memberships and releases resources.
	Close() error
}

// RejoinReporter is implemented by presence stores that re-add this node's
// memberships on their own, e.g. after the store lost its data or expired
// them during a long partition. Such a re-add is a cluster-wide join no Add
// call reports, so the store reports it through the callback, which must
// not block.
type RejoinReporter interface {
	OnRejoin(func(Membership))
}
