package native

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/frankenphp-realtime/realtime/internal/hub"
)

var bg = context.Background()

// fakeTransport records the frames a session's client is sent.
type fakeTransport struct {
	mu      sync.Mutex
	frames  [][]byte
	closed  chan struct{}
	code    uint16
	arrived chan struct{}
	once    sync.Once
}

func newFake() *fakeTransport {
	return &fakeTransport{closed: make(chan struct{}), arrived: make(chan struct{}, 1)}
}

func (f *fakeTransport) WriteText(data []byte) error {
	f.mu.Lock()
	f.frames = append(f.frames, append([]byte(nil), data...))
	f.mu.Unlock()
	select {
	case f.arrived <- struct{}{}:
	default:
	}
	return nil
}

func (f *fakeTransport) WritePing() error { return nil }

func (f *fakeTransport) Close(code uint16, _ string) {
	f.once.Do(func() {
		f.mu.Lock()
		f.code = code
		f.mu.Unlock()
		close(f.closed)
	})
}

// raw waits (bounded) for the n-th frame, 0-based.
func (f *fakeTransport) raw(t *testing.T, n int) string {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		f.mu.Lock()
		if len(f.frames) > n {
			frame := f.frames[n]
			f.mu.Unlock()
			return string(frame)
		}
		f.mu.Unlock()
		select {
		case <-f.arrived:
		case <-deadline:
			t.Fatalf("timed out waiting for frame #%d", n)
		}
	}
}

func (f *fakeTransport) next(t *testing.T, n int) map[string]any {
	t.Helper()
	frame := f.raw(t, n)
	var v map[string]any
	if err := json.Unmarshal([]byte(frame), &v); err != nil {
		t.Fatalf("frame %q: %v", frame, err)
	}
	return v
}

func (f *fakeTransport) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.frames)
}

func (f *fakeTransport) waitClosed(t *testing.T) uint16 {
	t.Helper()
	select {
	case <-f.closed:
	case <-time.After(5 * time.Second):
		t.Fatal("connection not closed")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.code
}

type caller string

func (c caller) Key() string { return string(c) }

// authorizer answers from a table of channels; it records what it is asked.
type authorizer struct {
	mu      sync.Mutex
	answers map[string]error // missing: allow
	asked   []string
	callers []hub.Caller
	hadDL   []bool
}

func (a *authorizer) Authorize(ctx context.Context, channel, userID string, c hub.Caller) error {
	_, hasDeadline := ctx.Deadline()
	a.mu.Lock()
	defer a.mu.Unlock()
	a.asked = append(a.asked, channel+" "+userID)
	a.callers = append(a.callers, c)
	a.hadDL = append(a.hadDL, hasDeadline)
	return a.answers[channel]
}

func (a *authorizer) questions() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]string(nil), a.asked...)
}

type server struct {
	hub    *hub.Hub
	config atomic.Pointer[Config]
}

func newServer(t *testing.T, b hub.Backend, s hub.Settings, cfg Config) *server {
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
	srv := &server{hub: h}
	srv.configure(cfg)
	return srv
}

// configure swaps the adapter's configuration, as a reload does.
func (s *server) configure(cfg Config) {
	if cfg.MaxFrameSize == 0 {
		cfg.MaxFrameSize = hub.DefaultMaxFrameSize
	}
	if cfg.AuthTimeout == 0 {
		cfg.AuthTimeout = time.Second
	}
	s.config.Store(&cfg)
}

// connect opens a native session for user, as the Caddy handler does
// after the handshake, and checks the connected frame.
func (s *server) connect(t *testing.T, user string) (*Session, *fakeTransport) {
	t.Helper()
	slot, err := s.hub.Admit()
	if err != nil {
		t.Fatal(err)
	}
	f := newFake()
	c, err := s.hub.Attach(slot, f, Codec{}, caller("site of "+user), user)
	if err != nil {
		t.Fatal(err)
	}
	sess := Open(s.hub, c, user, func() Config { return *s.config.Load() }, slog.New(slog.DiscardHandler))
	go func() { <-f.closed; s.hub.Disconnected(c) }()
	if ev := f.next(t, 0); ev["event"] != "connected" || ev["user_id"] != user || ev["connection_id"] != c.ID() {
		t.Fatalf("first frame = %v", ev)
	}
	return sess, f
}

