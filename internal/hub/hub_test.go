package hub_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/frankenphp-realtime/realtime/internal/hub"
)

var bg = context.Background()

// fakeTransport records frames; block makes writes hang until Close, like a
// client that stopped reading; gate, when set, holds each write until it
// is closed.
type fakeTransport struct {
	mu      sync.Mutex
	frames  [][]byte
	pings   int
	closed  chan struct{}
	code    uint16
	block   bool
	gate    chan struct{}
	arrived chan struct{}
	once    sync.Once
}

func newFake() *fakeTransport {
	return &fakeTransport{closed: make(chan struct{}), arrived: make(chan struct{}, 1)}
}

func (f *fakeTransport) signal() {
	select {
	case f.arrived <- struct{}{}:
	default:
	}
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
	f.signal()
	return nil
}

func (f *fakeTransport) WritePing() error {
	f.mu.Lock()
	f.pings++
	f.mu.Unlock()
	f.signal()
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

func (f *fakeTransport) closeCode() uint16 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.code
}

func (f *fakeTransport) isClosed() bool {
	select {
	case <-f.closed:
		return true
	default:
		return false
	}
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
			t.Fatalf("timed out waiting for frame #%d (have %d)", n, f.count())
		}
	}
}

func (f *fakeTransport) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.frames)
}

// waitClosed waits (bounded) for the transport to be closed and returns
// the close code.
func (f *fakeTransport) waitClosed(t *testing.T) uint16 {
	t.Helper()
	select {
	case <-f.closed:
	case <-time.After(5 * time.Second):
		t.Fatal("connection not closed")
	}
	return f.closeCode()
}

// testCodec encodes every hub event as a JSON object naming the codec, and
// counts its encodings.
type testCodec struct {
	name       string
	disconnect uint16
	shutdown   uint16
	messages   atomic.Int64
	// skip is an event name this codec has no frame for.
	skip string
}

func newCodec(name string) *testCodec {
	return &testCodec{name: name, disconnect: hub.CloseDisconnected, shutdown: hub.CloseGoingAway}
}

func (c *testCodec) frame(kv ...string) []byte {
	m := map[string]string{"codec": c.name}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	b, _ := json.Marshal(m)
	return b
}

func (c *testCodec) Message(channel, event string, data []byte) []byte {
	c.messages.Add(1)
	if c.skip != "" && event == c.skip {
		return nil
	}
	return c.frame("kind", "message", "channel", channel, "name", event, "data", string(data))
}

func (c *testCodec) Direct(userID, event string, data []byte) []byte {
	return c.frame("kind", "direct", "user", userID, "name", event, "data", string(data))
}

func (c *testCodec) Presence(channel string, joined bool, userID string, info []byte) []byte {
	kind := "leave"
	if joined {
		kind = "join"
	}
	return c.frame("kind", kind, "channel", channel, "user", userID, "info", string(info))
}

func (c *testCodec) ClientEvent(channel, event string, data []byte, userID string) []byte {
	return c.frame("kind", "client", "channel", channel, "name", event, "data", string(data), "user", userID)
}

func (c *testCodec) DisconnectClose() (uint16, string) { return c.disconnect, "disconnected" }

func (c *testCodec) SlowConsumerClose() (uint16, string) {
	return hub.CloseSlowConsumer, "slow consumer"
}

func (c *testCodec) ShutdownClose() (uint16, string, time.Duration) {
	return c.shutdown, "shutdown", 0
}

// testCaller is a connection's endpoint binding.
type testCaller string

func (c testCaller) Key() string { return string(c) }

func newTestHub(t *testing.T, b hub.Backend, s hub.Settings) *hub.Hub {
	t.Helper()
	h, err := hub.New(b, s)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(bg, 5*time.Second)
		defer cancel()
		if err := h.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	return h
}

var plain = newCodec("plain")

