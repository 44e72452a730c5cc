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
	channels map[string]map[string][]byte // channel -> user -> data
}

var _ Presence = (*MemoryPresence)(nil)

// NewMemoryPresence returns an empty single-node presence store.
func NewMemoryPresence() *MemoryPresence {
	return &MemoryPresence{channels: make(map[string]map[string][]byte)}
}

func (p *MemoryPresence) Add(_ context.Context, m Membership, data []byte) (bool, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	users, ok := p.channels[m.Channel]
	if !ok {
		users = make(map[string][]byte)
		p.channels[m.Channel] = users
	}
	_, had := users[m.UserID]
	users[m.UserID] = data
	return !had, nil
}

func (p *MemoryPresence) Remove(_ context.Context, m Membership) (bool, []byte, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	users := p.channels[m.Channel]
	data, had := users[m.UserID]
	if !had {
		return false, nil, nil
	}
	delete(users, m.UserID)
	if len(users) == 0 {
		delete(p.channels, m.Channel)
	}
	return true, data, nil
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

func (p *MemoryPresence) Members(_ context.Context, channel string) ([]Member, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	members := make([]Member, 0, len(p.channels[channel]))
	for u, data := range p.channels[channel] {
		members = append(members, Member{UserID: u, Data: data})
	}
	sort.Slice(members, func(i, j int) bool { return members[i].UserID < members[j].UserID })
	return members, nil
}

func (p *MemoryPresence) Expire(context.Context) ([]Departure, error) { return nil, nil }

func (p *MemoryPresence) Close() error { return nil }