func (s *Session) send(frame string) { s.HandleText([]byte(frame)) }

func TestSubscribeUnsubscribePing(t *testing.T) {
	srv := newServer(t, hub.Backend{}, hub.Settings{}, Config{})
	a, fa := srv.connect(t, "1")
	a.send(`{"action":"subscribe","channel":"news","id":1}`)
	a.send(`{"action":"subscribe","channel":"news","id":"again"}`) // idempotent
	a.send(`{"action":"subscribe","channel":"other"}`)
	a.send(`{"action":"unsubscribe","channel":"news","id":null}`)
	a.send(`{"action":"unsubscribe","channel":"news"}`) // idempotent
	a.send(`{"action":"ping","id":9}`)
	want := []string{
		`{"event":"subscribed","channel":"news","id":1}`,
		`{"event":"subscribed","channel":"news","id":"again"}`,
		`{"event":"subscribed","channel":"other"}`,
		`{"event":"unsubscribed","channel":"news","id":null}`,
		`{"event":"unsubscribed","channel":"news"}`,
		`{"event":"pong","id":9}`,
	}
	for i, w := range want {
		if got := fa.raw(t, i+1); got != w {
			t.Fatalf("frame %d = %s, want %s", i+1, got, w)
		}
	}
	if s := srv.hub.Stats(); s.Subscriptions != 1 || s.Channels != 1 {
		t.Fatalf("stats = %+v", s)
	}
}

// Publications reach native subscribers as message frames; a named event
// (realtime_trigger(), the Pusher HTTP API) carries its name (SPEC §5).
func TestMessagesAndNamedEvents(t *testing.T) {
	srv := newServer(t, hub.Backend{}, hub.Settings{}, Config{})
	a, fa := srv.connect(t, "1")
	b, fb := srv.connect(t, "2")
	a.send(`{"action":"subscribe","channel":"orders"}`)
	b.send(`{"action":"subscribe","channel":"sport"}`)
	fa.next(t, 1)
	fb.next(t, 1)
	for _, p := range []hub.Publication{
		{Channels: []string{"orders"}, Data: []byte(`{"id":1}`)},
		{Channels: []string{"orders"}, Event: "OrderShipped", Data: []byte("shipped \"now\"")},
		{Channels: []string{"sport"}, Data: []byte("goal")},
	} {
		if err := srv.hub.Trigger(bg, p); err != nil {
			t.Fatal(err)
		}
	}
	if got, want := fa.raw(t, 2), `{"event":"message","channel":"orders","data":"{\"id\":1}"}`; got != want {
		t.Errorf("broadcast = %s, want %s", got, want)
	}
	if got, want := fa.raw(t, 3), `{"event":"message","channel":"orders","name":"OrderShipped","data":"shipped \"now\""}`; got != want {
		t.Errorf("named event = %s, want %s", got, want)
	}
	// b's first message is sport's: orders never reached it.
	if got, want := fb.raw(t, 2), `{"event":"message","channel":"sport","data":"goal"}`; got != want {
		t.Errorf("b got %s, want %s", got, want)
	}
	if err := srv.hub.SendToUser(bg, "2", "", []byte("psst")); err != nil {
		t.Fatal(err)
	}
	if got, want := fb.raw(t, 3), `{"event":"direct","data":"psst"}`; got != want {
		t.Errorf("direct = %s, want %s", got, want)
	}
}