// connect attaches a connection of user (anonymous when "") writing
// through a fake transport; the transport's close ends its "read loop".
func connect(t *testing.T, h *hub.Hub, codec hub.Codec, user string) (*hub.Client, *fakeTransport) {
	t.Helper()
	slot, err := h.Admit()
	if err != nil {
		t.Fatal(err)
	}
	f := newFake()
	c, err := h.Attach(slot, f, codec, testCaller("site of "+user), user)
	if err != nil {
		t.Fatal(err)
	}
	go func() { <-f.closed; h.Disconnected(c) }()
	return c, f
}

func subscribe(t *testing.T, h *hub.Hub, c *hub.Client, channel, member string) {
	t.Helper()
	if _, err := h.Subscribe(bg, c, channel, member, nil); err != nil {
		t.Fatalf("subscribe %s: %v", channel, err)
	}
}

func trigger(t *testing.T, h *hub.Hub, channel, event, data string) {
	t.Helper()
	if err := h.Trigger(bg, hub.Publication{Channels: []string{channel}, Event: event, Data: []byte(data)}); err != nil {
		t.Fatalf("trigger %s: %v", channel, err)
	}
}

// eventually waits, bounded, for cond.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond) // polling, bounded by the deadline
	}
}

func TestTriggerReachesOnlySubscribers(t *testing.T) {
	h := newTestHub(t, hub.Backend{}, hub.Settings{})
	a, fa := connect(t, h, plain, "1")
	b, fb := connect(t, h, plain, "2")
	subscribe(t, h, a, "news", "")
	subscribe(t, h, b, "sport", "")
	trigger(t, h, "news", "", "hello")
	trigger(t, h, "sport", "", "goal")
	if ev := fa.next(t, 0); ev["kind"] != "message" || ev["channel"] != "news" || ev["data"] != "hello" || ev["name"] != "" {
		t.Fatalf("a got %v", ev)
	}
	// b's first message is sport's: news never reached it.
	if ev := fb.next(t, 0); ev["channel"] != "sport" || ev["data"] != "goal" {
		t.Fatalf("b got %v", ev)
	}
	// One publication to several channels.
	if err := h.Trigger(bg, hub.Publication{Channels: []string{"news", "sport"}, Data: []byte("both")}); err != nil {
		t.Fatal(err)
	}
	if fa.next(t, 1)["data"] != "both" || fb.next(t, 1)["data"] != "both" {
		t.Fatal("a publication to two channels did not reach both")
	}
	if c := h.Counters(); c.Published != 4 {
		t.Errorf("counters = %+v, want 4 published", c)
	}
	// Counted once the frames are queued, which may follow their writing.
	eventually(t, "4 deliveries counted", func() bool { return h.Counters().Delivered == 4 })
}

func TestSubscribeAndUnsubscribeAreIdempotent(t *testing.T) {
	h := newTestHub(t, hub.Backend{}, hub.Settings{})
	a, fa := connect(t, h, plain, "1")
	subscribe(t, h, a, "news", "")
	if already, err := h.Subscribe(bg, a, "news", "", nil); err != nil || !already {
		t.Fatalf("second subscribe = %v, %v; want already", already, err)
	}
	subscribe(t, h, a, "other", "")
	if !h.Unsubscribe(a, "news") {
		t.Fatal("unsubscribe of a held channel reported false")
	}
	if h.Unsubscribe(a, "news") {
		t.Fatal("second unsubscribe reported true")
	}
	if _, ok := a.Subscribed("news"); ok || a.Subscriptions() != 1 {
		t.Fatalf("client still holds news, or holds %d channels", a.Subscriptions())
	}
	trigger(t, h, "news", "", "x")
	trigger(t, h, "other", "", "sentinel")
	if ev := fa.next(t, 0); ev["data"] != "sentinel" {
		t.Fatalf("after unsubscribe got %v", ev)
	}
	if s := h.Stats(); s.Connections != 1 || s.Channels != 1 || s.Subscriptions != 1 {
		t.Fatalf("stats = %+v", s)
	}
}

