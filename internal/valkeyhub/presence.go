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
	//go:embed lua/presence_refresh.lua
	refreshSource string
	//go:embed lua/presence_remove.lua
	removeSource string
	//go:embed lua/presence_expire.lua
	expireSource string

	addScript     = valkey.NewLuaScript(addSource)
	refreshScript = valkey.NewLuaScript(refreshSource)
	removeScript  = valkey.NewLuaScript(removeSource)
	expireScript  = valkey.NewLuaScript(expireSource)
)

// Presence is the cluster-wide hub.Presence. Each node's memberships live
// in Valkey with an expiry the node pushes back every TTL/3; the per
// channel count of nodes holding a user decides joins and leaves inside
// Lua scripts, so each transition is observed by exactly one caller.
//
// The store remembers what this node added, with its data: the refresh
// loop keeps it alive and, when Valkey lost it (a restart without
// persistence, or an outage longer than the TTL), adds it again. Such a
// re-add that makes a user present again is passed to the OnRejoin
// callback, if set, since no Add call reports it.
//
// No lock is held across a call to Valkey: a refresh only pushes back
// expiries that still exist, and re-adds a lost membership only if this
// node still holds it, so a refresh racing a Remove cannot resurrect it
// (and if a Remove lands between that check and the re-add, the re-add is
// undone without reporting anything).
type Presence struct {
	client valkey.Client
	addr   string
	log    *slog.Logger
	node   string
	ttl    atomic.Int64 // nanoseconds; presence_ttl may change on reload

	expiryKey  string // ZSET member -> expiry
	channelKey string // prefix of the channels' count HASH keys
	dataKey    string // prefix of the channels' data HASH keys

	mu   sync.Mutex
	mine map[hub.Membership][]byte // what this node holds, with its data

	onRejoin atomic.Pointer[func(hub.Membership, []byte)]

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
	if ttl < minTTL {
		return nil, errors.New("valkey: presence TTL must be at least 300ms")
	}
	client, display, err := newClient(address)
	if err != nil {
		return nil, err
	}
	if logger == nil {
		logger = slog.Default()
	}
	keys := presenceKeys(prefix)
	var id [8]byte
	_, _ = rand.Read(id[:])
	p := &Presence{
		client:     client,
		addr:       display,
		log:        logger,
		node:       hex.EncodeToString(id[:]),
		expiryKey:  keys.expiry,
		channelKey: keys.channel,
		dataKey:    keys.data,
		mine:       make(map[hub.Membership][]byte),
		stop:       make(chan struct{}),
		done:       make(chan struct{}),
	}
	p.ttl.Store(int64(ttl))
	go p.refreshLoop()
	return p, nil
}

// minTTL is the shortest TTL: refreshes run every TTL/3.
const minTTL = 300 * time.Millisecond

// SetTTL changes the TTL of this node's memberships from the next refresh
// on (presence_ttl is not part of the pooled backend, SPEC §2).
func (p *Presence) SetTTL(ttl time.Duration) error {
	if ttl < minTTL {
		return errors.New("valkey: presence TTL must be at least 300ms")
	}
	p.ttl.Store(int64(ttl))
	return nil
}

func (p *Presence) currentTTL() time.Duration { return time.Duration(p.ttl.Load()) }

func (p *Presence) ttlArg() string { return strconv.FormatInt(p.currentTTL().Milliseconds(), 10) }

// NodeID identifies this node's memberships in Valkey.
func (p *Presence) NodeID() string { return p.node }

// OnRejoin sets the function told about memberships the refresh had to add
// again and that thereby joined cluster-wide (after Valkey lost them). It
// runs on the refresh goroutine and must not block.
func (p *Presence) OnRejoin(f func(hub.Membership, []byte)) { p.onRejoin.Store(&f) }

func (p *Presence) member(m hub.Membership) string {
	return m.Channel + "\x00" + m.UserID + "\x00" + p.node
}

