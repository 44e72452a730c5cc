package hub_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/lxzan/gws"

	"github.com/frankenphp-realtime/realtime/internal/hub"
)

type nopSession struct{}

func (nopSession) HandleText([]byte)   {}
func (nopSession) HandleBinary([]byte) {}

// received collects a gws client's text messages.
type received struct {
	gws.BuiltinEventHandler
	msgs chan string
}

func (r *received) OnMessage(_ *gws.Conn, m *gws.Message) {
	defer m.Close()
	r.msgs <- string(m.Bytes())
}

// serveHub is an HTTP server whose requests are WebSocket connections of
// h (test codec); attached receives each connection's client.
func serveHub(t *testing.T, h *hub.Hub) (*httptest.Server, chan *hub.Client) {
	t.Helper()
	attached := make(chan *hub.Client, 1)
	return serveHubWith(t, h, func(c *hub.Client) hub.Session { attached <- c; return nopSession{} }), attached
}

// serveHubWith is serveHub with the session each connection gets from open.
func serveHubWith(t *testing.T, h *hub.Hub, open func(*hub.Client) hub.Session) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		slot, err := h.Admit()
		if err != nil {
			t.Error(err)
			return
		}
		conn, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Error(err)
			return
		}
		err = h.Serve(hub.Upgrade{Conn: conn, Reader: brw.Reader, Request: r, Slot: slot, Codec: plain,
			Caller: testCaller("site"), ReadLimit: 1 << 20, Open: open})
		if err != nil {
			t.Error(err)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

// dial connects a gws client to srv and waits for its hub client.
func dial(t *testing.T, srv *httptest.Server, attached chan *hub.Client, handler gws.Event) (*gws.Conn, *hub.Client) {
	t.Helper()
	client, _, err := gws.NewClient(handler, &gws.ClientOption{Addr: "ws" + strings.TrimPrefix(srv.URL, "http"), ReadMaxPayloadSize: 2 << 20})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = client.NetConn().Close() })
	select {
	case c := <-attached:
		return client, c
	case <-time.After(5 * time.Second):
		t.Fatal("the connection was never attached")
	}
	return nil, nil
}

// A burst is written in batches of raw frames (WriteTexts) over the real
// socket: frames of every size class of the WebSocket length header (7-bit,
// 16-bit, 64-bit) arrive intact and in publish order.
func TestServeWritesBurstsAsValidFramesInOrder(t *testing.T) {
	h := newTestHub(t, hub.Backend{}, hub.Settings{MaxMessageSize: 1 << 20, MaxPendingBytes: 64 << 20})
	srv, attached := serveHub(t, h)
	rcv := &received{msgs: make(chan string, 1024)}
	client, c := dial(t, srv, attached, rcv)
	go client.ReadLoop()
	if _, err := h.Subscribe(bg, c, "news", "", nil); err != nil {
		t.Fatal(err)
	}

	sizes := []int{0, 1, 125, 126, 127, 65535, 65536, 70000, 300}
	var want []string
	for round := 0; round < 50; round++ {
		for _, n := range sizes {
			data := fmt.Sprintf("%d.%d.", round, n)
			data += strings.Repeat("x", max(0, n-len(data)))
			want = append(want, data)
			if err := h.Trigger(bg, hub.Publication{Channels: []string{"news"}, Data: []byte(data)}); err != nil {
				t.Fatal(err)
			}
		}
	}
	for i, w := range want {
		select {
		case got := <-rcv.msgs:
			var m map[string]string
			if err := json.Unmarshal([]byte(got), &m); err != nil {
				t.Fatalf("message %d is not the codec's JSON (%v): %.40q", i, err, got)
			}
			got = m["data"]
			if got != w {
				t.Fatalf("message %d: got %d bytes starting %.20q, want %d bytes starting %.20q", i, len(got), got, len(w), w)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("message %d of %d never arrived", i, len(want))
		}
	}
}

// A client that floods pings and reads nothing is a slow consumer: its
// pongs are queued like any frame, bounded by max_pending_bytes, and the
// connection is dropped rather than the server holding unbounded pongs.
func TestAPingFloodWithoutReadingIsASlowConsumer(t *testing.T) {
	h := newTestHub(t, hub.Backend{}, hub.Settings{MaxPendingBytes: 16 << 10})
	srv, attached := serveHub(t, h)
	client, _ := dial(t, srv, attached, &gws.BuiltinEventHandler{})
	// No ReadLoop: nothing the server writes is read; the kernel's buffers
	// fill, then the server's queue.
	payload := []byte(strings.Repeat("p", 125))
	deadline := time.Now().Add(20 * time.Second)
	for h.Counters().SlowConsumers == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("still connected after the flood; %+v", h.Stats())
		}
		for i := 0; i < 1000; i++ {
			if err := client.WritePing(payload); err != nil {
				break // the server closed the connection
			}
		}
	}
	eventually(t, "the flooding connection to leave the hub", func() bool { return h.Stats().Connections == 0 })
}

// recordingSession hands each text frame a connection reads to a channel.
type recordingSession struct{ frames chan string }

func (s recordingSession) HandleText(b []byte)   { s.frames <- string(b) }
func (s recordingSession) HandleBinary(b []byte) { s.frames <- string(b) }

// Client frames smaller and larger than the connection's read buffer,
// written back to back so that several share one read, reach the session
// intact and in order.
func TestServeReadsClientFramesOfEverySize(t *testing.T) {
	h := newTestHub(t, hub.Backend{}, hub.Settings{})
	frames := make(chan string, 1024)
	srv := serveHubWith(t, h, func(*hub.Client) hub.Session { return recordingSession{frames} })
	client, _, err := gws.NewClient(&gws.BuiltinEventHandler{}, &gws.ClientOption{Addr: "ws" + strings.TrimPrefix(srv.URL, "http")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = client.NetConn().Close() })
	go client.ReadLoop()

	sizes := []int{1, 40, 120, 125, 126, 200, 250, 255, 256, 257, 300, 1000, 4096, 65535, 65536, 100000}
	var want []string
	for round := 0; round < 20; round++ {
		for _, n := range sizes {
			data := fmt.Sprintf("%d.%d.", round, n)
			data += strings.Repeat("y", max(0, n-len(data)))
			want = append(want, data)
			if err := client.WriteString(data); err != nil {
				t.Fatal(err)
			}
		}
	}
	for i, w := range want {
		select {
		case got := <-frames:
			if got != w {
				t.Fatalf("frame %d: got %d bytes starting %.20q, want %d bytes starting %.20q", i, len(got), got, len(w), w)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("frame %d of %d never arrived", i, len(want))
		}
	}
}
