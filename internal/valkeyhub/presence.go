package valkeyhub

import (
	"context"
	"crypto/rand"
	_ "embed"
	"encoding/hex"
	"errors"
	"log/slog"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valkey-io/valkey-go"

	"github.com/frankenphp-realtime/realtime/internal/hub"
)

// DefaultPresenceTTL is presence_ttl's default (SPEC §2).
const DefaultPresenceTTL = 30 * time.Second

// Batch sizes: pipelined refreshes and removals, and memberships one
// Expire script call removes (it blocks Valkey while it runs).
const (
	refreshBatch = 1000
	expireBatch  = 500
	expireRounds = 20
)

var (
	//go:embed lua/presence_add.lua
	addSource string
	//go:embed lua/presence_remove.lua
	removeSource string
	//go:embed lua/presence_expire.lua
	expireSource string

	addScript    = valkey.NewLuaScript(addSource)
	removeScript = valkey.NewLuaScript(removeSource)
	expireScript = valkey.NewLuaScript(expireSource)
)

// Presence is the cluster-wide hub.Presence. Each node's memberships live
// in Valkey with an expiry the node pushes back every TTL/3; the per
// channel count of nodes holding a user decides joins and leaves inside
// Lua scripts, so each transition is observed by exactly one caller.
//
// The store remembers what this node added: the refresh loop keeps it
// alive and, when Valkey lost it (a restart without persistence, or an
// outage longer than the TTL), adds it again. Such a re-add that makes a
// user present again is passed to the OnRejoin callback, if set, since no
// Add call reports it.
type Presence struct {
	client valkey.Client
	addr   string
	log    *slog.Logger
	node   string
	ttl    time.Duration
	ttlArg string

	expiryKey  string // ZSET member -> expiry
	channelKey string // prefix of the channels' HASH keys

	// opMu is held for writing by a refresh, for reading by Add and
	// Remove: a refresh in flight never re-adds what Remove just removed.
	opMu sync.RWMutex
	mu   sync.Mutex
	mine map[hub.Membership]struct{}

	onRejoin atomic.Pointer[func(hub.Membership)]

	closeOnce sync.Once
	closed    atomic.Bool
	stop      chan struct{}
	done      chan struct{}
}

var _ hub.Presence = (*Presence)(nil)

// NewPresence returns the presence store of one node on the Valkey server
// at address, under prefix; memberships of a node that stops refreshing
// expire after ttl (0: DefaultPresenceTTL). It fails only on a bad address,
// prefix or ttl. Close it to remove this node's memberships.
func NewPresence(address, prefix string, ttl time.Duration, logger *slog.Logger) (*Presence, error) {
	if err := checkPrefix(prefix); err != nil {
		return nil, err
	}
	if ttl == 0 {
		ttl = DefaultPresenceTTL
	}
	if ttl < 300*time.Millisecond {
		return nil, errors.New("valkey: presence TTL must be at least 300ms")
	}
	client, display, err := newClient(address)
	if err != nil {
		return nil, err
	}
	if logger == nil {
		logger = slog.Default()
	}
	expiryKey, channelKey := presenceKeys(prefix)
	var id [8]byte
	_, _ = rand.Read(id[:])
	p := &Presence{
		client:     client,
		addr:       display,
		log:        logger,
		node:       hex.EncodeToString(id[:]),
		ttl:        ttl,
		ttlArg:     strconv.FormatInt(ttl.Milliseconds(), 10),
		expiryKey:  expiryKey,
		channelKey: channelKey,
		mine:       make(map[hub.Membership]struct{}),
		stop:       make(chan struct{}),
		done:       make(chan struct{}),
	}
	go p.refreshLoop()
	return p, nil
}

// NodeID identifies this node's memberships in Valkey.
func (p *Presence) NodeID() string { return p.node }

// OnRejoin sets the function told about memberships the refresh had to add
// again and that thereby joined cluster-wide (after Valkey lost them). It
// runs on the refresh goroutine and must not block.
func (p *Presence) OnRejoin(f func(hub.Membership)) { p.onRejoin.Store(&f) }

