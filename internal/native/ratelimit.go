package native

import "time"

// Inbound frame rate per connection. Generous for a browser (subscribes at
// page load, a ping every 25 s) yet bounds what one client can make the hub
// do; frames over the rate get a rate_limited error and are otherwise ignored.
const (
	FrameRate  = 50  // frames per second, sustained
	FrameBurst = 200 // frames accepted at once
)

// tokenBucket is used only from the connection's read goroutine.
type tokenBucket struct {
	tokens float64
	last   time.Time
}

func (b *tokenBucket) allow(now time.Time) bool {
	if b.last.IsZero() {
		b.tokens = FrameBurst
	} else {
		b.tokens = min(FrameBurst, b.tokens+now.Sub(b.last).Seconds()*FrameRate)
	}
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}
