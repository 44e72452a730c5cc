package valkeyhub

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"

	"github.com/valkey-io/valkey-go"
)

const defaultPort = "6379"

// urlQueryOptions are the URL query parameters accepted (valkey-go
// interprets them); anything else is a typo worth an error.
var urlQueryOptions = map[string]bool{
	"db":            true,
	"dial_timeout":  true,
	"write_timeout": true,
	"skip_verify":   true,
	"client_name":   true,
	"protocol":      true,
}

// ParseAddress turns a valkey_address (SPEC §2) into client options and
// the host:port to show in messages (without credentials). Accepted forms:
//
//	host:port                              (host alone: port 6379)
//	valkey://[user:password@]host[:port][/db][?dial_timeout=1s...]
//	redis://...                            same as valkey://
//	rediss://... and valkeys://...         TLS
func ParseAddress(address string) (opt valkey.ClientOption, display string, err error) {
	address = strings.TrimSpace(address)
	if address == "" {
		return opt, "", errors.New("valkey: address is empty")
	}
	if strings.Contains(address, "://") {
		return parseURL(address)
	}
	host, port, err := splitHostPort(address)
	if err != nil {
		return opt, "", fmt.Errorf("valkey: address %q: %w", address, err)
	}
	display = net.JoinHostPort(host, port)
	opt.InitAddress = []string{display}
	return opt, display, nil
}

func parseURL(address string) (opt valkey.ClientOption, display string, err error) {
	u, err := url.Parse(address)
	if err != nil {
		// url.Parse quotes the whole input, password included.
		return opt, "", errors.New("valkey: address is not a valid URL (check the escaping of the user and password)")
	}
	shown := u.Redacted()
	switch strings.ToLower(u.Scheme) {
	case "valkey", "redis", "rediss", "valkeys":
	default:
		return opt, "", fmt.Errorf("valkey: address %q: unsupported scheme %q: use valkey://, redis://, rediss:// (TLS) or valkeys:// (TLS)", shown, u.Scheme)
	}
	u.Scheme = strings.ToLower(u.Scheme)
	if u.Opaque != "" || u.Host == "" {
		return opt, "", fmt.Errorf("valkey: address %q: missing host", shown)
	}
	host, port, err := splitHostPort(u.Host)
	if err != nil {
		return opt, "", fmt.Errorf("valkey: address %q: %w", shown, err)
	}
	if p := strings.TrimPrefix(u.Path, "/"); p != "" {
		if db, err := strconv.Atoi(p); err != nil || db < 0 {
			return opt, "", fmt.Errorf("valkey: address %q: invalid database %q: want a number such as /0", shown, p)
		}
	}
	for key := range u.Query() {
		if !urlQueryOptions[key] {
			return opt, "", fmt.Errorf("valkey: address %q: unknown option %q", shown, key)
		}
	}
	u.Host = net.JoinHostPort(host, port)
	if opt, err = valkey.ParseURL(u.String()); err != nil {
		// valkey-go's messages name the bad value, never the password.
		return opt, "", fmt.Errorf("valkey: address %q: %s", shown, strings.TrimPrefix(err.Error(), "valkey: "))
	}
	return opt, u.Host, nil
}

// splitHostPort accepts host:port, [ipv6]:port and a host alone.
func splitHostPort(hostport string) (host, port string, err error) {
	host, port, err = net.SplitHostPort(hostport)
	if err != nil {
		var ae *net.AddrError
		if errors.As(err, &ae) && ae.Err == "missing port in address" {
			host, port = strings.TrimSuffix(strings.TrimPrefix(hostport, "["), "]"), defaultPort
		} else {
			return "", "", fmt.Errorf("invalid host:port %q", hostport)
		}
	}
	if host == "" {
		return "", "", errors.New("missing host")
	}
	if strings.ContainsAny(host, " /?#@") {
		return "", "", fmt.Errorf("invalid host %q", host)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return "", "", fmt.Errorf("invalid port %q: want 1-65535", port)
	}
	return host, port, nil
}
