package hub

import (
	"context"
	"sort"
	"sync"
)

// MemoryPresence is the single-node Presence: a membership is held by the
// one node or not at all, so nothing ever expires.
type MemoryPresence struct {
	mu       sync.Mutex
	channels map[string]map[string]struct{}
}

var _ Presence = (*MemoryPresence)(nil)

// NewMemoryPresence returns an empty single-node presence store.
func NewMemoryPresence() *MemoryPresence {
	return &MemoryPresence{channels: make(map[string]map[string]struct{})}
}

func (p *MemoryPresence) Add(_ context.Context, m Membership) (bool, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	users, ok := p.channels[m.Channel]
	if !ok {
		users = make(map[string]struct{})
		p.channels[m.Channel] = users
	}
	_, had := users[m.UserID]
	users[m.UserID] = struct{}{}
	return !had, nil
}

func (p *MemoryPresence) Remove(_ context.Context, m Membership) (bool, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	users := p.channels[m.Channel]
	if _, had := users[m.UserID]; !had {
		return false, nil
	}
	delete(users, m.UserID)
	if len(users) == 0 {
		delete(p.channels, m.Channel)
	}
	return true, nil
}

func (p *MemoryPresence) Users(_ context.Context, channel string) ([]string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	users := make([]string, 0, len(p.channels[channel]))
	for u := range p.channels[channel] {
		users = append(users, u)
	}
	sort.Strings(users)
	return users, nil
}

func (p *MemoryPresence) Expire(context.Context) ([]Membership, error) { return nil, nil }

func (p *MemoryPresence) Close() error { return nil }
