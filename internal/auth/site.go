package auth

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"strings"

	"github.com/frankenphp-realtime/realtime/internal/hub"
)

// Site is where a path endpoint runs: the Caddy server that received a
// connection's handshake, named by its listen addresses (stable across
// reloads, unlike the srv0, srv1... names Caddy gives in listener order),
// the Host, and that site's document root (for the existence check of
// *.php endpoints; "" when unknown). SPEC §2: every endpoint call for a
// connection runs through its own site.
type Site struct {
	Server string
	Host   string
	Root   string
	// Remote marks a site rebuilt from another node's key (CallerFromKey):
	// only such a site may be served by a server that merely resembles
	// it; a connection of this node whose server is gone gets no call.
	Remote bool
}

// Caller is a connection's binding for endpoint calls: its site, and what
// the handshake carried that the application needs to recognise the user
// again (the Cookie header, the client address, whether it used TLS).
type Caller struct {
	Site       Site
	Cookie     string
	RemoteAddr string
	TLS        bool
}

var _ hub.Caller = (*Caller)(nil)

// NewCaller captures the binding of a handshake that server (its listen
// addresses, see Site) received, with root the site's document root.
func NewCaller(r *http.Request, server, root string) *Caller {
	return &Caller{
		Site:       Site{Server: server, Host: r.Host, Root: root},
		Cookie:     r.Header.Get("Cookie"),
		RemoteAddr: r.RemoteAddr,
		TLS:        r.TLS != nil,
	}
}

// Key serializes the site only: it travels through the presence store so
// that another node can call the presence endpoint for this node's
// memberships, and credentials must not be copied there.
// The process's boot id ends it, so that CallerFromKey tells this
// process's connections from other nodes' (and from its own before a
// restart).
func (c *Caller) Key() string {
	return c.Site.Server + "\x00" + c.Site.Host + "\x00" + c.Site.Root + "\x00" + bootID
}

// bootID identifies this process in caller keys: an identity fixed at
// start, not state.
var bootID = func() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}()

// CallerFromKey rebuilds the site binding of a Key, without credentials;
// the site is Remote unless this process made the key.
func CallerFromKey(key string) *Caller {
	parts := strings.SplitN(key, "\x00", 4)
	if len(parts) < 3 {
		return &Caller{}
	}
	remote := len(parts) < 4 || parts[3] != bootID
	return &Caller{Site: Site{Server: parts[0], Host: parts[1], Root: parts[2], Remote: remote}}
}

// Local runs a request through a site of this process (the Caddy module
// implements it with the current configuration's servers). ServeLocal
// returns an error when it cannot run it at all (no such server after a
// reload, PHP not started in time).
type Local interface {
	ServeLocal(ctx context.Context, site Site, w http.ResponseWriter, r *http.Request) error
}
