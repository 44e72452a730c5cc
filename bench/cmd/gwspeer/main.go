// Command gwspeer is the benchmarks' floor: bare github.com/lxzan/gws inside
// net/http, no auth, no PHP, one process. It speaks the subset of the
// realtime wire protocol the load generator uses (connected frame,
// subscribe/subscribed, message frames) so that the very same client runs
// against it, and fans a POST /publish (form fields channel, message) out to
// every subscriber of the channel with a gws.Broadcaster (frame encoded once).
//
// It is a benchmark tool only: nothing imports it.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"net/http"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lxzan/gws"
)

type hub struct {
	gws.BuiltinEventHandler
	mu     sync.RWMutex
	chans  map[string]map[*gws.Conn]struct{}
	nextID atomic.Uint64
}

const subsKey = "subs"

func (h *hub) OnOpen(c *gws.Conn) {
	id := h.nextID.Add(1)
	_ = c.WriteString(`{"event":"connected","user_id":"anonymous","connection_id":"` + strconv.FormatUint(id, 10) + `"}`)
}

func (h *hub) OnClose(c *gws.Conn, err error) {
	v, ok := c.Session().Load(subsKey)
	if !ok {
		return
	}
	h.mu.Lock()
	for ch := range v.(map[string]struct{}) {
		delete(h.chans[ch], c)
		if len(h.chans[ch]) == 0 {
			delete(h.chans, ch)
		}
	}
	h.mu.Unlock()
}

func (h *hub) OnPing(c *gws.Conn, payload []byte) { _ = c.WritePong(payload) }

func (h *hub) OnMessage(c *gws.Conn, m *gws.Message) {
	defer m.Close()
	var req struct {
		Action  string `json:"action"`
		Channel string `json:"channel"`
	}
	if err := json.Unmarshal(m.Bytes(), &req); err != nil {
		_ = c.WriteString(`{"event":"error","code":"invalid_json","message":"not a JSON object"}`)
		return
	}
	switch req.Action {
	case "subscribe":
		v, _ := c.Session().Load(subsKey)
		mine, _ := v.(map[string]struct{})
		if mine == nil {
			mine = map[string]struct{}{}
			c.Session().Store(subsKey, mine)
		}
		mine[req.Channel] = struct{}{}
		h.mu.Lock()
		if h.chans[req.Channel] == nil {
			h.chans[req.Channel] = map[*gws.Conn]struct{}{}
		}
		h.chans[req.Channel][c] = struct{}{}
		h.mu.Unlock()
		b, _ := json.Marshal(map[string]string{"event": "subscribed", "channel": req.Channel})
		_ = c.WriteMessage(gws.OpcodeText, b)
	case "ping":
		_ = c.WriteString(`{"event":"pong"}`)
	default:
		_ = c.WriteString(`{"event":"error","code":"unknown_action","message":"unknown action"}`)
	}
}

func (h *hub) publish(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		http.Error(w, "use POST", http.StatusMethodNotAllowed)
		return
	}
	ch, msg := r.FormValue("channel"), r.FormValue("message")
	frame, _ := json.Marshal(struct {
		Event   string `json:"event"`
		Channel string `json:"channel"`
		Data    string `json:"data"`
	}{"message", ch, msg})
	b := gws.NewBroadcaster(gws.OpcodeText, frame)
	h.mu.RLock()
	for c := range h.chans[ch] {
		_ = b.Broadcast(c)
	}
	h.mu.RUnlock()
	_ = b.Close()
	w.WriteHeader(http.StatusNoContent)
}

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "listen address (loopback)")
	flag.Parse()
	h := &hub{chans: map[string]map[*gws.Conn]struct{}{}}
	up := gws.NewUpgrader(h, &gws.ServerOption{
		ParallelEnabled: false,
		Recovery:        gws.Recovery,
	})
	mux := http.NewServeMux()
	mux.HandleFunc("/ws", func(w http.ResponseWriter, r *http.Request) {
		c, err := up.Upgrade(w, r)
		if err != nil {
			return
		}
		go c.ReadLoop()
	})
	mux.HandleFunc("/publish", h.publish)
	srv := &http.Server{Addr: *addr, Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprintf(os.Stderr, "gwspeer listening on %s\n", *addr)
	log.Fatal(srv.ListenAndServe())
}