// A named event reaches each protocol through its codec, encoded once per
// codec however many connections use it; a codec with no frame for an
// event skips its connections.
func TestDeliveryEncodesOncePerCodec(t *testing.T) {
	h := newTestHub(t, hub.Backend{}, hub.Settings{})
	one, two := newCodec("one"), newCodec("two")
	two.skip = "OnlyForOne"
	var fakes []*fakeTransport
	for i := range 5 {
		codec := one
		if i >= 3 {
			codec = two
		}
		c, f := connect(t, h, codec, "")
		subscribe(t, h, c, "orders", "")
		fakes = append(fakes, f)
	}
	trigger(t, h, "orders", "OrderShipped", `{"id":1}`)
	for i, f := range fakes {
		ev := f.next(t, 0)
		wantCodec := "one"
		if i >= 3 {
			wantCodec = "two"
		}
		if ev["codec"] != wantCodec || ev["name"] != "OrderShipped" || ev["data"] != `{"id":1}` {
			t.Fatalf("connection %d got %v", i, ev)
		}
	}
	if one.messages.Load() != 1 || two.messages.Load() != 1 {
		t.Errorf("encodings: one=%d two=%d, want 1 each", one.messages.Load(), two.messages.Load())
	}
	trigger(t, h, "orders", "OnlyForOne", "x")
	trigger(t, h, "orders", "", "after")
	for i, f := range fakes {
		want := []string{"x", "after"}
		if i >= 3 {
			want = []string{"after"}
		}
		for j, data := range want {
			if ev := f.next(t, 1+j); ev["data"] != data {
				t.Fatalf("connection %d frame %d = %v, want data %q", i, 1+j, ev, data)
			}
		}
	}
}

// Laravel's ->toOthers(): the publication leaves out one socket.
func TestExceptLeavesOutOneSocket(t *testing.T) {
	h := newTestHub(t, hub.Backend{}, hub.Settings{})
	a, fa := connect(t, h, plain, "1")
	b, fb := connect(t, h, plain, "1") // the same user's other tab still gets it
	c, fc := connect(t, h, plain, "2")
	for _, cl := range []*hub.Client{a, b, c} {
		subscribe(t, h, cl, "chat", "")
	}
	if !hub.ValidSocketID(a.ID()) || a.ID() == b.ID() {
		t.Fatalf("socket ids %q and %q", a.ID(), b.ID())
	}
	if err := h.Trigger(bg, hub.Publication{Channels: []string{"chat"}, Event: "said", Data: []byte("hi"), Except: a.ID()}); err != nil {
		t.Fatal(err)
	}
	trigger(t, h, "chat", "said", "everyone")
	if ev := fa.next(t, 0); ev["data"] != "everyone" {
		t.Fatalf("the excepted socket got %v", ev)
	}
	for _, f := range []*fakeTransport{fb, fc} {
		if ev := f.next(t, 0); ev["data"] != "hi" {
			t.Fatalf("another socket got %v", ev)
		}
	}
}

func TestDirectAndDisconnectUser(t *testing.T) {
	h := newTestHub(t, hub.Backend{}, hub.Settings{})
	pusherLike := newCodec("pusher")
	pusherLike.disconnect = 4009
	_, f1 := connect(t, h, plain, "7")
	_, f2 := connect(t, h, pusherLike, "7")
	_, other := connect(t, h, plain, "8")
	if err := h.SendToUser(bg, "7", "", []byte("psst")); err != nil {
		t.Fatal(err)
	}
	if err := h.SendToUser(bg, "7", "Notice", []byte("named")); err != nil {
		t.Fatal(err)
	}
	for _, f := range []*fakeTransport{f1, f2} {
		if ev := f.next(t, 0); ev["kind"] != "direct" || ev["data"] != "psst" || ev["user"] != "7" || ev["name"] != "" {
			t.Fatalf("direct = %v", ev)
		}
		if ev := f.next(t, 1); ev["kind"] != "direct" || ev["data"] != "named" || ev["name"] != "Notice" {
			t.Fatalf("named direct = %v", ev)
		}
	}
	if err := h.DisconnectUser(bg, "7"); err != nil {
		t.Fatal(err)
	}
	if code := f1.waitClosed(t); code != hub.CloseDisconnected {
		t.Errorf("native-like close code = %d", code)
	}
	if code := f2.waitClosed(t); code != 4009 {
		t.Errorf("pusher-like close code = %d, want its codec's 4009", code)
	}
	eventually(t, "the disconnected connections leaving the stats", func() bool { return h.Stats().Connections == 1 })
	if other.count() != 0 || other.isClosed() {
		t.Fatalf("user 8 received %d frames (closed: %v)", other.count(), other.isClosed())
	}
}

