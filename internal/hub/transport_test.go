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

// A burst is written in batches of raw frames (WriteTexts) over the real
// socket: frames of every size class of the WebSocket length header (7-bit,
// 16-bit, 64-bit) arrive intact and in publish order.
func TestServeWritesBurstsAsValidFramesInOrder(t *testing.T) {
	h := newTestHub(t, hub.Backend{}, hub.Settings{MaxMessageSize: 1 << 20, MaxPendingBytes: 64 << 20})
	attached := make(chan *hub.Client, 1)
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
			Caller: testCaller("site"), ReadLimit: 1 << 20,
			Open: func(c *hub.Client) hub.Session { attached <- c; return nopSession{} }})
		if err != nil {
			t.Error(err)
		}
	}))
	defer srv.Close()

	rcv := &received{msgs: make(chan string, 1024)}
	client, _, err := gws.NewClient(rcv, &gws.ClientOption{Addr: "ws" + strings.TrimPrefix(srv.URL, "http"), ReadMaxPayloadSize: 2 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer client.NetConn().Close()
	go client.ReadLoop()
	var c *hub.Client
	select {
	case c = <-attached:
	case <-time.After(5 * time.Second):
		t.Fatal("the connection was never attached")
	}
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
