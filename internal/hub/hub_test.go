package hub

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeTransport records frames; block makes writes hang until Close, like a
// client that stopped reading.
type fakeTransport struct {
	mu      sync.Mutex
	frames  [][]byte
	pings   int
	closed  chan struct{}
	code    uint16
	block   bool
	gate    chan struct{} // when set, each write waits for it to close
	arrived chan struct{}
	once    sync.Once
}

func newFake() *fakeTransport {
	return &fakeTransport{closed: make(chan struct{}), arrived: make(chan struct{}, 1024)}
}

func (f *fakeTransport) WriteText(data []byte) error {
	if f.gate != nil {
		<-f.gate
	}
	if f.block {
		<-f.closed
		return errors.New("closed")
	}
	f.mu.Lock()
	f.frames = append(f.frames, append([]byte(nil), data...))
	f.mu.Unlock()
	select {
	case f.arrived <- struct{}{}:
	default:
	}
	return nil
}

func (f *fakeTransport) WritePing() error {
	f.mu.Lock()
	f.pings++
	f.mu.Unlock()
	return nil
}

func (f *fakeTransport) Close(code uint16, _ string) {
	f.once.Do(func() {
		f.mu.Lock()
		f.code = code
		f.mu.Unlock()
		close(f.closed)
	})
}

// next waits (bounded) for the n-th frame, 0-based, and decodes it.
func (f *fakeTransport) next(t *testing.T, n int) map[string]any {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		f.mu.Lock()
		if len(f.frames) > n {
			frame := f.frames[n]
			f.mu.Unlock()
			var v map[string]any
			if err := json.Unmarshal(frame, &v); err != nil {
				t.Fatalf("frame %q: %v", frame, err)
			}
			return v
		}
		f.mu.Unlock()
		select {
		case <-f.arrived:
		case <-deadline:
			t.Fatalf("timed out waiting for frame #%d", n)
		}
	}
}

func (f *fakeTransport) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.frames)
}

type allowAll struct{}

func (allowAll) Authorize(context.Context, string, Identity) error { return nil }

func newTestHub(t *testing.T, cfg Config) *Hub {
	t.Helper()
	h, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := h.Shutdown(ctx, CloseGoingAway, "test over"); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	return h
}

func connect(t *testing.T, h *Hub, user string) (*Client, *fakeTransport) {
	t.Helper()
	f := newFake()
	c, err := h.Connect(f, Identity{UserID: user})
	if err != nil {
		t.Fatal(err)
	}
	if ev := f.next(t, 0); ev["event"] != "connected" || ev["user_id"] != user || ev["connection_id"] == "" {
		t.Fatalf("first frame = %v", ev)
	}
	go func() { <-f.closed; h.Disconnected(c) }()
	return c, f
}

func TestBroadcastReachesOnlySubscribers(t *testing.T) {
	h := newTestHub(t, Config{})
	a, fa := connect(t, h, "1")
	b, fb := connect(t, h, "2")
	a.HandleText([]byte(`{"action":"subscribe","channel":"news","id":1}`))
	b.HandleText([]byte(`{"action":"subscribe","channel":"sport"}`))
	if ev := fa.next(t, 1); ev["event"] != "subscribed" || ev["channel"] != "news" || ev["id"] != float64(1) {
		t.Fatalf("subscribe reply = %v", ev)
	}
	fb.next(t, 1)

	ctx := context.Background()
	if err := h.Broadcast(ctx, "news", []byte("hello")); err != nil {
		t.Fatal(err)
	}
	if err := h.Broadcast(ctx, "sport", []byte("goal")); err != nil {
		t.Fatal(err)
	}
	if ev := fa.next(t, 2); ev["event"] != "message" || ev["channel"] != "news" || ev["data"] != "hello" {
		t.Fatalf("a got %v", ev)
	}
	// b's first message is sport's: news never reached it.
	if ev := fb.next(t, 2); ev["channel"] != "sport" || ev["data"] != "goal" {
		t.Fatalf("b got %v", ev)
	}
}

func TestUnsubscribeStopsDelivery(t *testing.T) {
	h := newTestHub(t, Config{})
	a, fa := connect(t, h, "1")
	a.HandleText([]byte(`{"action":"subscribe","channel":"news"}`))
	a.HandleText([]byte(`{"action":"subscribe","channel":"news"}`)) // idempotent
	a.HandleText([]byte(`{"action":"subscribe","channel":"other"}`))
	a.HandleText([]byte(`{"action":"unsubscribe","channel":"news"}`))
	a.HandleText([]byte(`{"action":"unsubscribe","channel":"news"}`)) // idempotent
	for i, want := range []string{"subscribed", "subscribed", "subscribed", "unsubscribed", "unsubscribed"} {
		if ev := fa.next(t, i+1); ev["event"] != want {
			t.Fatalf("frame %d = %v, want %s", i+1, ev, want)
		}
	}
	_ = h.Broadcast(context.Background(), "news", []byte("x"))
	_ = h.Broadcast(context.Background(), "other", []byte("sentinel"))
	if ev := fa.next(t, 6); ev["data"] != "sentinel" {
		t.Fatalf("after unsubscribe got %v", ev)
	}
	if s := h.Stats(); s.Connections != 1 || s.Channels != 1 || s.Subscriptions != 1 {
		t.Fatalf("stats = %+v", s)
	}
}