func TestDisconnectAfterDirectKeepsPublishOrder(t *testing.T) {
	h := newTestHub(t, hub.Backend{}, hub.Settings{})
	_, f := connect(t, h, plain, "7")
	f.gate = make(chan struct{}) // the client's writes are slow
	if err := h.SendToUser(bg, "7", "", []byte("last words")); err != nil {
		t.Fatal(err)
	}
	if err := h.DisconnectUser(bg, "7"); err != nil {
		t.Fatal(err)
	}
	close(f.gate)
	if ev := f.next(t, 0); ev["kind"] != "direct" || ev["data"] != "last words" {
		t.Fatalf("got %v, want the direct frame before the close", ev)
	}
	if code := f.waitClosed(t); code != hub.CloseDisconnected {
		t.Fatalf("close code = %d", code)
	}
}

func TestInputErrors(t *testing.T) {
	h := newTestHub(t, hub.Backend{}, hub.Settings{MaxMessageSize: 4})
	many := make([]string, hub.MaxTriggerChannels+1)
	for i := range many {
		many[i] = fmt.Sprint("c", i)
	}
	pub := func(p hub.Publication) error { return h.Trigger(bg, p) }
	for name, err := range map[string]error{
		"bad channel":       pub(hub.Publication{Channels: []string{"no spaces"}}),
		"no channel":        pub(hub.Publication{}),
		"too many":          pub(hub.Publication{Channels: many}),
		"long channel":      pub(hub.Publication{Channels: []string{strings.Repeat("c", 201)}}),
		"long event":        pub(hub.Publication{Channels: []string{"ok"}, Event: strings.Repeat("e", hub.MaxEventName+1)}),
		"bad except":        pub(hub.Publication{Channels: []string{"ok"}, Except: "abc"}),
		"too large":         pub(hub.Publication{Channels: []string{"ok"}, Data: []byte("12345")}),
		"empty user":        h.SendToUser(bg, " ", "", nil),
		"large direct":      h.SendToUser(bg, "1", "", []byte("12345")),
		"long direct event": h.SendToUser(bg, "1", strings.Repeat("e", hub.MaxEventName+1), nil),
		"users":             func() error { _, err := h.ChannelUsers(bg, ""); return err }(),
		"disconnect":        h.DisconnectUser(bg, ""),
		"client event out":  h.ClientEvent(bg, mustConnect(t, h), "ok", "client-x", nil, ""),
	} {
		if !hub.IsInputError(err) {
			t.Errorf("%s: err = %v, want an input error", name, err)
		}
	}
	ok := []hub.Publication{
		{Channels: []string{"ok"}, Data: []byte("1234")},
		{Channels: many[:hub.MaxTriggerChannels]},
		{Channels: []string{strings.Repeat("c", 200)}, Event: strings.Repeat("e", hub.MaxEventName), Except: "1.2"},
	}
	for _, p := range ok {
		if err := pub(p); err != nil {
			t.Errorf("publication at the limits: %v", err)
		}
	}
	if err := h.SendToUser(bg, "1", "", []byte("1234")); err != nil {
		t.Errorf("direct message at the limit: %v", err)
	}
}