func (p *Presence) addExec(m hub.Membership, data []byte) valkey.LuaExec {
	return valkey.LuaExec{
		Keys: []string{p.expiryKey, p.channelKey + m.Channel, p.dataKey + m.Channel},
		Args: []string{p.member(m), m.UserID, p.ttlArg(), string(data)},
	}
}

func (p *Presence) removeExec(m hub.Membership) valkey.LuaExec {
	return valkey.LuaExec{
		Keys: []string{p.expiryKey, p.channelKey + m.Channel, p.dataKey + m.Channel},
		Args: []string{p.member(m), m.UserID},
	}
}

// Add records that this node holds m with data; joined reports the
// cluster-wide join. m is remembered even when Valkey cannot be reached:
// the refresh loop adds it once Valkey is back and reports the join
// through OnRejoin (hub.Presence contract).
func (p *Presence) Add(ctx context.Context, m hub.Membership, data []byte) (joined bool, err error) {
	if p.closed.Load() {
		return false, errors.New("valkey: presence closed")
	}
	p.mu.Lock()
	p.mine[m] = data
	p.mu.Unlock()
	ctx, cancel := withOpTimeout(ctx)
	defer cancel()
	e := p.addExec(m, data)
	n, err := addScript.Exec(ctx, p.client, e.Keys, e.Args).AsInt64()
	if err != nil {
		return false, wrapErr("presence add", p.addr, err)
	}
	return n == 1, nil
}

// Remove records that this node no longer holds m; left reports the
// cluster-wide leave, with the membership's data. The membership is
// forgotten even if Valkey cannot be reached: it then expires after the
// TTL, and the node sweeping it reports the leave.
func (p *Presence) Remove(ctx context.Context, m hub.Membership) (left bool, data []byte, err error) {
	p.mu.Lock()
	delete(p.mine, m)
	p.mu.Unlock()
	if p.closed.Load() {
		return false, nil, errors.New("valkey: presence closed")
	}
	ctx, cancel := withOpTimeout(ctx)
	defer cancel()
	return p.remove(ctx, m)
}

func (p *Presence) remove(ctx context.Context, m hub.Membership) (bool, []byte, error) {
	e := p.removeExec(m)
	return parseRemoveReply(removeScript.Exec(ctx, p.client, e.Keys, e.Args), p.addr)
}

