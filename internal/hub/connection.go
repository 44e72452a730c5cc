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
	sessionKey   = "client"
)

// Upgrade completes the WebSocket handshake on a hijacked connection whose
// request was already authenticated as id, and serves it until it closes.
// br holds whatever the HTTP server had already buffered from conn.
func (h *Hub) Upgrade(conn net.Conn, br *bufio.Reader, r *http.Request, id Identity) error {
	socket, err := h.upgrader().UpgradeFromConn(conn, br, r)
	if err != nil {
		return err
	}
	t := &gwsTransport{conn: socket}
	c, err := h.Connect(t, id)
	if err != nil {
		t.Close(CloseGoingAway, "server shutting down")
		return err
	}
	socket.Session().Store(sessionKey, c)
	go socket.ReadLoop()
	return nil
}

func (h *Hub) upgrader() *gws.Upgrader {
	h.upgraderOnce.Do(func() {
		h.gwsUpgrader = gws.NewUpgrader(&gwsEvents{hub: h}, &gws.ServerOption{
			ReadMaxPayloadSize: h.cfg.MaxFrameSize,
			// Invalid UTF-8 is answered by the decoder with an error frame
			// rather than gws closing the connection with 1007.
			CheckUtf8Enabled: false,
			ParallelEnabled:  false,
		})
	})
	return h.gwsUpgrader
}

// gwsEvents adapts gws's event callbacks, which run on each connection's
// read goroutine, to the hub.
type gwsEvents struct{ hub *Hub }

func (e *gwsEvents) client(socket *gws.Conn) *Client {
	v, ok := socket.Session().Load(sessionKey)
	if !ok {
		return nil
	}
	return v.(*Client)
}

// A client that sends nothing, not even a pong to our pings, for two ping
// intervals is gone.
func (e *gwsEvents) extendDeadline(socket *gws.Conn) {
	_ = socket.SetReadDeadline(time.Now().Add(2 * e.hub.cfg.PingInterval))
}

func (e *gwsEvents) OnOpen(socket *gws.Conn) { e.extendDeadline(socket) }

func (e *gwsEvents) OnClose(socket *gws.Conn, _ error) {
	if c := e.client(socket); c != nil {
		e.hub.Disconnected(c)
	}
}

func (e *gwsEvents) OnPing(socket *gws.Conn, payload []byte) {
	e.extendDeadline(socket)
	// Asynchronous: the read goroutine must never wait on a slow writer.
	socket.WriteAsync(gws.OpcodePong, append([]byte(nil), payload...), nil)
}

func (e *gwsEvents) OnPong(socket *gws.Conn, _ []byte) { e.extendDeadline(socket) }

func (e *gwsEvents) OnMessage(socket *gws.Conn, msg *gws.Message) {
	defer msg.Close()
	e.extendDeadline(socket)
	c := e.client(socket)
	if c == nil {
		return
	}
	if msg.Opcode != gws.OpcodeText {
		c.Close(CloseUnsupported, "binary frames are not supported")
		return
	}
	c.HandleText(msg.Bytes())
}

// gwsTransport writes a hub client's frames to its gws connection.
type gwsTransport struct {
	conn *gws.Conn
	// mu orders deadline updates with closing: once Close has shortened
	// the deadline, no write may extend it again, or a close behind a
	// blocked write would wait for the full write timeout.
	mu      sync.Mutex
	closing bool
}

var errClosing = errors.New("connection is closing")

// arm sets the deadline for one write, unless the connection is closing.
func (t *gwsTransport) arm() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closing {
		return errClosing
	}
	return t.conn.SetWriteDeadline(time.Now().Add(writeTimeout))
}

func (t *gwsTransport) WriteText(data []byte) error {
	if err := t.arm(); err != nil {
		return err
	}
	return t.conn.WriteMessage(gws.OpcodeText, data)
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