func mustConnect(t *testing.T, h *hub.Hub) *hub.Client {
	c, _ := connect(t, h, plain, "")
	return c
}

func TestSlowConsumerIsDroppedOthersServed(t *testing.T) {
	h := newTestHub(t, hub.Backend{}, hub.Settings{MaxPendingBytes: 4096})
	slow, fs := connect(t, h, plain, "slow")
	fast, ff := connect(t, h, plain, "fast")
	fs.block = true
	subscribe(t, h, slow, "c", "")
	subscribe(t, h, fast, "c", "")
	msg := strings.Repeat("x", 1000)
	// The fast client reads each message before the next is sent; the slow
	// one reads nothing, so only its backlog grows past the limit.
	for i := range 20 {
		trigger(t, h, "c", "", msg)
		ff.next(t, i)
	}
	if code := fs.waitClosed(t); code != hub.CloseSlowConsumer {
		t.Fatalf("close code = %d", code)
	}
	if n := h.Counters().SlowConsumers; n != 1 {
		t.Errorf("slow consumer counter = %d", n)
	}
	eventually(t, "the slow consumer leaving the channel", func() bool { return h.Stats().Subscriptions == 1 })
}

// Configure swaps the settings; each applies from the next operation that
// reads it, and connections and subscriptions stay (SPEC §2).
func TestSettingsSwapAppliesToTheNextOperation(t *testing.T) {
	t.Run("max_subscriptions", func(t *testing.T) {
		h := newTestHub(t, hub.Backend{}, hub.Settings{MaxSubscriptions: 1})
		c, _ := connect(t, h, plain, "")
		subscribe(t, h, c, "a", "")
		if _, err := h.Subscribe(bg, c, "b", "", nil); !errors.Is(err, hub.ErrTooManySubscriptions) {
			t.Fatalf("over the limit: %v", err)
		}
		prev := h.Configure(hub.Settings{MaxSubscriptions: 3})
		if prev.MaxSubscriptions != 1 || h.Settings().MaxSubscriptions != 3 {
			t.Fatalf("Configure returned %d, now %d", prev.MaxSubscriptions, h.Settings().MaxSubscriptions)
		}
		subscribe(t, h, c, "b", "")
		h.Configure(hub.Settings{MaxSubscriptions: 1})
		if c.Subscriptions() != 2 {
			t.Fatalf("lowering the limit dropped subscriptions: %d left", c.Subscriptions())
		}
		if _, err := h.Subscribe(bg, c, "c", "", nil); !errors.Is(err, hub.ErrTooManySubscriptions) {
			t.Fatalf("after lowering the limit: %v", err)
		}
		if already, err := h.Subscribe(bg, c, "a", "", nil); err != nil || !already {
			t.Fatalf("re-subscribing a held channel over the limit = %v, %v; want already", already, err)
		}
	})
	t.Run("max_pending_bytes", func(t *testing.T) {
		h := newTestHub(t, hub.Backend{}, hub.Settings{MaxPendingBytes: 10000})
		c, f := connect(t, h, plain, "")
		f.gate = make(chan struct{}) // nothing is written: the backlog only grows
		defer close(f.gate)
		frame := []byte(strings.Repeat("x", 1000))
		for range 3 {
			c.Send(frame)
		}
		if n := h.Counters().SlowConsumers; n != 0 {
			t.Fatalf("3000 bytes pending under a 10000-byte limit: %d slow consumers", n)
		}
		h.Configure(hub.Settings{MaxPendingBytes: 2500})
		c.Send(frame)
		if n := h.Counters().SlowConsumers; n != 1 {
			t.Fatalf("4000 bytes pending after the limit became 2500: %d slow consumers", n)
		}
		if code := f.waitClosed(t); code != hub.CloseSlowConsumer {
			t.Fatalf("close code = %d", code)
		}
	})
	t.Run("max_message_size", func(t *testing.T) {
		h := newTestHub(t, hub.Backend{}, hub.Settings{MaxMessageSize: 10})
		p := hub.Publication{Channels: []string{"c"}, Data: []byte("0123456789x")}
		if err := h.Trigger(bg, p); !hub.IsInputError(err) {
			t.Fatalf("11 bytes over 10: %v", err)
		}
		h.Configure(hub.Settings{MaxMessageSize: 11})
		if err := h.Trigger(bg, p); err != nil {
			t.Fatalf("11 bytes after raising the limit: %v", err)
		}
	})
	t.Run("defaults", func(t *testing.T) {
		h := newTestHub(t, hub.Backend{}, hub.Settings{MaxSubscriptions: 5})
		h.Configure(hub.Settings{})
		s := h.Settings()
		if s.MaxSubscriptions != hub.DefaultMaxSubscriptions || s.MaxPendingBytes != hub.DefaultMaxPendingBytes ||
			s.MaxMessageSize != hub.DefaultMaxMessageSize || s.MaxFrameSize != hub.DefaultMaxFrameSize ||
			s.PingInterval != hub.DefaultPingInterval || s.PresenceGrace != hub.DefaultPresenceGrace ||
			s.MaxConnections != 0 || s.HookChannels("presence-x") || s.CacheChannels("cache-x") {
			t.Errorf("zero settings = %+v, want the defaults", s)
		}
	})
}

