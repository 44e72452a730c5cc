package native

import "golang.org/x/time/rate"

// Inbound frame rate per connection. Generous for a browser (subscribes at
// page load, a ping every 25 s) yet bounds what one client can make the hub
// do; frames over the rate get a rate_limited error and are otherwise ignored.
const (
	FrameRate  = 50  // frames per second, sustained
	FrameBurst = 200 // frames accepted at once
)

func newInboundLimiter() *rate.Limiter { return rate.NewLimiter(FrameRate, FrameBurst) }
