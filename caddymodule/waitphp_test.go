package caddymodule

import (
	"context"
	"errors"
	"testing"
	"time"
)

// A handshake waits for PHP at most its bound while the server starts,
// passes once PHP is up, and is refused once the configuration is unloaded,
// whether or not PHP had started.
func TestWaitPHPFor(t *testing.T) {
	a := &App{phpReady: make(chan struct{}), cancelled: make(chan struct{})}
	start := time.Now()
	if err := a.waitPHPFor(context.Background(), 50*time.Millisecond); err == nil {
		t.Fatal("before PHP started: want an error")
	}
	if d := time.Since(start); d < 40*time.Millisecond || d > 2*time.Second {
		t.Fatalf("before PHP started: waited %v, want about 50ms", d)
	}
	a.started()
	if err := a.waitPHPFor(context.Background(), time.Hour); err != nil {
		t.Fatalf("after start: %v", err)
	}
	if n := testing.AllocsPerRun(100, func() { _ = a.waitPHPFor(context.Background(), time.Second) }); n != 0 {
		t.Errorf("after start: %v allocations per handshake, want 0 (no timer)", n)
	}
	close(a.cancelled)
	for range 100 { // the old select picked at random between ready and unloaded
		if err := a.waitPHPFor(context.Background(), time.Second); !errors.Is(err, errUnloaded) {
			t.Fatalf("after unload: %v, want errUnloaded", err)
		}
	}
	b := &App{phpReady: make(chan struct{}), cancelled: make(chan struct{})}
	close(b.cancelled)
	if err := b.waitPHPFor(context.Background(), time.Hour); !errors.Is(err, errUnloaded) {
		t.Fatalf("unloaded while starting: %v, want errUnloaded", err)
	}
}