func TestAdmission(t *testing.T) {
	t.Run("max_connections", func(t *testing.T) {
		h := newTestHub(t, hub.Backend{}, hub.Settings{MaxConnections: 2})
		s1, err := h.Admit()
		if err != nil {
			t.Fatal(err)
		}
		_, f := connect(t, h, plain, "") // the second slot, attached
		if !h.Full() {
			t.Error("Full() with 2 of 2")
		}
		if _, err := h.Admit(); !errors.Is(err, hub.ErrFull) {
			t.Fatalf("third Admit = %v, want ErrFull", err)
		}
		s1.Release()
		s1.Release() // twice: counted once
		if h.Full() {
			t.Error("Full() after a release")
		}
		s3, err := h.Admit()
		if err != nil {
			t.Fatalf("Admit after a release: %v", err)
		}
		if _, err := h.Admit(); !errors.Is(err, hub.ErrFull) {
			t.Fatalf("a double Release freed two slots: %v", err)
		}
		// A connection that goes frees its slot.
		f.Close(hub.CloseNormal, "")
		eventually(t, "the closed connection's slot", func() bool { return !h.Full() })
		c, err := h.Attach(s3, newFake(), plain, nil, "")
		if err != nil {
			t.Fatal(err)
		}
		s3.Release() // after Attach: nothing
		s4, err := h.Admit()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := h.Admit(); !errors.Is(err, hub.ErrFull) {
			t.Fatalf("Release after Attach gave the slot back: %v", err)
		}
		s4.Release()
		c.Close(hub.CloseNormal, "")
		eventually(t, "the connection gone", func() bool { return h.Stats().Connections == 0 })
		// A raised limit applies to the next Admit.
		h.Configure(hub.Settings{MaxConnections: 3})
		var slots []*hub.Slot
		for range 3 {
			slot, err := h.Admit()
			if err != nil {
				t.Fatalf("Admit under the raised limit: %v", err)
			}
			slots = append(slots, slot)
		}
		if _, err := h.Admit(); !errors.Is(err, hub.ErrFull) {
			t.Fatalf("a fourth Admit under a limit of 3: %v", err)
		}
		for _, slot := range slots {
			slot.Release()
		}
	})
	t.Run("concurrent", func(t *testing.T) {
		h := newTestHub(t, hub.Backend{}, hub.Settings{MaxConnections: 10})
		var admitted, full atomic.Int32
		var wg sync.WaitGroup
		start := make(chan struct{})
		for range 50 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				slot, err := h.Admit()
				switch {
				case errors.Is(err, hub.ErrFull):
					full.Add(1)
				case err != nil:
					t.Error(err)
				default:
					admitted.Add(1)
					if _, err := h.Attach(slot, newFake(), plain, nil, ""); err != nil {
						t.Error(err)
					}
				}
			}()
		}
		close(start)
		wg.Wait()
		if admitted.Load() != 10 || full.Load() != 40 {
			t.Fatalf("admitted %d, refused %d; want 10 and 40", admitted.Load(), full.Load())
		}
		if n := h.Stats().Connections; n != 10 {
			t.Fatalf("connections = %d", n)
		}
	})
	t.Run("after shutdown", func(t *testing.T) {
		h, err := hub.New(hub.Backend{}, hub.Settings{})
		if err != nil {
			t.Fatal(err)
		}
		pending, err := h.Admit() // a handshake in progress
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() {
			ctx, cancel := context.WithTimeout(bg, 5*time.Second)
			defer cancel()
			done <- h.Shutdown(ctx)
		}()
		eventually(t, "Admit refusing during shutdown", func() bool {
			slot, err := h.Admit()
			if err == nil {
				slot.Release()
			}
			return errors.Is(err, hub.ErrClosed)
		})
		if _, err := h.Attach(pending, newFake(), plain, nil, ""); !errors.Is(err, hub.ErrClosed) {
			t.Fatalf("Attach during shutdown = %v, want ErrClosed", err)
		}
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("shutdown: %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("shutdown still waits for a slot that was refused")
		}
	})
}