func (p *Presence) member(m hub.Membership) string {
	return m.Channel + "\x00" + m.UserID + "\x00" + p.node
}

func (p *Presence) addExec(m hub.Membership) valkey.LuaExec {
	return valkey.LuaExec{
		Keys: []string{p.expiryKey, p.channelKey + m.Channel},
		Args: []string{p.member(m), m.UserID, p.ttlArg},
	}
}

func (p *Presence) removeExec(m hub.Membership) valkey.LuaExec {
	return valkey.LuaExec{
		Keys: []string{p.expiryKey, p.channelKey + m.Channel},
		Args: []string{p.member(m), m.UserID},
	}
}

// Add records that this node holds m; joined reports the cluster-wide
// join. m is remembered even when Valkey cannot be reached: the refresh
// loop adds it once Valkey is back and reports the join through OnRejoin
// (hub.Presence contract).
func (p *Presence) Add(ctx context.Context, m hub.Membership) (joined bool, err error) {
	p.opMu.RLock()
	defer p.opMu.RUnlock()
	if p.closed.Load() {
		return false, errors.New("valkey: presence closed")
	}
	p.mu.Lock()
	p.mine[m] = struct{}{}
	p.mu.Unlock()
	ctx, cancel := withOpTimeout(ctx)
	defer cancel()
	e := p.addExec(m)
	n, err := addScript.Exec(ctx, p.client, e.Keys, e.Args).AsInt64()
	if err != nil {
		return false, wrapErr("presence add", p.addr, err)
	}
	return n == 1, nil
}

// Remove records that this node no longer holds m; left reports the
// cluster-wide leave. The membership is forgotten even if Valkey cannot
// be reached: it then expires after the TTL, and the node sweeping it
// reports the leave.
func (p *Presence) Remove(ctx context.Context, m hub.Membership) (left bool, err error) {
	p.opMu.RLock()
	defer p.opMu.RUnlock()
	p.mu.Lock()
	delete(p.mine, m)
	p.mu.Unlock()
	if p.closed.Load() {
		return false, errors.New("valkey: presence closed")
	}
	ctx, cancel := withOpTimeout(ctx)
	defer cancel()
	e := p.removeExec(m)
	n, err := removeScript.Exec(ctx, p.client, e.Keys, e.Args).AsInt64()
	if err != nil {
		return false, wrapErr("presence remove", p.addr, err)
	}
	return n == 1, nil
}

// Users lists the users present in channel on any node, sorted. Users of
// a crashed node stay listed until a sweep (Expire) removes them.
func (p *Presence) Users(ctx context.Context, channel string) ([]string, error) {
	return channelUsers(ctx, p.client, p.addr, p.channelKey, channel)
}

func channelUsers(ctx context.Context, client valkey.Client, addr, channelKey, channel string) ([]string, error) {
	ctx, cancel := withOpTimeout(ctx)
	defer cancel()
	users, err := client.Do(ctx, client.B().Hkeys().Key(channelKey+channel).Build()).AsStrSlice()
	if err != nil {
		return nil, wrapErr("presence users", addr, err)
	}
	sort.Strings(users)
	return users, nil
}

// Expire removes memberships whose expiry passed and returns those whose
// user thereby left: each such leave goes to exactly one caller in the
// cluster.
func (p *Presence) Expire(ctx context.Context) ([]hub.Membership, error) {
	ctx, cancel := withOpTimeout(ctx)
	defer cancel()
	var gone []hub.Membership
	for range expireRounds {
		res, err := expireScript.Exec(ctx, p.client, []string{p.expiryKey}, []string{p.channelKey, strconv.Itoa(expireBatch)}).ToArray()
		if err != nil {
			return gone, wrapErr("presence expire", p.addr, err)
		}
		if len(res) != 2 {
			return gone, errors.New("valkey: presence expire: unexpected reply")
		}
		removed, err := res[0].AsInt64()
		if err != nil {
			return gone, wrapErr("presence expire", p.addr, err)
		}
		left, err := res[1].AsStrSlice()
		if err != nil {
			return gone, wrapErr("presence expire", p.addr, err)
		}
		for _, member := range left {
			if m, ok := parseMember(member); ok {
				gone = append(gone, m)
			}
		}
		if removed < expireBatch {
			break
		}
	}
	return gone, nil
}

