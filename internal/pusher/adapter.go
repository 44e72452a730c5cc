package pusher

import (
	"log/slog"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/frankenphp-realtime/realtime/internal/hub"
)

// App is the one Pusher app a process serves (SPEC §8: pusher_app).
type App struct {
	ID string
	Credentials
}

// Config is what Pusher connections and the HTTP API read at each frame
// or request, so that a reload applies at once (SPEC §2).
type Config struct {
	App App
	// ActivityTimeout is announced in connection_established; the server
	// sends pusher:ping after this much silence.
	ActivityTimeout time.Duration
	// ClientEvents allows client-* events from subscribed members
	// (pusher_client_events members); false refuses them all (off).
	ClientEvents bool
	// MaxFrameSize: a larger client frame gets pusher:error 4300 and is
	// dropped; one over 4× closes the connection (the reader's limit).
	MaxFrameSize int
	// TimestampWindow bounds HTTP API auth_timestamp (0: ±600 s).
	TimestampWindow time.Duration
}

// PongTimeout is how long a pinged connection may stay silent before it is
// closed with 4201 (pusher-js waits as long for a pong itself).
const PongTimeout = 30 * time.Second

// activityTick is how often idle connections are looked for.
const activityTick = time.Second

// Adapter serves the Pusher protocol over a hub: it opens sessions for
// upgraded connections and pings the idle ones.
type Adapter struct {
	hub    *hub.Hub
	config func() Config
	log    *slog.Logger

	mu       sync.Mutex
	sessions map[*Session]struct{}
	stop     chan struct{}
	done     chan struct{}
}

// NewAdapter starts the activity loop; Close stops it.
func NewAdapter(h *hub.Hub, config func() Config, log *slog.Logger) *Adapter {
	a := &Adapter{hub: h, config: config, log: log, sessions: make(map[*Session]struct{}),
		stop: make(chan struct{}), done: make(chan struct{})}
	go a.activityLoop()
	return a
}

// Close stops the activity loop.
func (a *Adapter) Close() {
	close(a.stop)
	<-a.done
}

// Open sends pusher:connection_established and returns the session that
// reads the connection's frames.
func (a *Adapter) Open(c *hub.Client) hub.Session {
	s := &Session{adapter: a, client: c, events: rate.NewLimiter(clientEventRate, clientEventBurst)}
	a.mu.Lock()
	a.sessions[s] = struct{}{}
	a.mu.Unlock()
	c.Send(ConnectionEstablished(c.ID(), a.config().ActivityTimeout))
	return s
}

// activityLoop sends pusher:ping to connections silent for the activity
// timeout and closes with 4201 those still silent PongTimeout later.
// Every inbound frame counts as activity, WebSocket pings and pongs
// included (reverb #224).
func (a *Adapter) activityLoop() {
	defer close(a.done)
	t := time.NewTicker(activityTick)
	defer t.Stop()
	for {
		select {
		case <-a.stop:
			return
		case <-t.C:
		}
		timeout := a.config().ActivityTimeout
		for _, s := range a.snapshot() {
			s.checkActivity(timeout)
		}
	}
}

// snapshot lists the live sessions, forgetting closed ones.
func (a *Adapter) snapshot() []*Session {
	a.mu.Lock()
	defer a.mu.Unlock()
	all := make([]*Session, 0, len(a.sessions))
	for s := range a.sessions {
		if s.client.Closed() {
			delete(a.sessions, s)
			continue
		}
		all = append(all, s)
	}
	return all
}
