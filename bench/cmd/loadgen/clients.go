package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lxzan/gws"
)

// Delivery accounting shared by every subscriber of this process. A message's
// data is "<phase>.<seq>.<send unix ns>.<padding>"; only messages of the
// current phase are counted, so a late message from an earlier phase cannot
// pollute the next one.
var (
	curPhase    atomic.Int64
	curHist     atomic.Pointer[hist]
	delivered   atomic.Uint64
	stale       atomic.Uint64
	lastRecv    atomic.Int64 // unix ns of the latest counted delivery
	closedEarly atomic.Uint64
)

func onData(b []byte) {
	now := time.Now().UnixNano()
	// phase
	i := bytes.IndexByte(b, '.')
	if i <= 0 {
		return
	}
	ph, err := strconv.ParseInt(string(b[:i]), 10, 64)
	if err != nil || ph != curPhase.Load() {
		stale.Add(1)
		return
	}
	rest := b[i+1:]
	j := bytes.IndexByte(rest, '.') // seq
	if j < 0 {
		return
	}
	rest = rest[j+1:]
	k := bytes.IndexByte(rest, '.')
	if k < 0 {
		return
	}
	ts, err := strconv.ParseInt(string(rest[:k]), 10, 64)
	if err != nil {
		return
	}
	curHist.Load().record(time.Duration(now - ts))
	delivered.Add(1)
	for {
		l := lastRecv.Load()
		if now <= l || lastRecv.CompareAndSwap(l, now) {
			break
		}
	}
}

// subscriber is one open subscription (a WebSocket or an SSE stream).
type subscriber interface{ close() }

// dialer spreads client sockets over 127.0.0.2..127.0.0.(1+sources) so that
// no source address runs out of ephemeral ports.
type dialer struct {
	sources int
	next    atomic.Uint64
}

func (d *dialer) dial(ctx context.Context, addr string) (net.Conn, error) {
	n := d.next.Add(1)
	ip := net.IPv4(127, 0, 0, byte(2+n%uint64(d.sources)))
	nd := net.Dialer{LocalAddr: &net.TCPAddr{IP: ip}, Timeout: 10 * time.Second}
	return nd.DialContext(ctx, "tcp", addr)
}

// ---- WebSocket (our realtime protocol; the gws peer speaks the same) ----

var (
	evConnected  = []byte(`"event":"connected"`)
	evSubscribed = []byte(`"event":"subscribed"`)
	evMessage    = []byte(`"event":"message"`)
	evError      = []byte(`"event":"error"`)
	dataKey      = []byte(`"data":"`)
)

type wsSub struct {
	gws.BuiltinEventHandler
	channel string
	state   int // 0 wait connected, 1 wait subscribed, 2 streaming
	ready   chan error
	conn    *gws.Conn
	closing atomic.Bool
}

func (s *wsSub) OnClose(c *gws.Conn, err error) {
	if s.state < 2 {
		select {
		case s.ready <- fmt.Errorf("closed before subscribed: %v", err):
		default:
		}
		return
	}
	if !s.closing.Load() {
		closedEarly.Add(1)
	}
}

func (s *wsSub) OnMessage(c *gws.Conn, m *gws.Message) {
	defer m.Close()
	b := m.Bytes()
	switch s.state {
	case 2:
		if !bytes.Contains(b, evMessage) {
			return
		}
		i := bytes.Index(b, dataKey)
		if i < 0 {
			return
		}
		d := b[i+len(dataKey):]
		if j := bytes.IndexByte(d, '"'); j >= 0 {
			onData(d[:j])
		}
	case 0:
		if bytes.Contains(b, evConnected) {
			s.state = 1
			_ = c.WriteString(`{"action":"subscribe","channel":"` + s.channel + `"}`)
		}
	case 1:
		switch {
		case bytes.Contains(b, evSubscribed):
			s.state = 2
			s.ready <- nil
		case bytes.Contains(b, evError):
			s.ready <- fmt.Errorf("subscribe refused: %s", b)
		}
	}
}

func (s *wsSub) close() {
	s.closing.Store(true)
	_ = s.conn.WriteClose(1000, nil)
	_ = s.conn.NetConn().Close()
}

