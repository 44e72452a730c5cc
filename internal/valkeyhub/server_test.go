package valkeyhub

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/frankenphp-realtime/realtime/internal/hub"
)

// testServer is a valkey-server this test started on a free loopback
// port. Tests never use a server someone else started.
type testServer struct {
	t    *testing.T
	bin  string
	dir  string
	port int
	addr string

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{} // closed when cmd has exited
	out    *syncBuffer
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startValkey starts a private valkey-server, stopped when the test ends.
func startValkey(t *testing.T) *testServer {
	t.Helper()
	bin, err := exec.LookPath("valkey-server")
	if err != nil {
		t.Fatal("valkey-server is not installed: run scripts/install-valkey.sh (make test does)")
	}
	s := &testServer{t: t, bin: bin, dir: t.TempDir()}
	t.Cleanup(s.kill)
	// Another process may take the free port between Listen and the
	// server's bind: try a few ports.
	for attempt := 0; ; attempt++ {
		s.port = freePort(t)
		s.addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port))
		if err := s.launch(); err == nil {
			return s
		} else if attempt == 4 {
			t.Fatalf("starting valkey-server: %v", err)
		}
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// launch starts the server on s.port and waits until it answers PING.
func (s *testServer) launch() error {
	out := &syncBuffer{}
	cmd := exec.Command(s.bin,
		"--port", strconv.Itoa(s.port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", s.dir,
		"--daemonize", "no", "--loglevel", "warning")
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		return err
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if ping(s.addr) {
			s.mu.Lock()
			s.cmd, s.exited, s.out = cmd, exited, out
			s.mu.Unlock()
			return nil
		}
		select {
		case <-exited:
			return fmt.Errorf("valkey-server exited: %s", out.String())
		default:
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			<-exited
			return fmt.Errorf("valkey-server did not answer on %s within 10s: %s", s.addr, out.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func ping(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return false
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return false
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	return err == nil && strings.HasPrefix(line, "+PONG")
}

// kill stops the server the way a crash would (SIGKILL).
func (s *testServer) kill() {
	s.mu.Lock()
	cmd, exited := s.cmd, s.exited
	s.cmd = nil
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Kill()
	<-exited
}

// restart starts the server again on the same port, with no data.
func (s *testServer) restart() {
	s.t.Helper()
	var err error
	// The port may linger briefly after the kill: retry within a bound.
	deadline := time.Now().Add(10 * time.Second)
	for {
		if err = s.launch(); err == nil {
			return
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("restarting valkey-server on %s: %v", s.addr, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

var nonWord = regexp.MustCompile(`[^A-Za-z0-9]+`)

// testPrefix is unique per test, so that tests sharing a server could not
// see each other either.
func testPrefix(t *testing.T) string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return "test-" + nonWord.ReplaceAllString(t.Name(), "-") + "-" + hex.EncodeToString(b[:])
}

// eventually waits, bounded, for cond.
func eventually(t *testing.T, timeout time.Duration, cond func() bool, format string, args ...any) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for: %s", timeout, fmt.Sprintf(format, args...))
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// recorder is a BrokerHandler remembering what it was handed.
type recorder struct {
	mu   sync.Mutex
	msgs []delivery
}

type delivery struct{ topic, data string }

func (r *recorder) HandleBrokerMessage(topic string, data []byte) {
	r.mu.Lock()
	r.msgs = append(r.msgs, delivery{topic, string(data)})
	r.mu.Unlock()
}

func (r *recorder) on(topic string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, m := range r.msgs {
		if m.topic == topic {
			out = append(out, m.data)
		}
	}
	return out
}

func (r *recorder) all() []delivery {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]delivery(nil), r.msgs...)
}

func (r *recorder) has(topic, data string) bool {
	for _, d := range r.on(topic) {
		if d == data {
			return true
		}
	}
	return false
}

// startBroker returns a running broker ("node") closed when the test ends.
func startBroker(t *testing.T, addr, prefix string) (*Broker, *recorder) {
	t.Helper()
	b, err := NewBroker(addr, prefix, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	if err := b.Run(rec); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	return b, rec
}

func newPresence(t *testing.T, addr, prefix string, ttl time.Duration) *Presence {
	t.Helper()
	p, err := NewPresence(addr, prefix, ttl, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	return p
}

var _ hub.BrokerHandler = (*recorder)(nil)

// testLogger writes to the test's log, so that a failing test shows what
// the broker saw.
func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
}
