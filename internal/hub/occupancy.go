package hub

import (
	"context"
	"sort"
	"strings"
)

// Occupancy is implemented by brokers that can tell which topics any node
// of the cluster subscribes to (a node subscribes a channel's topic while
// it has local subscribers), so that "occupied" answers cluster-wide.
type Occupancy interface {
	// OccupiedTopics lists the topics starting with prefix that at least
	// one node subscribes to.
	OccupiedTopics(ctx context.Context, prefix string) ([]string, error)
}

// OccupiedChannels lists the channels starting with prefix that have at
// least one subscriber: cluster-wide when the broker implements Occupancy,
// this node's otherwise (the memory broker: one node is the cluster).
// Sorted.
func (h *Hub) OccupiedChannels(ctx context.Context, prefix string) ([]string, error) {
	var channels []string
	if o, ok := h.backend.Broker.(Occupancy); ok {
		topics, err := o.OccupiedTopics(ctx, channelTopic+prefix)
		if err != nil {
			return nil, err
		}
		for _, t := range topics {
			if ch, ok := strings.CutPrefix(t, channelTopic); ok {
				channels = append(channels, ch)
			}
		}
	} else {
		channels = h.channels.keysWithPrefix(prefix)
	}
	sort.Strings(channels)
	return channels, nil
}

// Occupied reports whether channel has at least one subscriber (see
// OccupiedChannels).
func (h *Hub) Occupied(ctx context.Context, channel string) (bool, error) {
	if h.channels.count(channel) > 0 {
		return true, nil
	}
	if _, ok := h.backend.Broker.(Occupancy); !ok {
		return false, nil
	}
	all, err := h.OccupiedChannels(ctx, channel)
	if err != nil {
		return false, err
	}
	for _, ch := range all {
		if ch == channel {
			return true, nil
		}
	}
	return false, nil
}

// LocalSubscriptions counts this node's connections subscribed to channel.
func (h *Hub) LocalSubscriptions(channel string) int { return h.channels.count(channel) }
