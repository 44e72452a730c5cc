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
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lxzan/gws"
)

// Delivery accounting shared by every subscriber of this process. A message's
// data starts with "<phase>.<seq>.<send unix ns>." (the rest is padding up to
// the payload size); only messages of the current phase are counted, so a
// late message from an earlier phase cannot pollute the next one.
var (
	curPhase    atomic.Int64
	curHist     atomic.Pointer[hist]
	delivered   atomic.Uint64
	stale       atomic.Uint64
	malformed   atomic.Uint64
	firstRecv   atomic.Int64 // unix ns of the earliest counted delivery of the phase
	lastRecv    atomic.Int64 // unix ns of the latest counted delivery
	closedEarly atomic.Uint64
)

// counter is one subscriber's view of the current phase: how many messages
// it got, and how many arrived out of publish order (a sequence number not
// above the previous one: reordering or a duplicate).
type counter struct {
	got      atomic.Int64
	next     atomic.Int64
	disorder atomic.Int64
}

func (c *counter) reset() {
	c.got.Store(0)
	c.next.Store(0)
	c.disorder.Store(0)
}

func onData(b []byte, c *counter) {
	now := time.Now().UnixNano()
	i := bytes.IndexByte(b, '.')
	if i <= 0 {
		malformed.Add(1)
		return
	}
	ph, err := strconv.ParseInt(string(b[:i]), 10, 64)
	if err != nil {
		malformed.Add(1)
		return
	}
	if ph != curPhase.Load() {
		stale.Add(1)
		return
	}
	rest := b[i+1:]
	j := bytes.IndexByte(rest, '.')
	if j < 0 {
		malformed.Add(1)
		return
	}
	seq, err := strconv.ParseInt(string(rest[:j]), 10, 64)
	if err != nil {
		malformed.Add(1)
		return
	}
	rest = rest[j+1:]
	k := bytes.IndexByte(rest, '.')
	if k < 0 {
		malformed.Add(1)
		return
	}
	ts, err := strconv.ParseInt(string(rest[:k]), 10, 64)
	if err != nil {
		malformed.Add(1)
		return
	}
	curHist.Load().record(time.Duration(now - ts))
	delivered.Add(1)
	c.got.Add(1)
	if seq < c.next.Load() {
		c.disorder.Add(1)
	} else {
		c.next.Store(seq + 1)
	}
	for {
		l := lastRecv.Load()
		if now <= l || lastRecv.CompareAndSwap(l, now) {
			break
		}
	}
	for {
		f := firstRecv.Load()
		if (f != 0 && f <= now) || firstRecv.CompareAndSwap(f, now) {
			break
		}
	}
}

// subscriber is one open subscription (a WebSocket or an SSE stream).
type subscriber interface {
	close()
	counts() *counter
}

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

// ---- WebSocket: the native protocol (the gws peer speaks the same subset)
// and the Pusher protocol. ----

var (
	evConnected    = []byte(`"event":"connected"`)
	evSubscribed   = []byte(`"event":"subscribed"`)
	evMessage      = []byte(`"event":"message"`)
	evError        = []byte(`"event":"error"`)
	evEstablished  = []byte(`"event":"pusher:connection_established"`)
	evSucceeded    = []byte(`"event":"pusher_internal:subscription_succeeded"`)
	evPusherError  = []byte(`"event":"pusher:error"`)
	evPusherPing   = []byte(`"event":"pusher:ping"`)
	dataKey        = []byte(`"data":"`)
	pusherPongJSON = `{"event":"pusher:pong","data":{}}`
)

type wsSub struct {
	gws.BuiltinEventHandler
	pusher  bool
	channel string
	state   int // 0 wait connected, 1 wait subscribed, 2 streaming
	ready   chan error
	conn    *gws.Conn
	closing atomic.Bool
	counter
}

func (s *wsSub) counts() *counter { return &s.counter }

// signal reports the outcome of the handshake once; later reports are dropped.
func (s *wsSub) signal(err error) {
	select {
	case s.ready <- err:
	default:
	}
}

func (s *wsSub) OnClose(c *gws.Conn, err error) {
	if s.state < 2 {
		s.signal(fmt.Errorf("closed before subscribed: %v", err))
		return
	}
	if !s.closing.Load() {
		closedEarly.Add(1)
	}
}

// OnPing answers the server's WebSocket pings: the realtime hub closes a
// client silent for two ping intervals.
func (s *wsSub) OnPing(c *gws.Conn, payload []byte) { _ = c.WritePong(payload) }