func TestErrorFramesKeepTheConnection(t *testing.T) {
	srv := newServer(t, hub.Backend{}, hub.Settings{MaxSubscriptions: 1}, Config{})
	a, fa := srv.connect(t, "1")
	long := strings.Repeat("x", 250)
	cases := []struct{ in, want string }{
		{`nope`, `{"event":"error","code":"invalid_json","message":"frame is not a JSON object"}`},
		{`{"action":"dance","id":"x"}`, `"code":"unknown_action"`},
		{`{"action":"subscribe","channel":"bad channel","id":2}`, `"code":"invalid_channel"`},
		{`{"action":"subscribe","channel":"` + long + `"}`, `"channel":"` + long[:200] + `"`},
		{`{"action":"subscribe","channel":"private-x","id":3}`, `{"event":"error","code":"forbidden","message":"not authorized to subscribe to this channel","channel":"private-x","id":3}`},
		{`{"action":"subscribe","channel":"presence-x"}`, `"code":"forbidden"`},
		{`{"action":"subscribe","channel":"one"}`, `{"event":"subscribed","channel":"one"}`},
		{`{"action":"subscribe","channel":"two","id":4}`, `{"event":"error","code":"too_many_subscriptions","message":"this connection already holds the maximum number of subscriptions","channel":"two","id":4}`},
		{`{"action":"subscribe","channel":"one"}`, `{"event":"subscribed","channel":"one"}`}, // held already: not over the limit
	}
	for i, c := range cases {
		a.send(c.in)
		if got := fa.raw(t, i+1); !strings.Contains(got, c.want) {
			t.Fatalf("%s -> %s, want %s", c.in, got, c.want)
		}
	}
	a.send(`{"action":"ping","id":9}`)
	if got := fa.raw(t, len(cases)+1); got != `{"event":"pong","id":9}` {
		t.Fatalf("ping after errors -> %s", got)
	}
}

// max_subscriptions applies to the next subscribe after a reload.
func TestMaxSubscriptionsFollowsTheSettings(t *testing.T) {
	srv := newServer(t, hub.Backend{}, hub.Settings{MaxSubscriptions: 1}, Config{})
	a, fa := srv.connect(t, "1")
	a.send(`{"action":"subscribe","channel":"one"}`)
	a.send(`{"action":"subscribe","channel":"two"}`)
	if ev := fa.next(t, 2); ev["code"] != "too_many_subscriptions" {
		t.Fatalf("over the limit: %v", ev)
	}
	srv.hub.Configure(hub.Settings{MaxSubscriptions: 2})
	a.send(`{"action":"subscribe","channel":"two"}`)
	if ev := fa.next(t, 3); ev["event"] != "subscribed" {
		t.Fatalf("after raising the limit: %v", ev)
	}
}

func TestAuthorizer(t *testing.T) {
	auth := &authorizer{answers: map[string]error{
		"private-no":     fmt.Errorf("endpoint said no: %w", ErrForbidden),
		"private-broken": errors.New("authorize endpoint answered 502"),
	}}
	srv := newServer(t, hub.Backend{}, hub.Settings{}, Config{Authorizer: auth, AuthTimeout: time.Second})
	a, fa := srv.connect(t, "42")
	frames := []struct{ in, want string }{
		{`{"action":"subscribe","channel":"private-ok"}`, `{"event":"subscribed","channel":"private-ok"}`},
		{`{"action":"subscribe","channel":"private-ok"}`, `{"event":"subscribed","channel":"private-ok"}`}, // held: not asked again
		{`{"action":"subscribe","channel":"private-no","id":1}`, `{"event":"error","code":"forbidden","message":"not authorized to subscribe to this channel","channel":"private-no","id":1}`},
		{`{"action":"subscribe","channel":"private-broken"}`, `{"event":"error","code":"internal","message":"authorization is unavailable, try again later","channel":"private-broken"}`},
		{`{"action":"subscribe","channel":"public"}`, `{"event":"subscribed","channel":"public"}`}, // not asked
		{`{"action":"subscribe","channel":"presence-room"}`, `{"event":"subscribed","channel":"presence-room","users":["42"]}`},
	}
	for i, f := range frames {
		a.send(f.in)
		if got := fa.raw(t, i+1); got != f.want {
			t.Fatalf("%s -> %s, want %s", f.in, got, f.want)
		}
	}
	want := []string{"private-ok 42", "private-no 42", "private-broken 42", "presence-room 42"}
	if got := auth.questions(); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("authorizer asked %v, want %v", got, want)
	}
	auth.mu.Lock()
	for i, c := range auth.callers {
		if c == nil || c.Key() != "site of 42" || !auth.hadDL[i] {
			t.Errorf("question %d: caller %v, deadline %v; want the connection's caller and the auth timeout", i, c, auth.hadDL[i])
		}
	}
	auth.mu.Unlock()

	// A reload that removes the authorizer applies to the next subscribe.
	srv.configure(Config{})
	a.send(`{"action":"subscribe","channel":"private-other"}`)
	if ev := fa.next(t, len(frames)+1); ev["code"] != "forbidden" {
		t.Fatalf("without an authorizer: %v", ev)
	}
}

