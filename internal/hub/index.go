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
	keys map[string]map[*Client]struct{}
}

func newIndex() *index {
	ix := &index{seed: maphash.MakeSeed()}
	for i := range ix.shards {
		ix.shards[i].keys = make(map[string]map[*Client]struct{})
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
	if !ok {
		set = make(map[*Client]struct{})
		s.keys[key] = set
	}
	set[c] = struct{}{}
	return !ok
}

// remove forgets c under key and reports whether key has no client left.
func (ix *index) remove(key string, c *Client) (last bool) {
	s := ix.shard(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	set, ok := s.keys[key]
	if !ok {
		return false
	}
	if _, had := set[c]; !had {
		return false
	}
	delete(set, c)
	if len(set) == 0 {
		delete(s.keys, key)
		return true
	}
	return false
}

// each calls fn for every client under key while holding the shard's read
// lock: fn must not block and must not touch the index.
func (ix *index) each(key string, fn func(*Client)) {
	s := ix.shard(key)
	s.mu.RLock()
	defer s.mu.RUnlock()
	for c := range s.keys[key] {
		fn(c)
	}
}

// counts returns the number of keys and of (key, client) pairs.
func (ix *index) counts() (keys, pairs int) {
	for i := range ix.shards {
		s := &ix.shards[i]
		s.mu.RLock()
		keys += len(s.keys)
		for _, set := range s.keys {
			pairs += len(set)
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
	return len(s.keys[key])
}