func connectWS(ctx context.Context, d *dialer, rawURL, channel string, id int) (subscriber, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, err
	}
	conn, err := d.dial(ctx, u.Host)
	if err != nil {
		return nil, err
	}
	s := &wsSub{channel: channel, ready: make(chan error, 1)}
	hdr := http.Header{}
	hdr.Set("Cookie", "user=u"+strconv.Itoa(id))
	c, resp, err := gws.NewClientFromConn(s, &gws.ClientOption{
		Addr:             rawURL,
		RequestHeader:    hdr,
		HandshakeTimeout: 15 * time.Second,
	}, conn)
	if err != nil {
		if resp != nil {
			return nil, fmt.Errorf("handshake: HTTP %d", resp.StatusCode)
		}
		return nil, fmt.Errorf("handshake: %w", err)
	}
	s.conn = c
	go c.ReadLoop()
	select {
	case err := <-s.ready:
		if err != nil {
			_ = conn.Close()
			return nil, err
		}
	case <-time.After(15 * time.Second):
		_ = conn.Close()
		return nil, errors.New("timeout waiting for connected/subscribed")
	}
	return s, nil
}

// ---- Server-Sent Events (Mercure) ----

type sseSub struct {
	conn    net.Conn
	closing atomic.Bool
}

func (s *sseSub) close() {
	s.closing.Store(true)
	_ = s.conn.Close()
}

func connectSSE(ctx context.Context, d *dialer, rawURL string) (subscriber, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, err
	}
	conn, err := d.dial(ctx, u.Host)
	if err != nil {
		return nil, err
	}
	_ = conn.SetDeadline(time.Now().Add(15 * time.Second))
	req := "GET " + u.RequestURI() + " HTTP/1.1\r\nHost: " + u.Host + "\r\nAccept: text/event-stream\r\nUser-Agent: bench-loadgen\r\n\r\n"
	if _, err := conn.Write([]byte(req)); err != nil {
		_ = conn.Close()
		return nil, err
	}
	br := bufio.NewReaderSize(conn, 4096)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		_ = conn.Close()
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		_ = conn.Close()
		return nil, fmt.Errorf("subscribe: HTTP %d", resp.StatusCode)
	}
	_ = conn.SetDeadline(time.Time{})
	s := &sseSub{conn: conn}
	go func() {
		body := bufio.NewReaderSize(resp.Body, 4096)
		prefix := []byte("data: ")
		for {
			line, err := body.ReadSlice('\n')
			if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
				if !s.closing.Load() {
					closedEarly.Add(1)
				}
				return
			}
			if bytes.HasPrefix(line, prefix) {
				onData(bytes.TrimRight(line[len(prefix):], "\r\n"))
			}
		}
	}()
	return s, nil
}

// ---- connecting many ----

type setupResult struct {
	Requested   int     `json:"requested"`
	OK          int     `json:"ok"`
	Failed      int     `json:"failed"`
	FirstError  string  `json:"first_error,omitempty"`
	Concurrency int     `json:"concurrency"`
	Seconds     float64 `json:"seconds"`
	PerSecond   float64 `json:"per_second"`
}

func connectMany(kind string, d *dialer, rawURL, channel string, n, concurrency, idBase int) ([]subscriber, setupResult) {
	ctx := context.Background()
	subs := make([]subscriber, n)
	var next atomic.Int64
	var failed atomic.Int64
	var firstErr atomic.Pointer[string]
	var wg sync.WaitGroup
	start := time.Now()
	for w := 0; w < concurrency; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				var s subscriber
				var err error
				if kind == "sse" {
					s, err = connectSSE(ctx, d, rawURL)
				} else {
					s, err = connectWS(ctx, d, rawURL, channel, idBase+i)
				}
				if err != nil {
					failed.Add(1)
					msg := err.Error()
					firstErr.CompareAndSwap(nil, &msg)
					continue
				}
				subs[i] = s
			}
		}()
	}
	wg.Wait()
	el := time.Since(start).Seconds()
	out := subs[:0]
	for _, s := range subs {
		if s != nil {
			out = append(out, s)
		}
	}
	r := setupResult{Requested: n, OK: len(out), Failed: int(failed.Load()), Concurrency: concurrency, Seconds: el}
	if el > 0 {
		r.PerSecond = float64(len(out)) / el
	}
	if p := firstErr.Load(); p != nil {
		r.FirstError = *p
	}
	return out, r
}

func closeAll(subs []subscriber) {
	for _, s := range subs {
		s.close()
	}
}
