package auth

import (
	"context"
	"errors"
	"time"

	"golang.org/x/sync/semaphore"
)

// ErrBusy means every in-process endpoint slot stayed taken for the gate's
// wait: the handshake gets a fast 503 with Retry-After rather than queue
// behind a reconnect storm.
var ErrBusy = errors.New("endpoint busy")

// Gate bounds how many in-process endpoint calls run at once, so that a
// reconnect storm of handshakes (each one an auth call on a PHP thread)
// never takes every PHP thread from the site's pages. A call waits at most
// MaxWait for a slot.
type Gate struct {
	sem     *semaphore.Weighted
	MaxWait time.Duration
}

// NewGate lets n calls run at once.
func NewGate(n int, maxWait time.Duration) *Gate {
	return &Gate{sem: semaphore.NewWeighted(int64(max(n, 1))), MaxWait: maxWait}
}

// Enter waits for a slot, at most MaxWait and at most until ctx ends; leave
// gives it back.
func (g *Gate) Enter(ctx context.Context) (leave func(), err error) {
	if g == nil {
		return func() {}, nil
	}
	// A free slot needs no timer on every handshake; a caller already gone
	// gets none (as Acquire refuses a done context), so no script runs for it.
	if ctx.Err() == nil && g.sem.TryAcquire(1) {
		return func() { g.sem.Release(1) }, nil
	}
	wait, cancel := context.WithTimeout(ctx, g.MaxWait)
	defer cancel()
	if err := g.sem.Acquire(wait, 1); err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, ErrBusy
	}
	return func() { g.sem.Release(1) }, nil
}