func (s *wsSub) OnMessage(c *gws.Conn, m *gws.Message) {
	defer m.Close()
	b := m.Bytes()
	if s.state == 2 {
		if bytes.Contains(b, evMessage) {
			i := bytes.Index(b, dataKey)
			if i < 0 {
				malformed.Add(1)
				return
			}
			d := b[i+len(dataKey):]
			if j := bytes.IndexByte(d, '"'); j >= 0 {
				onData(d[:j], &s.counter)
			}
		} else if s.pusher && bytes.Contains(b, evPusherPing) {
			_ = c.WriteString(pusherPongJSON)
		}
		return
	}
	if s.pusher {
		switch {
		case s.state == 0 && bytes.Contains(b, evEstablished):
			s.state = 1
			_ = c.WriteString(`{"event":"pusher:subscribe","data":{"channel":"` + s.channel + `","auth":""}}`)
		case s.state == 1 && bytes.Contains(b, evSucceeded):
			s.state = 2
			s.signal(nil)
		case bytes.Contains(b, evPusherError):
			s.signal(fmt.Errorf("pusher:error: %s", b))
		}
		return
	}
	switch s.state {
	case 0:
		if bytes.Contains(b, evConnected) {
			s.state = 1
			_ = c.WriteString(`{"action":"subscribe","channel":"` + s.channel + `"}`)
		}
	case 1:
		switch {
		case bytes.Contains(b, evSubscribed):
			s.state = 2
			s.signal(nil)
		case bytes.Contains(b, evError):
			s.signal(fmt.Errorf("subscribe refused: %s", b))
		}
	}
}

func (s *wsSub) close() {
	s.closing.Store(true)
	_ = s.conn.WriteClose(1000, nil)
	_ = s.conn.NetConn().Close()
}

var errRetry = errors.New("retryable")

func connectWS(ctx context.Context, d *dialer, rawURL, channel string, id int, pusher bool) (subscriber, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, err
	}
	conn, err := d.dial(ctx, u.Host)
	if err != nil {
		return nil, err
	}
	s := &wsSub{channel: channel, ready: make(chan error, 1), pusher: pusher}
	hdr := http.Header{}
	if !pusher {
		hdr.Set("Cookie", "user=u"+strconv.Itoa(id)) // bench/app/auth.php's user id
	}
	c, resp, err := gws.NewClientFromConn(s, &gws.ClientOption{
		Addr:             rawURL,
		RequestHeader:    hdr,
		HandshakeTimeout: 15 * time.Second,
	}, conn)
	if err != nil {
		_ = conn.Close()
		if resp != nil {
			if resp.StatusCode == http.StatusServiceUnavailable {
				return nil, fmt.Errorf("handshake: HTTP 503 (%w)", errRetry)
			}
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
		return nil, errors.New("timeout waiting for the connection and subscription frames")
	}
	return s, nil
}

// ---- Server-Sent Events (Mercure) ----

type sseSub struct {
	conn    net.Conn
	closing atomic.Bool
	counter
}

func (s *sseSub) counts() *counter { return &s.counter }

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
				onData(bytes.TrimRight(line[len(prefix):], "\r\n"), &s.counter)
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
	Retries     int     `json:"retries_after_503"`
	FirstError  string  `json:"first_error,omitempty"`
	Concurrency int     `json:"concurrency"`
	Seconds     float64 `json:"seconds"`
	PerSecond   float64 `json:"per_second"`
}

// connectMany opens n subscribers, concurrency attempts in flight. A
// handshake answered 503 (realtime: every endpoint_concurrency slot busy
// for 1 s) is retried up to 5 times; retries are counted.
func connectMany(kind string, d *dialer, rawURL, channel string, n, concurrency, idBase int) ([]subscriber, setupResult) {
	ctx := context.Background()
	subs := make([]subscriber, n)
	var next, failed, retries atomic.Int64
	var firstErr atomic.Pointer[string]
	var wg sync.WaitGroup
	start := time.Now()
	for w := 0; w < min(concurrency, n); w++ {
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
				for attempt := 0; ; attempt++ {
					switch kind {
					case "sse":
						s, err = connectSSE(ctx, d, rawURL)
					case "pusher":
						s, err = connectWS(ctx, d, rawURL, channel, idBase+i, true)
					default:
						s, err = connectWS(ctx, d, rawURL, channel, idBase+i, false)
					}
					if err == nil || !errors.Is(err, errRetry) || attempt == 5 {
						break
					}
					retries.Add(1)
					time.Sleep(time.Duration(100*(attempt+1)) * time.Millisecond)
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
	r := setupResult{Requested: n, OK: len(out), Failed: int(failed.Load()), Retries: int(retries.Load()), Concurrency: concurrency, Seconds: el}
	if el > 0 {
		r.PerSecond = float64(len(out)) / el
	}
	if p := firstErr.Load(); p != nil {
		r.FirstError = strings.TrimSpace(*p)
	}
	return out, r
}

func closeAll(subs []subscriber) {
	for _, s := range subs {
		s.close()
	}
}