func TestErrorFramesKeepConnection(t *testing.T) {
	h := newTestHub(t, Config{MaxSubscriptions: 1})
	a, fa := connect(t, h, "1")
	cases := []struct{ in, code string }{
		{`nope`, "invalid_json"},
		{`{"action":"dance","id":"x"}`, "unknown_action"},
		{`{"action":"subscribe","channel":"bad channel"}`, "invalid_channel"},
		{`{"action":"subscribe","channel":"private-x"}`, "forbidden"},
		{`{"action":"subscribe","channel":"one"}`, ""},
		{`{"action":"subscribe","channel":"two"}`, "too_many_subscriptions"},
	}
	for i, c := range cases {
		a.HandleText([]byte(c.in))
		ev := fa.next(t, i+1)
		if c.code == "" {
			continue
		}
		if ev["event"] != "error" || ev["code"] != c.code {
			t.Fatalf("%s -> %v, want %s", c.in, ev, c.code)
		}
	}
	a.HandleText([]byte(`{"action":"ping","id":9}`))
	if ev := fa.next(t, len(cases)+1); ev["event"] != "pong" || ev["id"] != float64(9) {
		t.Fatalf("ping -> %v", ev)
	}
}

func TestPresenceChannelListsUsers(t *testing.T) {
	h := newTestHub(t, Config{Authorizer: allowAll{}})
	a, fa := connect(t, h, "7")
	b, fb := connect(t, h, "42")
	a2, _ := connect(t, h, "7")
	for _, c := range []*Client{a, a2} {
		c.HandleText([]byte(`{"action":"subscribe","channel":"presence-room"}`))
	}
	fa.next(t, 1)
	b.HandleText([]byte(`{"action":"subscribe","channel":"presence-room"}`))
	ev := fb.next(t, 1)
	users, _ := json.Marshal(ev["users"])
	if string(users) != `["42","7"]` {
		t.Fatalf("users = %s", users)
	}
	got, err := h.ChannelUsers(context.Background(), "presence-room")
	if err != nil || strings.Join(got, ",") != "42,7" {
		t.Fatalf("ChannelUsers = %v, %v", got, err)
	}
}

func TestDirectAndDisconnectUser(t *testing.T) {
	h := newTestHub(t, Config{})
	_, f1 := connect(t, h, "7")
	_, f2 := connect(t, h, "7")
	_, other := connect(t, h, "8")
	ctx := context.Background()
	if err := h.BroadcastToUser(ctx, "7", []byte("psst")); err != nil {
		t.Fatal(err)
	}
	for _, f := range []*fakeTransport{f1, f2} {
		if ev := f.next(t, 1); ev["event"] != "direct" || ev["data"] != "psst" {
			t.Fatalf("direct = %v", ev)
		}
	}
	if err := h.DisconnectUser(ctx, "7"); err != nil {
		t.Fatal(err)
	}
	for _, f := range []*fakeTransport{f1, f2} {
		select {
		case <-f.closed:
		case <-time.After(5 * time.Second):
			t.Fatal("user 7 not disconnected")
		}
		if f.code != CloseDisconnected {
			t.Fatalf("close code = %d", f.code)
		}
	}
	if other.count() != 1 {
		t.Fatalf("user 8 received %d frames", other.count())
	}
}

func TestInputErrors(t *testing.T) {
	h := newTestHub(t, Config{MaxMessageSize: 4})
	ctx := context.Background()
	for name, err := range map[string]error{
		"bad channel": h.Broadcast(ctx, "no spaces", nil),
		"too large":   h.Broadcast(ctx, "ok", []byte("12345")),
		"empty user":  h.BroadcastToUser(ctx, " ", nil),
		"users":       func() error { _, err := h.ChannelUsers(ctx, ""); return err }(),
		"disconnect":  h.DisconnectUser(ctx, ""),
	} {
		if !IsInputError(err) {
			t.Errorf("%s: err = %v, want an input error", name, err)
		}
	}
	if err := h.Broadcast(ctx, "ok", []byte("1234")); err != nil {
		t.Fatalf("message at the limit: %v", err)
	}
}

func TestSlowConsumerIsDroppedOthersServed(t *testing.T) {
	h := newTestHub(t, Config{MaxPendingBytes: 4096})
	slow, fs := connect(t, h, "slow")
	fast, ff := connect(t, h, "fast")
	fs.block = true
	slow.HandleText([]byte(`{"action":"subscribe","channel":"c"}`))
	fast.HandleText([]byte(`{"action":"subscribe","channel":"c"}`))
	ff.next(t, 1)
	msg := []byte(strings.Repeat("x", 1000))
	// The fast client reads each message before the next is sent; the slow
	// one reads nothing, so only its backlog grows past the limit.
	for i := 0; i < 20; i++ {
		if err := h.Broadcast(context.Background(), "c", msg); err != nil {
			t.Fatal(err)
		}
		ff.next(t, i+2)
	}
	select {
	case <-fs.closed:
	case <-time.After(5 * time.Second):
		t.Fatal("slow consumer not closed")
	}
	if fs.code != CloseSlowConsumer {
		t.Fatalf("close code = %d", fs.code)
	}
}