func TestShutdownClosesEveryone(t *testing.T) {
	h, err := hub.New(hub.Backend{}, hub.Settings{})
	if err != nil {
		t.Fatal(err)
	}
	pusherLike := newCodec("pusher")
	pusherLike.shutdown = 4200
	var native, pusher []*fakeTransport
	for i := range 50 {
		codec, list := hub.Codec(plain), &native
		if i%2 == 1 {
			codec, list = pusherLike, &pusher
		}
		c, f := connect(t, h, codec, fmt.Sprint(i%5))
		subscribe(t, h, c, "room", fmt.Sprint(i%5))
		*list = append(*list, f)
	}
	ctx, cancel := context.WithTimeout(bg, 5*time.Second)
	defer cancel()
	if err := h.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	for _, f := range native {
		if code := f.closeCode(); code != hub.CloseGoingAway {
			t.Fatalf("native-like close code = %d", code)
		}
	}
	for _, f := range pusher {
		if code := f.closeCode(); code != 4200 {
			t.Fatalf("pusher-like close code = %d", code)
		}
	}
	if s := h.Stats(); s.Connections != 0 || s.Subscriptions != 0 {
		t.Fatalf("stats after shutdown = %+v", s)
	}
	if err := h.Trigger(bg, hub.Publication{Channels: []string{"c"}}); !errors.Is(err, hub.ErrClosed) {
		t.Fatalf("trigger after shutdown: %v", err)
	}
	if err := h.SendToUser(bg, "1", "", nil); !errors.Is(err, hub.ErrClosed) {
		t.Fatalf("direct after shutdown: %v", err)
	}
	if err := h.Shutdown(ctx); err != nil {
		t.Fatalf("second shutdown: %v", err)
	}
}

func TestConcurrentSubscribeAndTrigger(t *testing.T) {
	h := newTestHub(t, hub.Backend{}, hub.Settings{})
	var wg sync.WaitGroup
	for i := range 8 {
		c, _ := connect(t, h, plain, fmt.Sprint(i))
		wg.Add(2)
		go func() {
			defer wg.Done()
			for j := range 200 {
				ch := fmt.Sprintf("c%d", j%4)
				member := ""
				if j%3 == 0 {
					member = fmt.Sprint(i)
				}
				if _, err := h.Subscribe(bg, c, ch, member, nil); err != nil {
					t.Error(err)
					return
				}
				h.Unsubscribe(c, ch)
			}
		}()
		go func() {
			defer wg.Done()
			for j := range 200 {
				_ = h.Trigger(bg, hub.Publication{Channels: []string{fmt.Sprintf("c%d", j%4)}, Data: []byte("m")})
			}
		}()
	}
	wg.Wait()
	if s := h.Stats(); s.Subscriptions != 0 || s.Channels != 0 {
		t.Fatalf("stats = %+v", s)
	}
}

