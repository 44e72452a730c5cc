package hub

import (
	"bufio"
	"errors"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/lxzan/gws"
)

const (
	// writeTimeout bounds one frame write; a client that accepts nothing for
	// this long is dropped even before its backlog reaches the limit.
	writeTimeout = 10 * time.Second
	// closeTimeout bounds the close frame write; past it the TCP connection
	// is dropped without one.
	closeTimeout = time.Second
	sessionKey   = "s"
)

// Session is a protocol adapter's reading side of one connection. Its
// methods run on the connection's read goroutine, one frame at a time.
type Session interface {
	// HandleText handles one text frame.
	HandleText(data []byte)
	// HandleBinary handles one binary frame.
	HandleBinary(data []byte)
}

// Refusal is what a connection admitted to the WebSocket but refused
// right after gets: frames, then a close (Pusher answers a full server
// with pusher:error and close 4100 rather than an HTTP status).
type Refusal struct {
	Frames [][]byte
	Code   uint16
	Reason string
}

// Upgrade describes one connection to serve.
type Upgrade struct {
	Conn    net.Conn      // hijacked
	Reader  *bufio.Reader // what the HTTP server had buffered from Conn
	Request *http.Request
	// Slot is the connection's admission; nil sends Refused instead.
	Slot    *Slot
	Refused Refusal
	Codec   Codec
	Caller  Caller
	UserID  string // "" for a connection anonymous at connect
	// ReadLimit is the largest frame read into memory, in bytes; a larger
	// one closes the connection with 1009.
	ReadLimit int
	// Open runs once the client is attached, before its first read: it
	// sends the first frame and returns the session that reads the rest.
	Open func(*Client) Session
}

// readBufferSize is the read buffer a connection keeps for its whole life,
// idle or not. Client frames are small and rare: a pusher:ping is 40 bytes
// on the wire, a subscribe with its auth signature or a whisper a few
// hundred. A frame that fits is read with one system call; the rest of a
// larger one is read straight into the frame's own buffer (bufio skips its
// buffer for reads larger than it), costing one more call, not a copy. So
// the 4 KiB the HTTP server read the handshake with, or even 1 KiB, would
// mostly sit idle on every connection.
const readBufferSize = 256

// Serve completes the WebSocket handshake of u and serves the connection
// until it closes (in its own goroutine).
func (h *Hub) Serve(u Upgrade) error {
	br := u.Reader
	if br == nil || br.Buffered() == 0 {
		// Nothing the client sent is waiting in the HTTP server's reader
		// (browsers wait for the 101): drop it for a smaller one.
		br = bufio.NewReaderSize(u.Conn, readBufferSize)
	}
	raw := &lockedConn{Conn: u.Conn}
	socket, err := h.upgrader(u.ReadLimit).UpgradeFromConn(raw, br, u.Request)
	if err != nil {
		if u.Slot != nil {
			u.Slot.Release()
		}
		return err
	}
	t := &gwsTransport{conn: socket, raw: raw}
	if u.Slot == nil {
		for _, f := range u.Refused.Frames {
			_ = t.WriteText(f)
		}
		t.Close(u.Refused.Code, u.Refused.Reason)
		return nil
	}
	c, err := h.Attach(u.Slot, t, u.Codec, u.Caller, u.UserID)
	if err != nil {
		code, reason, _ := u.Codec.ShutdownClose()
		t.Close(code, reason)
		return err
	}
	session := u.Open(c)
	socket.Session().Store(sessionKey, &served{client: c, session: session})
	go socket.ReadLoop()
	return nil
}

type served struct {
	client  *Client
	session Session
}

func (h *Hub) upgrader(limit int) *gws.Upgrader {
	if limit <= 0 {
		limit = h.settings().MaxFrameSize
	}
	if u, ok := h.upgraders.Load(limit); ok {
		return u.(*gws.Upgrader)
	}
	u, _ := h.upgraders.LoadOrStore(limit, gws.NewUpgrader(&gwsEvents{hub: h}, &gws.ServerOption{
		ReadMaxPayloadSize: limit,
		// Invalid UTF-8 is answered by the adapters' decoders with an error
		// frame rather than gws closing the connection with 1007.
		CheckUtf8Enabled: false,
		ParallelEnabled:  false,
		NewSession:       func() gws.SessionStorage { return new(oneSession) },
	}))
	return u.(*gws.Upgrader)
}

// oneSession is a connection's gws session storage: the hub stores one
// value (sessionKey) per connection, so a slot costs ~50 bytes where gws's
// default map with its own mutex costs ~350 on every idle connection.
type oneSession struct {
	mu  sync.Mutex
	key string
	val any
	set bool
}

func (s *oneSession) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.set {
		return 1
	}
	return 0
}

func (s *oneSession) Load(key string) (any, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.set && s.key == key {
		return s.val, true
	}
	return nil, false
}

func (s *oneSession) Delete(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.set && s.key == key {
		s.key, s.val, s.set = "", nil, false
	}
}

// Store keeps one key: storing a second key replaces the first (the hub
// never does; gws itself stores nothing).
func (s *oneSession) Store(key string, value any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.key, s.val, s.set = key, value, true
}

func (s *oneSession) Range(f func(key string, value any) bool) {
	s.mu.Lock()
	key, val, set := s.key, s.val, s.set
	s.mu.Unlock()
	if set {
		f(key, val)
	}
}

// gwsEvents adapts gws's event callbacks, which run on each connection's
// read goroutine, to the sessions.
type gwsEvents struct{ hub *Hub }

func (e *gwsEvents) served(socket *gws.Conn) *served {
	v, ok := socket.Session().Load(sessionKey)
	if !ok {
		return nil
	}
	return v.(*served)
}