// parseRemoveReply reads { 1, data } or { 0 }.
func parseRemoveReply(r valkey.ValkeyResult, addr string) (bool, []byte, error) {
	res, err := r.ToArray()
	if err != nil || len(res) == 0 {
		return false, nil, wrapErr("presence remove", addr, err)
	}
	n, err := res[0].AsInt64()
	if err != nil || n != 1 {
		return false, nil, wrapErr("presence remove", addr, err)
	}
	var data []byte
	if len(res) > 1 {
		s, _ := res[1].ToString()
		data = []byte(s)
	}
	return true, data, nil
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

// Members lists the users present in channel with their data, sorted.
func (p *Presence) Members(ctx context.Context, channel string) ([]hub.Member, error) {
	ctx, cancel := withOpTimeout(ctx)
	defer cancel()
	all, err := p.client.Do(ctx, p.client.B().Hgetall().Key(p.dataKey+channel).Build()).AsStrMap()
	if err != nil {
		return nil, wrapErr("presence members", p.addr, err)
	}
	members := make([]hub.Member, 0, len(all))
	for user, data := range all {
		members = append(members, hub.Member{UserID: user, Data: []byte(data)})
	}
	sort.Slice(members, func(i, j int) bool { return members[i].UserID < members[j].UserID })
	return members, nil
}

// Expire removes memberships whose expiry passed and returns those whose
// user thereby left, with their data: each such leave goes to exactly one
// caller in the cluster.
func (p *Presence) Expire(ctx context.Context) ([]hub.Departure, error) {
	ctx, cancel := withOpTimeout(ctx)
	defer cancel()
	var gone []hub.Departure
	for range expireRounds {
		res, err := expireScript.Exec(ctx, p.client, []string{p.expiryKey}, []string{p.channelKey, p.dataKey, strconv.Itoa(expireBatch)}).ToArray()
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
		for i := 0; i+1 < len(left); i += 2 {
			if m, ok := parseMember(left[i]); ok {
				gone = append(gone, hub.Departure{Membership: m, Data: []byte(left[i+1])})
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
		p.closed.Store(true)
		p.mu.Lock()
		all := make([]hub.Membership, 0, len(p.mine))
		for m := range p.mine {
			all = append(all, m)
		}
		p.mine = make(map[hub.Membership][]byte)
		p.mu.Unlock()
		ctx, cancel := withOpTimeout(context.Background())
		defer cancel()
		for len(all) > 0 && err == nil {
			batch := all[:min(len(all), refreshBatch)]
			all = all[len(batch):]
			execs := make([]valkey.LuaExec, len(batch))
			for i, m := range batch {
				execs[i] = p.removeExec(m)
			}
			for _, r := range removeScript.ExecMulti(ctx, p.client, execs...) {
				if _, _, rerr := parseRemoveReply(r, p.addr); rerr != nil && err == nil {
					err = rerr
				}
			}
		}
		p.client.Close()
	})
	return err
}

// refreshLoop pushes back the expiry of this node's memberships every
// TTL/3, so that two missed refreshes still leave a margin; after a
// failure it retries sooner, so that memberships Valkey lost come back
// soon after it does.
func (p *Presence) refreshLoop() {
	defer close(p.done)
	interval := p.currentTTL() / 3
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
		interval = p.currentTTL() / 3
		bo.max = min(backoffMax, interval)
		timer.Reset(interval)
		if f := p.onRejoin.Load(); f != nil && *f != nil {
			for _, r := range rejoined {
				(*f)(r.Membership, r.Data)
			}
		}
	}
}

// refresh pushes back the expiry of every membership this node holds and
// adds again, with their data, those Valkey lost (returned when that made
// their user present again).
func (p *Presence) refresh() (rejoined []hub.Departure, err error) {
	p.mu.Lock()
	all := make([]hub.Membership, 0, len(p.mine))
	for m := range p.mine {
		all = append(all, m)
	}
	p.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), max(DefaultOpTimeout, p.currentTTL()/3))
	defer cancel()
	if len(all) == 0 {
		// Nothing to refresh, but "refreshed again" must mean Valkey answered.
		return nil, wrapErr("presence refresh", p.addr, p.client.Do(ctx, p.client.B().Ping().Build()).Error())
	}
	for len(all) > 0 {
		batch := all[:min(len(all), refreshBatch)]
		all = all[len(batch):]
		execs := make([]valkey.LuaExec, len(batch))
		for i, m := range batch {
			execs[i] = valkey.LuaExec{Keys: []string{p.expiryKey}, Args: []string{p.member(m), p.ttlArg()}}
		}
		for i, r := range refreshScript.ExecMulti(ctx, p.client, execs...) {
			n, err := r.AsInt64()
			if err != nil {
				return rejoined, wrapErr("presence refresh", p.addr, err)
			}
			if n == 0 {
				if joined, ok, err := p.readd(ctx, batch[i]); err != nil {
					return rejoined, err
				} else if ok {
					rejoined = append(rejoined, joined)
				}
			}
		}
	}
	return rejoined, nil
}

// readd adds back a membership Valkey lost, if this node still holds it.
func (p *Presence) readd(ctx context.Context, m hub.Membership) (hub.Departure, bool, error) {
	p.mu.Lock()
	data, held := p.mine[m]
	p.mu.Unlock()
	if !held {
		return hub.Departure{}, false, nil
	}
	e := p.addExec(m, data)
	n, err := addScript.Exec(ctx, p.client, e.Keys, e.Args).AsInt64()
	if err != nil {
		return hub.Departure{}, false, wrapErr("presence refresh", p.addr, err)
	}
	p.mu.Lock()
	_, stillHeld := p.mine[m]
	p.mu.Unlock()
	if !stillHeld {
		// Removed while being re-added: undo, and report neither.
		_, _, err := p.remove(ctx, m)
		return hub.Departure{}, false, err
	}
	return hub.Departure{Membership: m, Data: data}, n == 1, nil
}