func TestPingsEveryInterval(t *testing.T) {
	h := newTestHub(t, hub.Backend{}, hub.Settings{PingInterval: 10 * time.Millisecond})
	_, f := connect(t, h, plain, "")
	eventually(t, "two pings", func() bool {
		f.mu.Lock()
		defer f.mu.Unlock()
		return f.pings >= 2
	})
}

func TestClientEventsSkipTheSender(t *testing.T) {
	h := newTestHub(t, hub.Backend{}, hub.Settings{})
	a, fa := connect(t, h, plain, "1")
	b, fb := connect(t, h, plain, "2")
	subscribe(t, h, a, "private-chat", "")
	subscribe(t, h, b, "private-chat", "")
	if err := h.ClientEvent(bg, a, "private-chat", "client-typing", []byte("..."), "1"); err != nil {
		t.Fatal(err)
	}
	if ev := fb.next(t, 0); ev["kind"] != "client" || ev["name"] != "client-typing" || ev["data"] != "..." || ev["user"] != "1" {
		t.Fatalf("b got %v", ev)
	}
	trigger(t, h, "private-chat", "", "marker")
	if ev := fa.next(t, 0); ev["data"] != "marker" {
		t.Fatalf("the sender got its own client event: %v", ev)
	}
}

func TestCacheChannelsRememberTheLastEvent(t *testing.T) {
	h := newTestHub(t, hub.Backend{}, hub.Settings{CacheChannels: func(ch string) bool { return strings.HasPrefix(ch, "cache-") }})
	trigger(t, h, "cache-prices", "tick", "1")
	trigger(t, h, "cache-prices", "tick", "2")
	trigger(t, h, "prices", "tick", "3")
	event, data, ok, err := h.LastEvent(bg, "cache-prices")
	if err != nil || !ok || event != "tick" || string(data) != "2" {
		t.Errorf("LastEvent(cache-prices) = %q %q %v %v", event, data, ok, err)
	}
	if _, _, ok, err := h.LastEvent(bg, "prices"); ok || err != nil {
		t.Errorf("a channel that is not a cache channel remembered its event (%v)", err)
	}
}

// Whatever arrives from the broker, the hub never panics or delivers
// garbage.
func TestBrokerGarbageIsIgnored(t *testing.T) {
	b := &handlerBroker{MemoryBroker: hub.NewMemoryBroker()}
	h := newTestHub(t, hub.Backend{Broker: b}, hub.Settings{})
	c, f := connect(t, h, plain, "1")
	subscribe(t, h, c, "x", "")
	for _, topic := range []string{"c:x", "u:1", "x", ""} {
		for _, data := range []string{"", "m", "m\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff", "p", "p\x01", "e\x05ab", "d", "q"} {
			b.handler.HandleBrokerMessage(topic, []byte(data))
		}
	}
	trigger(t, h, "x", "", "marker")
	// Garbage may have produced at most a direct frame with empty data.
	for i := 0; ; i++ {
		ev := f.next(t, i)
		if ev["data"] == "marker" {
			break
		}
		if ev["kind"] != "direct" {
			t.Fatalf("garbage produced %v", ev)
		}
	}
	if f.isClosed() {
		t.Fatal("garbage closed the connection")
	}
}

// handlerBroker is a memory broker that exposes the handler the hub gave
// it, as another node's broker would deliver to it.
type handlerBroker struct {
	*hub.MemoryBroker
	handler hub.BrokerHandler
}

func (b *handlerBroker) Run(h hub.BrokerHandler) error {
	b.handler = h
	return b.MemoryBroker.Run(h)
}