// A presence channel's subscribed frame lists its members, the subscriber
// included; other subscribers see join and leave frames, never about
// themselves.
func TestPresenceFrames(t *testing.T) {
	srv := newServer(t, hub.Backend{}, hub.Settings{PresenceGrace: time.Millisecond}, Config{Authorizer: &authorizer{}})
	a, fa := srv.connect(t, "7")
	b, fb := srv.connect(t, "42")
	a2, _ := srv.connect(t, "7")
	a.send(`{"action":"subscribe","channel":"presence-room"}`)
	if got := fa.raw(t, 1); got != `{"event":"subscribed","channel":"presence-room","users":["7"]}` {
		t.Fatalf("first subscriber got %s", got)
	}
	a2.send(`{"action":"subscribe","channel":"presence-room"}`)
	b.send(`{"action":"subscribe","channel":"presence-room"}`)
	if got := fb.raw(t, 1); got != `{"event":"subscribed","channel":"presence-room","users":["42","7"]}` {
		t.Fatalf("second user got %s", got)
	}
	if got := fa.raw(t, 2); got != `{"event":"join","channel":"presence-room","user_id":"42"}` {
		t.Fatalf("7 got %s", got)
	}
	b.send(`{"action":"unsubscribe","channel":"presence-room"}`)
	if got := fa.raw(t, 3); got != `{"event":"leave","channel":"presence-room","user_id":"42"}` {
		t.Fatalf("7 got %s", got)
	}
	users, err := srv.hub.ChannelUsers(bg, "presence-room")
	if err != nil || strings.Join(users, ",") != "7" {
		t.Fatalf("ChannelUsers = %v, %v", users, err)
	}
}

// A broker that cannot subscribe the channel is an internal error the
// client may retry.
func TestBrokerSubscribeFailureIsInternal(t *testing.T) {
	srv := newServer(t, hub.Backend{Broker: &refusingBroker{MemoryBroker: hub.NewMemoryBroker()}}, hub.Settings{}, Config{})
	a, fa := srv.connect(t, "")
	a.send(`{"action":"subscribe","channel":"news","id":5}`)
	if got := fa.raw(t, 1); got != `{"event":"error","code":"internal","message":"subscription failed, try again later","channel":"news","id":5}` {
		t.Fatalf("got %s", got)
	}
}

type refusingBroker struct{ *hub.MemoryBroker }

func (*refusingBroker) Subscribe(context.Context, string) error {
	return errors.New("valkey: ERR refused")
}

func TestRateLimitedFrameGetsAnError(t *testing.T) {
	srv := newServer(t, hub.Backend{}, hub.Settings{}, Config{})
	a, fa := srv.connect(t, "1")
	a.inbound.AllowN(time.Now(), FrameBurst) // drained: refills one frame per 20 ms
	a.send(`{"action":"ping"}`)
	if got := fa.raw(t, 1); got != `{"event":"error","code":"rate_limited","message":"too many frames; slow down"}` {
		t.Fatalf("frame over the rate got %s", got)
	}
}