// parseMember splits "<channel>\0<user>\0<node>".
func parseMember(member string) (hub.Membership, bool) {
	channel, rest, ok := strings.Cut(member, "\x00")
	if !ok {
		return hub.Membership{}, false
	}
	i := strings.LastIndexByte(rest, 0)
	if i < 0 {
		return hub.Membership{}, false
	}
	return hub.Membership{Channel: channel, UserID: rest[:i]}, true
}

// Close stops the refresh loop, removes this node's memberships (without
// reporting leaves: the hub removes them one by one first) and closes the
// connection.
func (p *Presence) Close() error {
	var err error
	p.closeOnce.Do(func() {
		close(p.stop)
		<-p.done
		p.opMu.Lock()
		p.closed.Store(true)
		all := p.snapshot()
		p.mine = make(map[hub.Membership]struct{})
		p.opMu.Unlock()
		ctx, cancel := withOpTimeout(context.Background())
		defer cancel()
		err = p.execAll(ctx, removeScript, all, p.removeExec, "presence remove", nil)
		p.client.Close()
	})
	return err
}

func (p *Presence) snapshot() []hub.Membership {
	p.mu.Lock()
	defer p.mu.Unlock()
	all := make([]hub.Membership, 0, len(p.mine))
	for m := range p.mine {
		all = append(all, m)
	}
	return all
}

// execAll runs script for every membership, pipelined in batches, and
// calls each (if not nil) with the memberships whose reply was 1.
func (p *Presence) execAll(ctx context.Context, script *valkey.Lua, all []hub.Membership, exec func(hub.Membership) valkey.LuaExec, op string, each func(hub.Membership)) error {
	for len(all) > 0 {
		batch := all[:min(len(all), refreshBatch)]
		all = all[len(batch):]
		execs := make([]valkey.LuaExec, len(batch))
		for i, m := range batch {
			execs[i] = exec(m)
		}
		for i, r := range script.ExecMulti(ctx, p.client, execs...) {
			n, err := r.AsInt64()
			if err != nil {
				return wrapErr(op, p.addr, err)
			}
			if n == 1 && each != nil {
				each(batch[i])
			}
		}
	}
	return nil
}

// refreshLoop pushes back the expiry of this node's memberships every
// TTL/3, so that two missed refreshes still leave a margin; after a
// failure it retries sooner, so that memberships Valkey lost come back
// soon after it does.
func (p *Presence) refreshLoop() {
	defer close(p.done)
	interval := p.ttl / 3
	bo := backoff{min: backoffMin, max: min(backoffMax, interval)}
	timer := time.NewTimer(interval)
	defer timer.Stop()
	failing := false
	for {
		select {
		case <-p.stop:
			return
		case <-timer.C:
		}
		rejoined, err := p.refresh()
		switch {
		case err != nil:
			if !failing {
				p.log.Warn("realtime: presence refresh failed, retrying", slog.String("address", p.addr), slog.Any("error", err))
			}
			failing = true
			timer.Reset(bo.next())
			continue
		case failing:
			p.log.Info("realtime: presence refreshed again", slog.String("address", p.addr), slog.Int("rejoined", len(rejoined)))
		}
		failing = false
		bo.reset()
		timer.Reset(interval)
		if f := p.onRejoin.Load(); f != nil && *f != nil {
			for _, m := range rejoined {
				(*f)(m)
			}
		}
	}
}

// refresh re-adds every membership of this node: an existing one gets a
// later expiry, a lost one is added again (returned when that made its
// user present again).
func (p *Presence) refresh() (rejoined []hub.Membership, err error) {
	p.opMu.Lock()
	defer p.opMu.Unlock()
	all := p.snapshot()
	if len(all) == 0 {
		return nil, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), max(DefaultOpTimeout, p.ttl/3))
	defer cancel()
	err = p.execAll(ctx, addScript, all, p.addExec, "presence refresh", func(m hub.Membership) {
		rejoined = append(rejoined, m)
	})
	return rejoined, err
}