// activity records an inbound frame. A client that sends nothing, not even
// a pong to our pings, for two ping intervals is gone.
func (e *gwsEvents) activity(socket *gws.Conn) *served {
	_ = socket.SetReadDeadline(time.Now().Add(2 * e.hub.settings().PingInterval))
	s := e.served(socket)
	if s != nil {
		s.client.Touch()
	}
	return s
}

func (e *gwsEvents) OnOpen(socket *gws.Conn) {
	_ = socket.SetReadDeadline(time.Now().Add(2 * e.hub.settings().PingInterval))
}

func (e *gwsEvents) OnClose(socket *gws.Conn, _ error) {
	if s := e.served(socket); s != nil {
		e.hub.Disconnected(s.client)
	}
}

func (e *gwsEvents) OnPing(socket *gws.Conn, payload []byte) {
	s := e.activity(socket)
	if s == nil {
		return
	}
	// Queued, never written here: the read goroutine must not wait on a
	// slow writer, and the queue's byte limit bounds what a client that
	// pings without reading can make the server hold.
	s.client.out.enqueue(outFrame{pong: true, data: append([]byte(nil), payload...)})
}

func (e *gwsEvents) OnPong(socket *gws.Conn, _ []byte) { e.activity(socket) }

func (e *gwsEvents) OnMessage(socket *gws.Conn, msg *gws.Message) {
	defer msg.Close()
	s := e.activity(socket)
	if s == nil {
		return
	}
	if msg.Opcode == gws.OpcodeText {
		s.session.HandleText(msg.Bytes())
	} else {
		s.session.HandleBinary(msg.Bytes())
	}
}

// gwsTransport writes a hub client's frames to its gws connection.
type gwsTransport struct {
	conn *gws.Conn
	raw  *lockedConn // what conn writes to, for WriteTexts
	// mu orders deadline updates with closing: once Close has shortened
	// the deadline, no write may extend it again, or a close behind a
	// blocked write would wait for the full write timeout.
	mu      sync.Mutex
	closing bool
	// armed is when the write deadline was last set. Setting it costs a
	// runtime timer update; a fan-out burst writes many frames per second
	// to each connection, so it is moved only once it is rearmSlack old:
	// every write still has at least writeTimeout - rearmSlack.
	armed time.Time
}

const rearmSlack = time.Second

var errClosing = errors.New("connection is closing")

// arm sets the deadline for one write, unless the connection is closing.
func (t *gwsTransport) arm() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closing {
		return errClosing
	}
	now := time.Now()
	if now.Sub(t.armed) < rearmSlack {
		return nil
	}
	t.armed = now
	return t.conn.SetWriteDeadline(now.Add(writeTimeout))
}

func (t *gwsTransport) WriteText(data []byte) error {
	if err := t.arm(); err != nil {
		return err
	}
	return t.conn.WriteMessage(gws.OpcodeText, data)
}

// WriteTexts writes frames as unfragmented, uncompressed text frames with as
// few writes as maxWriteBatch allows: one system call for a typical burst.
// The frames were encoded once per publish; only the 2-10 byte WebSocket
// headers are built here (RFC 6455 §5.2, server frames are not masked).
func (t *gwsTransport) WriteTexts(frames [][]byte) error {
	if err := t.arm(); err != nil {
		return err
	}
	bp := writeBuffers.Get().(*[]byte)
	defer writeBuffers.Put(bp)
	buf := (*bp)[:0]
	for i, f := range frames {
		buf = appendTextHeader(buf, len(f))
		buf = append(buf, f...)
		if len(buf) >= maxWriteBatch || i == len(frames)-1 {
			if _, err := t.raw.Write(buf); err != nil {
				*bp = buf[:0]
				return err
			}
			buf = buf[:0]
		}
	}
	if cap(buf) <= 2*maxWriteBatch {
		*bp = buf[:0] // keep the grown buffer, unless one huge frame made it
	}
	return nil
}

// maxWriteBatch is how many bytes WriteTexts gathers before writing.
const maxWriteBatch = 64 << 10

var writeBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

// appendTextHeader appends the header of a final, unmasked text frame whose
// payload is n bytes long.
func appendTextHeader(b []byte, n int) []byte {
	const finText = 0x81
	switch {
	case n < 126:
		return append(b, finText, byte(n))
	case n <= 0xFFFF:
		return append(b, finText, 126, byte(n>>8), byte(n))
	default:
		return append(b, finText, 127, byte(n>>56), byte(n>>48), byte(n>>40), byte(n>>32),
			byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
}

// lockedConn is the connection gws writes to: every write, gws's own
// (pongs, close frames) and WriteTexts's batches, holds mu, so frames
// written by the two never interleave. Reads pass through unlocked.
type lockedConn struct {
	net.Conn
	mu sync.Mutex
}

func (c *lockedConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.Conn.Write(p)
}

// WritePong answers a ping, on a write deadline like every frame (a
// client that only pings would otherwise meet one set long ago).
func (t *gwsTransport) WritePong(payload []byte) error {
	if err := t.arm(); err != nil {
		return err
	}
	return t.conn.WritePong(payload)
}

func (t *gwsTransport) WritePing() error {
	if err := t.arm(); err != nil {
		return err
	}
	return t.conn.WritePing(nil)
}

func (t *gwsTransport) Close(code uint16, reason string) {
	t.mu.Lock()
	if t.closing {
		t.mu.Unlock()
		return
	}
	t.closing = true
	// A write blocked on a full socket fails at this deadline, which frees
	// the connection's write lock for the close frame.
	_ = t.conn.SetWriteDeadline(time.Now().Add(closeTimeout))
	t.mu.Unlock()
	_ = t.conn.WriteClose(code, []byte(reason))
	_ = t.conn.NetConn().Close()
}