func TestInboundLimiter(t *testing.T) {
	b := newInboundLimiter()
	start := time.Unix(1000, 0)
	for i := range FrameBurst {
		if !b.AllowN(start, 1) {
			t.Fatalf("frame %d of the burst refused", i)
		}
	}
	if b.AllowN(start, 1) {
		t.Fatal("frame over the burst allowed")
	}
	if !b.AllowN(start.Add(time.Second/FrameRate), 1) {
		t.Fatal("bucket did not refill at FrameRate")
	}
	if b.AllowN(start.Add(time.Second/FrameRate), 1) {
		t.Fatal("refill allowed more than one frame")
	}
	if !b.AllowN(start.Add(time.Hour), 1) {
		t.Fatal("a long pause did not refill")
	}
	for range FrameBurst - 1 {
		b.AllowN(start.Add(time.Hour), 1)
	}
	if b.AllowN(start.Add(time.Hour), 1) {
		t.Fatal("a long pause refilled over the burst")
	}
}

// max_frame_size is inclusive and read at each frame: a reload that
// lowers it applies to connections already open.
func TestFrameSizeLimit(t *testing.T) {
	srv := newServer(t, hub.Backend{}, hub.Settings{}, Config{MaxFrameSize: 64})
	a, fa := srv.connect(t, "1")
	ping := `{"action":"ping","id":"` + strings.Repeat("x", 64-len(`{"action":"ping","id":""}`)) + `"}`
	if len(ping) != 64 {
		t.Fatalf("test frame is %d bytes", len(ping))
	}
	a.send(ping)
	if ev := fa.next(t, 1); ev["event"] != "pong" {
		t.Fatalf("a frame of exactly max_frame_size: %v", ev)
	}
	srv.configure(Config{MaxFrameSize: 63})
	a.send(ping)
	if code := fa.waitClosed(t); code != hub.CloseTooLarge {
		t.Fatalf("close code = %d, want 1009", code)
	}
}

func TestBinaryFrameCloses(t *testing.T) {
	srv := newServer(t, hub.Backend{}, hub.Settings{}, Config{})
	a, fa := srv.connect(t, "1")
	a.HandleBinary([]byte{1, 2, 3})
	if code := fa.waitClosed(t); code != hub.CloseUnsupported {
		t.Fatalf("close code = %d, want 1003", code)
	}
	eventually(t, "the closed connection leaving the hub", func() bool { return srv.hub.Stats().Connections == 0 })
	before := fa.count()
	a.send(`{"action":"ping"}`) // a late frame of a closed connection is ignored
	if fa.count() != before {
		t.Fatal("a closed connection answered a frame")
	}
}

func TestDisconnectAndShutdownCloseCodes(t *testing.T) {
	srv := newServer(t, hub.Backend{}, hub.Settings{}, Config{})
	_, f7 := srv.connect(t, "7")
	_, f8 := srv.connect(t, "8")
	if err := srv.hub.DisconnectUser(bg, "7"); err != nil {
		t.Fatal(err)
	}
	if code := f7.waitClosed(t); code != hub.CloseDisconnected {
		t.Fatalf("disconnectUser close code = %d, want 4001", code)
	}
	ctx, cancel := context.WithTimeout(bg, 5*time.Second)
	defer cancel()
	if err := srv.hub.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if code := f8.waitClosed(t); code != hub.CloseGoingAway {
		t.Fatalf("shutdown close code = %d, want 1001", code)
	}
}

func TestCodec(t *testing.T) {
	var c Codec
	if f := c.Presence("room", true, "7", nil); f != nil {
		t.Errorf("join frame on a channel that is not presence-*: %s", f)
	}
	if got := string(c.Presence("presence-room", false, "7", []byte("info"))); got != `{"event":"leave","channel":"presence-room","user_id":"7"}` {
		t.Errorf("leave frame = %s", got)
	}
	if f := c.ClientEvent("private-x", "client-x", []byte("d"), "7"); f != nil {
		t.Errorf("client event frame = %s: native clients get none", f)
	}
	if got := string(c.Direct("7", "Named", []byte("d"))); got != `{"event":"direct","data":"d"}` {
		t.Errorf("direct frame = %s", got)
	}
	if code, _ := c.DisconnectClose(); code != 4001 {
		t.Errorf("disconnect close = %d", code)
	}
	if code, _, spread := c.ShutdownClose(); code != 1001 || spread != 0 {
		t.Errorf("shutdown close = %d spread %s", code, spread)
	}
}

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
