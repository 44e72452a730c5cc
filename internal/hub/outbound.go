package hub

import "sync"

// Transport is the write side of one WebSocket connection. Writes from the
// hub are serialised by the outbound queue; Close may be called concurrently
// with a write in progress and must make it return promptly.
type Transport interface {
	// WriteText writes one text message, failing after a bounded time.
	WriteText(data []byte) error
	// WritePing writes a ping control frame.
	WritePing() error
	// Close sends a close frame if it can within a short deadline, then
	// closes the underlying connection.
	Close(code uint16, reason string)
}

type outFrame struct {
	ping  bool
	pong  bool // data is the ping's payload (pongWriter transports only)
	data  []byte
	close *closeRequest // the last frame: close the transport
}

// isText reports whether f is a text message (not a ping, pong or close).
func (f *outFrame) isText() bool { return !f.ping && !f.pong && f.close == nil }

// pongWriter is implemented by transports that answer WebSocket pings
// (gwsTransport). Pongs go through the queue like any frame: counted in
// max_pending_bytes, so a client that pings without reading is dropped as
// a slow consumer instead of growing an unbounded pong queue.
type pongWriter interface {
	WritePong(payload []byte) error
}

// closeRequest closes the connection once the frames queued before it are
// written; done is closed when it has.
type closeRequest struct {
	code   uint16
	reason string
	done   chan struct{}
}

// outbound is a connection's bounded send queue. Enqueue never blocks: the
// hub and the broker's delivery loop hand frames over and move on. A single
// flusher goroutine exists only while frames are pending, so idle
// connections cost no goroutine beyond gws's read loop.
type outbound struct {
	transport Transport
	limit     func() int // max_pending_bytes, read at each enqueue
	onError   func(overflow bool)

	mu       sync.Mutex
	queue    []outFrame
	pending  int
	flushing bool
	closed   bool
}

func newOutbound(t Transport, limit func() int, onError func(overflow bool)) *outbound {
	return &outbound{transport: t, limit: limit, onError: onError}
}

// enqueue adds a frame; it reports false when the connection is closed or
// the backlog would exceed the limit, in which case onError(true) runs.
func (o *outbound) enqueue(f outFrame) bool { return o.enqueueFrames(f) }

// enqueueFrames adds frames in order as one step: all of them, or none
// when the backlog would exceed the limit (onError(true) runs then).
// frames is copied, not kept.
func (o *outbound) enqueueFrames(frames ...outFrame) bool {
	size := 0
	for _, f := range frames {
		size += len(f.data)
	}
	o.mu.Lock()
	if o.closed {
		o.mu.Unlock()
		return false
	}
	if o.pending+size > o.limit() {
		o.closed = true
		o.queue, o.pending = nil, 0
		o.mu.Unlock()
		o.onError(true)
		return false
	}
	o.queue = append(o.queue, frames...)
	o.pending += size
	start := !o.flushing
	o.flushing = true
	o.mu.Unlock()
	if start {
		go o.flush()
	}
	return true
}

// batchWriter is implemented by transports that write several text frames
// with one system call (gwsTransport): a fan-out burst then costs a
// connection one write per batch instead of one per message.
type batchWriter interface {
	WriteTexts(frames [][]byte) error
}

// flush writes queued frames until the queue is empty. shut empties the
// queue, so a hard close ends the loop after the batch in hand, whose
// writes then fail fast on the closing transport.
func (o *outbound) flush() {
	bw, _ := o.transport.(batchWriter)
	var texts [][]byte
	for {
		o.mu.Lock()
		if len(o.queue) == 0 {
			o.flushing = false
			o.pending = 0
			o.mu.Unlock()
			return
		}
		batch := o.queue
		o.queue = nil
		o.mu.Unlock()

		for i := 0; i < len(batch); {
			f := batch[i]
			if f.close != nil {
				o.transport.Close(f.close.code, f.close.reason)
				close(f.close.done)
				o.shut()
				return
			}
			var err error
			n, size := 1, len(f.data)
			switch {
			case f.ping:
				err = o.transport.WritePing()
			case f.pong:
				if pw, ok := o.transport.(pongWriter); ok {
					err = pw.WritePong(f.data)
				}
			case bw != nil:
				texts = texts[:0]
				// A run of text frames only: pings, pongs and the close are
				// control frames written on their own, in queue order.
				for n = 0; i+n < len(batch) && batch[i+n].isText(); n++ {
					texts = append(texts, batch[i+n].data)
				}
				size = 0
				for _, t := range texts {
					size += len(t)
				}
				err = bw.WriteTexts(texts)
				clear(texts)
			default:
				err = o.transport.WriteText(f.data)
			}
			o.mu.Lock()
			o.pending -= size
			o.mu.Unlock()
			if err != nil {
				o.failPending(batch[i+n:])
				o.shut()
				o.onError(false)
				return
			}
			clear(batch[i : i+n])
			i += n
		}
	}
}

// closeAfterPending queues a close behind the pending frames and refuses
// further frames. It returns nil when the queue is already shut; otherwise
// the request's done channel closes once the close has been done.
func (o *outbound) closeAfterPending(code uint16, reason string) *closeRequest {
	o.mu.Lock()
	if o.closed {
		o.mu.Unlock()
		return nil
	}
	req := &closeRequest{code: code, reason: reason, done: make(chan struct{})}
	o.closed = true
	o.queue = append(o.queue, outFrame{close: req})
	start := !o.flushing
	o.flushing = true
	o.mu.Unlock()
	if start {
		go o.flush()
	}
	return req
}

// failPending completes the close requests among frames that will never be
// written, so nobody waits for them.
func (o *outbound) failPending(rest []outFrame) {
	o.mu.Lock()
	rest = append(rest, o.queue...)
	o.mu.Unlock()
	for _, f := range rest {
		if f.close != nil {
			close(f.close.done)
		}
	}
}

// shut drops whatever is queued and refuses further frames.
func (o *outbound) shut() {
	o.mu.Lock()
	o.closed = true
	o.queue, o.pending = nil, 0
	o.mu.Unlock()
}
