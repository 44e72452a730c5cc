package auth

import (
	"context"
	"fmt"
	"hash/maphash"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/frankenphp-realtime/realtime/internal/hub"
)

// Hook delivery defaults.
const (
	hookWorkers     = 4
	hookQueueSize   = 4096
	hookAttempts    = 5
	hookBackoffBase = 200 * time.Millisecond
	hookBackoffMax  = 5 * time.Second
)

// Hook posts presence transitions to the presence endpoint: form fields
// event, channel, user_id and timestamp (unix seconds). A 2xx acknowledges a
// call; anything else is retried with exponential backoff a bounded number
// of times, then logged and counted as failed.
//
// Notify never blocks the hub: calls are queued, and a full queue drops the
// call (counted). Calls about one membership go through one worker, in
// order, so a join is never delivered after the leave that followed it.
type Hook struct {
	// endpoint returns the presence endpoint of the current configuration
	// (nil: none) and its timeout: a reload may change both while calls
	// are queued.
	endpoint func() (*Endpoint, time.Duration)
	logger   *slog.Logger
	seed     maphash.Seed
	queues   [hookWorkers]chan hookCall
	done     sync.WaitGroup
	stop     chan struct{}
	stopOnce sync.Once

	// Backoff is the first retry delay; it doubles up to hookBackoffMax.
	Backoff time.Duration

	delivered, failed, dropped atomic.Int64
	// pending counts calls queued or being delivered, for Drain.
	pending atomic.Int64
}

type hookCall struct {
	event     string
	m         hub.Membership
	callerKey string
	at        time.Time
}

var _ hub.PresenceHook = (*Hook)(nil)

// NewHook starts the delivery workers; Close stops them.
func NewHook(endpoint func() (*Endpoint, time.Duration), logger *slog.Logger) *Hook {
	h := &Hook{endpoint: endpoint, logger: logger, seed: maphash.MakeSeed(),
		stop: make(chan struct{}), Backoff: hookBackoffBase}
	for i := range h.queues {
		h.queues[i] = make(chan hookCall, hookQueueSize/hookWorkers)
		h.done.Add(1)
		go h.work(h.queues[i])
	}
	return h
}

// Notify queues a call to the presence endpoint, made through the site
// callerKey names (hub.Caller.Key).
func (h *Hook) Notify(event string, m hub.Membership, callerKey string, at time.Time) {
	if ep, _ := h.endpoint(); ep == nil {
		return
	}
	q := h.queues[maphash.String(h.seed, m.Channel+"\x00"+m.UserID)%hookWorkers]
	h.pending.Add(1)
	select {
	case q <- hookCall{event: event, m: m, callerKey: callerKey, at: at}:
	default:
		h.pending.Add(-1)
		h.dropped.Add(1)
		h.logger.Error("realtime: presence hook queue full, dropping call",
			slog.String("event", event), slog.String("channel", m.Channel), slog.String("user_id", m.UserID))
	}
}

// Counts returns how many calls were acknowledged, failed after every
// retry, and dropped because the queue was full.
func (h *Hook) Counts() (delivered, failed, dropped int64) {
	return h.delivered.Load(), h.failed.Load(), h.dropped.Load()
}

// Drain waits until every queued call is delivered or has failed, or ctx
// ends; it reports whether the queue drained. Used at shutdown, while the
// endpoint (maybe this very process's PHP) can still answer.
func (h *Hook) Drain(ctx context.Context) bool {
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for h.pending.Load() > 0 {
		select {
		case <-ctx.Done():
			return false
		case <-tick.C:
		}
	}
	return true
}

// Close stops the workers; calls still queued are abandoned.
func (h *Hook) Close() {
	h.stopOnce.Do(func() { close(h.stop) })
	h.done.Wait()
}

func (h *Hook) work(q chan hookCall) {
	defer h.done.Done()
	for {
		select {
		case <-h.stop:
			return
		case call := <-q:
			h.deliver(call)
			h.pending.Add(-1)
		}
	}
}

func (h *Hook) deliver(call hookCall) {
	delay := h.Backoff
	var err error
	for attempt := 1; attempt <= hookAttempts; attempt++ {
		if err = h.post(call); err == nil {
			h.delivered.Add(1)
			return
		}
		if attempt == hookAttempts {
			break
		}
		// Full jitter keeps many nodes from retrying in lockstep.
		select {
		case <-h.stop:
			return
		case <-time.After(time.Duration(rand.Int64N(int64(delay)) + 1)):
		}
		delay = min(2*delay, hookBackoffMax)
	}
	h.failed.Add(1)
	h.logger.Error("realtime: presence hook failed after retries", slog.String("event", call.event),
		slog.String("channel", call.m.Channel), slog.String("user_id", call.m.UserID),
		slog.Int("attempts", hookAttempts), slog.Any("error", err))
}

func (h *Hook) post(call hookCall) error {
	ep, timeout := h.endpoint()
	if ep == nil {
		return nil // the configuration no longer has a presence endpoint
	}
	ctx, cancel := timeoutContext(context.Background(), timeout)
	defer cancel()
	body := url.Values{
		"event":     {call.event},
		"channel":   {call.m.Channel},
		"user_id":   {call.m.UserID},
		"timestamp": {strconv.FormatInt(call.at.Unix(), 10)},
	}.Encode()
	header := http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}
	resp, err := ep.do(ctx, http.MethodPost, CallerFromKey(call.callerKey), header, []byte(body))
	if err != nil {
		return err
	}
	if resp.status < 200 || resp.status > 299 {
		return fmt.Errorf("presence endpoint answered %d", resp.status)
	}
	return nil
}
