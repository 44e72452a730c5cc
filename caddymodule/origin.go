package caddymodule

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// checkOrigin validates one allowed_origins entry: "*" or scheme://host[:port].
func checkOrigin(origin string) error {
	if origin == "*" {
		return nil
	}
	u, err := url.Parse(origin)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") {
		return fmt.Errorf("%q is not an origin: use scheme://host[:port], e.g. https://app.example.com, or *", origin)
	}
	if strings.Contains(u.Host, "*") {
		// Compared literally, a pattern would match no browser's Origin.
		return fmt.Errorf("%q: wildcards in origins are not supported; list each origin (https://a.example.com https://b.example.com), or use * for any", origin)
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return fmt.Errorf("%q: port %s is not 1-65535", origin, p)
		}
	}
	return nil
}

// originAllowed applies SPEC §2: no Origin header (not a browser) is allowed;
// with allowed_origins set only those match; otherwise the Origin's
// host:port must equal the request's Host.
func originAllowed(r *http.Request, allowed []string) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	if len(allowed) > 0 {
		o := strings.TrimSuffix(strings.ToLower(origin), "/")
		for _, a := range allowed {
			if a == "*" || strings.TrimSuffix(strings.ToLower(a), "/") == o {
				return true
			}
		}
		return false
	}
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return false
	}
	// Browsers and HTTP clients both omit default ports, so host:port as
	// written compares equal without knowing the scheme, also behind a
	// TLS-terminating proxy.
	return strings.EqualFold(u.Host, r.Host)
}
