package hub

import (
	"hash/maphash"
	"strings"
	"sync"
)

const indexShards = 64

// index maps keys (channel names, user ids) to the local clients holding
// them. It is sharded so that subscribes on different channels and deliveries
// never contend on one lock: there is no hub goroutine every operation waits on.
type index struct {
	seed   maphash.Seed
	shards [indexShards]indexShard
}

type indexShard struct {
	mu   sync.RWMutex
	keys map[string]holders
}

// holders is the set of clients under one key. Most keys have a single
// holder (a user with one tab, a private channel), so it is kept inline and
// a map is made only for a second one: a key with a one-entry map costs
// about 220 bytes, inline about 45, on every connected user.
type holders struct {
	one  *Client              // the holder while there is at most one
	many map[*Client]struct{} // every holder once a second came
}

func (h *holders) add(c *Client) {
	switch {
	case h.many != nil:
		h.many[c] = struct{}{}
	case h.one == nil:
		h.one = c
	case h.one != c:
		h.many = map[*Client]struct{}{h.one: {}, c: {}}
		h.one = nil
	}
}

// remove reports whether c was a holder.
func (h *holders) remove(c *Client) bool {
	if h.many != nil {
		_, had := h.many[c]
		delete(h.many, c)
		return had
	}
	if h.one == c {
		h.one = nil
		return true
	}
	return false
}

func (h *holders) len() int {
	if h.many != nil {
		return len(h.many)
	}
	if h.one != nil {
		return 1
	}
	return 0
}

func (h *holders) each(fn func(*Client)) {
	if h.one != nil {
		fn(h.one)
	}
	for c := range h.many {
		fn(c)
	}
}

func newIndex() *index {
	ix := &index{seed: maphash.MakeSeed()}
	for i := range ix.shards {
		ix.shards[i].keys = make(map[string]holders)
	}
	return ix
}

func (ix *index) shard(key string) *indexShard {
	return &ix.shards[maphash.String(ix.seed, key)%indexShards]
}

// add records c under key and reports whether key had no client before.
func (ix *index) add(key string, c *Client) (first bool) {
	s := ix.shard(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	set, ok := s.keys[key]
	set.add(c)
	s.keys[key] = set
	return !ok
}

// remove forgets c under key and reports whether key has no client left.
func (ix *index) remove(key string, c *Client) (last bool) {
	s := ix.shard(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	set, ok := s.keys[key]
	if !ok || !set.remove(c) {
		return false
	}
	if set.len() == 0 {
		delete(s.keys, key)
		return true
	}
	s.keys[key] = set
	return false
}

// each calls fn for every client under key while holding the shard's read
// lock: fn must not block and must not touch the index.
func (ix *index) each(key string, fn func(*Client)) {
	s := ix.shard(key)
	s.mu.RLock()
	defer s.mu.RUnlock()
	set := s.keys[key]
	set.each(fn)
}

// counts returns the number of keys and of (key, client) pairs.
func (ix *index) counts() (keys, pairs int) {
	for i := range ix.shards {
		s := &ix.shards[i]
		s.mu.RLock()
		keys += len(s.keys)
		for _, set := range s.keys {
			pairs += set.len()
		}
		s.mu.RUnlock()
	}
	return keys, pairs
}

// keysWithPrefix lists the keys that start with prefix.
func (ix *index) keysWithPrefix(prefix string) []string {
	var out []string
	for i := range ix.shards {
		s := &ix.shards[i]
		s.mu.RLock()
		for k := range s.keys {
			if strings.HasPrefix(k, prefix) {
				out = append(out, k)
			}
		}
		s.mu.RUnlock()
	}
	return out
}

// count returns how many clients key has.
func (ix *index) count(key string) int {
	s := ix.shard(key)
	s.mu.RLock()
	defer s.mu.RUnlock()
	set := s.keys[key]
	return set.len()
}
