package hub

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"
)

// frameLog is a transport that records what is written, in order.
type frameLog struct {
	mu     sync.Mutex
	writes []string
}

func (l *frameLog) add(s string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.writes = append(l.writes, s)
}
func (l *frameLog) WriteText(d []byte) error { l.add("text " + string(d)); return nil }
func (l *frameLog) WriteTexts(fs [][]byte) error {
	for _, f := range fs {
		l.add("text " + string(f))
	}
	return nil
}
func (l *frameLog) WritePing() error            { l.add("ping"); return nil }
func (l *frameLog) WritePong(p []byte) error    { l.add("pong " + string(p)); return nil }
func (l *frameLog) Close(code uint16, _ string) { l.add(fmt.Sprint("close ", code)) }

// A batch mixing text frames with a ping, a pong and a close writes each
// control frame as itself, in queue order: a pong queued behind a message
// must not go out inside the text run (it did, as a text frame carrying
// the ping's payload).
func TestOutboundWritesControlFramesApartFromTextRuns(t *testing.T) {
	l := &frameLog{}
	o := newOutbound(l, func() int { return 1 << 20 }, func(bool) {})
	o.enqueueFrames(
		outFrame{data: []byte("a")}, outFrame{pong: true, data: []byte("p1")},
		outFrame{data: []byte("b")}, outFrame{data: []byte("c")}, outFrame{ping: true},
		outFrame{data: []byte("d")}, outFrame{pong: true, data: []byte("p2")},
	)
	req := o.closeAfterPending(4001, "bye")
	select {
	case <-req.done:
	case <-time.After(5 * time.Second):
		t.Fatal("the close was never written")
	}
	want := []string{"text a", "pong p1", "text b", "text c", "ping", "text d", "pong p2", "close 4001"}
	l.mu.Lock()
	defer l.mu.Unlock()
	if !slices.Equal(l.writes, want) {
		t.Fatalf("writes = %q\nwant     %q", l.writes, want)
	}
}
