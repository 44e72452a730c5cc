package valkeyhub

import (
	"math/rand/v2"
	"time"
)

// Reconnect delays: exponential with full jitter (AWS architecture blog,
// "Exponential Backoff And Jitter"), so that the nodes of a cluster do not
// reconnect in lockstep after Valkey restarts.
const (
	backoffMin = 50 * time.Millisecond
	backoffMax = 5 * time.Second
)

type backoff struct {
	min, max time.Duration
	attempt  int
}

// next returns a delay drawn uniformly from (0, min·2^attempt], capped.
func (b *backoff) next() time.Duration {
	ceiling := b.max
	if b.attempt < 30 {
		if d := b.min << b.attempt; d < b.max {
			ceiling = d
		}
	}
	b.attempt++
	return time.Duration(rand.Int64N(int64(ceiling))) + 1
}

func (b *backoff) reset() { b.attempt = 0 }