func TestShutdownClosesEveryone(t *testing.T) {
	h, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	var fakes []*fakeTransport
	for i := 0; i < 50; i++ {
		_, f := connect(t, h, fmt.Sprint(i%5))
		fakes = append(fakes, f)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := h.Shutdown(ctx, CloseGoingAway, "bye"); err != nil {
		t.Fatal(err)
	}
	for _, f := range fakes {
		if f.code != CloseGoingAway {
			t.Fatalf("close code = %d", f.code)
		}
	}
	if s := h.Stats(); s.Connections != 0 {
		t.Fatalf("stats after shutdown = %+v", s)
	}
	if err := h.Broadcast(context.Background(), "c", nil); !errors.Is(err, ErrClosed) {
		t.Fatalf("broadcast after shutdown: %v", err)
	}
}

func TestConcurrentSubscribeAndBroadcast(t *testing.T) {
	h := newTestHub(t, Config{})
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		c, _ := connect(t, h, fmt.Sprint(i))
		wg.Add(2)
		go func() {
			defer wg.Done()
			for j := 0; j < 200; j++ {
				ch := fmt.Sprintf("c%d", j%4)
				c.inbound = tokenBucket{} // stress the index, not the rate limit
				c.HandleText([]byte(`{"action":"subscribe","channel":"` + ch + `"}`))
				c.HandleText([]byte(`{"action":"unsubscribe","channel":"` + ch + `"}`))
			}
		}()
		go func() {
			defer wg.Done()
			for j := 0; j < 200; j++ {
				_ = h.Broadcast(context.Background(), fmt.Sprintf("c%d", j%4), []byte("m"))
			}
		}()
	}
	wg.Wait()
	if s := h.Stats(); s.Subscriptions != 0 || s.Channels != 0 {
		t.Fatalf("stats = %+v", s)
	}
}

func TestTokenBucket(t *testing.T) {
	var b tokenBucket
	start := time.Unix(1000, 0)
	for i := 0; i < FrameBurst; i++ {
		if !b.allow(start) {
			t.Fatalf("frame %d of the burst refused", i)
		}
	}
	if b.allow(start) {
		t.Fatal("frame over the burst allowed")
	}
	if !b.allow(start.Add(time.Second / FrameRate)) {
		t.Fatal("bucket did not refill at FrameRate")
	}
	if b.allow(start.Add(time.Second / FrameRate)) {
		t.Fatal("refill allowed more than one frame")
	}
}

func TestRateLimitedFrameGetsAnError(t *testing.T) {
	h := newTestHub(t, Config{})
	c, f := connect(t, h, "1")
	c.inbound = tokenBucket{last: time.Now()} // drained: refills one frame per 20 ms
	c.HandleText([]byte(`{"action":"ping"}`))
	if ev := f.next(t, 1); ev["event"] != "error" || ev["code"] != "rate_limited" {
		t.Fatalf("frame over the rate got %v", ev)
	}
}

type downBroker struct{ MemoryBroker }

func (b *downBroker) Publish(context.Context, string, []byte) error {
	return errors.New("valkey: unreachable")
}

func TestBrokerDownDeliversLocallyAndFails(t *testing.T) {
	b := &downBroker{}
	h := newTestHub(t, Config{Broker: b})
	c, f := connect(t, h, "1")
	c.HandleText([]byte(`{"action":"subscribe","channel":"news"}`))
	f.next(t, 1)
	err := h.Broadcast(context.Background(), "news", []byte("local"))
	if err == nil || !strings.Contains(err.Error(), "unreachable") || !strings.Contains(err.Error(), "this node") {
		t.Fatalf("err = %v", err)
	}
	if ev := f.next(t, 2); ev["data"] != "local" {
		t.Fatalf("local subscriber got %v", ev)
	}
}

func TestDisconnectAfterDirectKeepsPublishOrder(t *testing.T) {
	h := newTestHub(t, Config{})
	_, f := connect(t, h, "7")
	f.gate = make(chan struct{}) // the client's writes are slow
	ctx := context.Background()
	if err := h.BroadcastToUser(ctx, "7", []byte("last words")); err != nil {
		t.Fatal(err)
	}
	if err := h.DisconnectUser(ctx, "7"); err != nil {
		t.Fatal(err)
	}
	close(f.gate)
	if ev := f.next(t, 1); ev["event"] != "direct" || ev["data"] != "last words" {
		t.Fatalf("got %v, want the direct frame before the close", ev)
	}
	select {
	case <-f.closed:
	case <-time.After(5 * time.Second):
		t.Fatal("not disconnected")
	}
	if f.code != CloseDisconnected {
		t.Fatalf("close code = %d", f.code)
	}
}
