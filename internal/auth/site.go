package auth

import (
	"context"
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
func (c *Caller) Key() string {
	return c.Site.Server + "\x00" + c.Site.Host + "\x00" + c.Site.Root
}

// CallerFromKey rebuilds the site binding of a Key, without credentials.
func CallerFromKey(key string) *Caller {
	parts := strings.SplitN(key, "\x00", 3)
	if len(parts) != 3 {
		return &Caller{}
	}
	return &Caller{Site: Site{Server: parts[0], Host: parts[1], Root: parts[2]}}
}

// Local runs a request through a site of this process (the Caddy module
// implements it with the current configuration's servers). ServeLocal
// returns an error when it cannot run it at all (no such server after a
// reload, PHP not started in time).
type Local interface {
	ServeLocal(ctx context.Context, site Site, w http.ResponseWriter, r *http.Request) error
}
