// Command phpsource decides which Debian source package of PHP the build
// uses, downloads its upstream tarball and verifies it, and checks that a
// fresh machine would still get the same one (the drift check CI runs).
//
// The PHP version is a preference: the preferred version is used while the
// mirror serves it; otherwise the newest version of the series that a
// signed index names and the mirror serves. Every tarball is verified
// against a SHA256 from a signed document: Debian's Sources index (checked
// by apt) or, for a version no index names any more, its .dsc signed by
// the Debian uploader (checked by gpgv against Debian's keyrings).
//
// usage:
//
//	phpsource resolve -prefer VERSION [flags]            print the version a fresh machine gets
//	phpsource fetch   -prefer VERSION -into DIR [flags]  download (or re-verify) its tarball into DIR
//	phpsource check   -prefer VERSION -using VERSION     fail when a fresh machine would not get VERSION
//
// Output of resolve and fetch: one line "DEBIAN_VERSION UPSTREAM_VERSION PATH|-",
// then the trust anchor on stderr. Exit status 1 on any failure, with the reason
// and what to do on stderr.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"time"
)

type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

type options struct {
	series, prefer, using, into, apt, mirror string
	keyrings, fallbacks                      stringList
	timeout                                  time.Duration
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: phpsource resolve|fetch|check -prefer VERSION [flags]")
		os.Exit(2)
	}
	cmd := os.Args[1]
	var o options
	fs := flag.NewFlagSet("phpsource "+cmd, flag.ExitOnError)
	fs.StringVar(&o.series, "series", "8.4", "PHP series (source package php<series>)")
	fs.StringVar(&o.prefer, "prefer", "", "preferred Debian version, e.g. 8.4.24-1~deb13u1")
	fs.StringVar(&o.using, "using", "", "check: the Debian version the build uses")
	fs.StringVar(&o.into, "into", "", "fetch: directory that keeps verified downloads")
	fs.StringVar(&o.apt, "apt", "scripts/debian-apt.sh", "apt wrapper with the private state (its 'mirror' subcommand prints the mirror)")
	fs.StringVar(&o.mirror, "mirror", "", "Debian mirror URL (default: from the apt wrapper)")
	fs.Var(&o.fallbacks, "fallback", "an older Debian version to try through its signed .dsc when nothing indexed is served (repeatable)")
	fs.Var(&o.keyrings, "keyring", "OpenPGP keyring for signed .dsc files (repeatable)")
	fs.DurationVar(&o.timeout, "timeout", 10*time.Minute, "overall deadline")
	_ = fs.Parse(os.Args[2:])
	if len(o.keyrings) == 0 {
		o.keyrings = stringList{"/usr/share/keyrings/debian-keyring.gpg", "/usr/share/keyrings/debian-maintainers.gpg"}
	}

	ctx, cancel := context.WithTimeout(context.Background(), o.timeout)
	defer cancel()
	var err error
	switch cmd {
	case "resolve":
		err = runResolve(ctx, o, false)
	case "fetch":
		err = runResolve(ctx, o, true)
	case "check":
		err = runCheck(ctx, o)
	default:
		err = fmt.Errorf("unknown subcommand %q (resolve, fetch, check)", cmd)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "phpsource:", err)
		os.Exit(1)
	}
}

func newResolver(ctx context.Context, o options) (*Resolver, *HTTPPool, error) {
	if o.prefer == "" {
		return nil, nil, errors.New("-prefer is required")
	}
	mirror := o.mirror
	if mirror == "" {
		out, err := exec.CommandContext(ctx, o.apt, "mirror").Output()
		if err != nil {
			return nil, nil, fmt.Errorf("%s mirror: %w", o.apt, err)
		}
		mirror = strings.TrimSpace(string(out))
	}
	pool := &HTTPPool{Client: &http.Client{Timeout: 5 * time.Minute}}
	return &Resolver{
		Series:    o.series,
		Fallbacks: o.fallbacks,
		Index:     &AptIndex{Apt: []string{o.apt}},
		Dsc:       &GpgvDsc{Mirror: strings.TrimSuffix(mirror, "/"), Keyrings: o.keyrings, Pool: pool},
		Pool:      pool,
	}, pool, nil
}

func runResolve(ctx context.Context, o options, fetch bool) error {
	r, pool, err := newResolver(ctx, o)
	if err != nil {
		return err
	}
	c, attempts, err := r.Resolve(ctx, o.prefer)
	if err != nil {
		return err
	}
	reportFallback(o.prefer, c, attempts)
	path := "-"
	if fetch {
		if o.into == "" {
			return errors.New("fetch needs -into DIR")
		}
		if path, err = pool.Fetch(ctx, c.Orig, o.into, c.Trust); err != nil {
			return err
		}
	}
	fmt.Fprintf(os.Stderr, "==> %s %s: %s verified against %s\n", r.Package(), c.Version, c.Orig.Name, c.Trust)
	fmt.Printf("%s %s %s\n", c.Version, c.Upstream(), path)
	return nil
}

func reportFallback(prefer string, c Candidate, attempts []Attempt) {
	if c.Version == prefer {
		return
	}
	fmt.Fprintf(os.Stderr, "==> the preferred PHP source %s cannot be used; falling back to %s\n", prefer, c.Version)
	for _, a := range attempts {
		fmt.Fprintf(os.Stderr, "    %s: %s\n", a.Version, a.Reason)
	}
}

// runCheck resolves as a fresh machine would today, downloads that tarball
// into a temporary directory and verifies it, and fails when the result is
// not the version in use or not the preferred one.
func runCheck(ctx context.Context, o options) error {
	if o.using == "" {
		return errors.New("check needs -using VERSION (the Debian version of the PHP in use)")
	}
	start := time.Now()
	r, pool, err := newResolver(ctx, o)
	if err != nil {
		return err
	}
	c, attempts, err := r.Resolve(ctx, o.prefer)
	if err != nil {
		return fmt.Errorf("drift: a fresh machine cannot build PHP today.\n%w\nWhat to do: if the mirror is syncing, retry later; otherwise set PHP_PREFERRED in the Makefile to a version the mirror serves (see docs/development.md#php-source)", err)
	}
	tmp, err := os.MkdirTemp("", "phpsource-check-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	if _, err := pool.Fetch(ctx, c.Orig, tmp, c.Trust); err != nil {
		return fmt.Errorf("drift: %s %s is named and served, but its tarball does not verify: %w", r.Package(), c.Version, err)
	}
	var why strings.Builder
	for _, a := range attempts {
		fmt.Fprintf(&why, "\n  %s: %s", a.Version, a.Reason)
	}
	// Debian revisions of one upstream release share the tarball, so the
	// build in use is current when the upstream versions match.
	switch {
	case c.Upstream() != (Candidate{Version: o.using}).Upstream():
		return fmt.Errorf("drift: a fresh machine would build %s %s today, but this build uses %s.%s\nWhat to do: set PHP_PREFERRED := %s in the Makefile and run make (it builds that PHP and keeps the old one cached)",
			r.Package(), c.Version, o.using, why.String(), c.Version)
	case c.Upstream() != (Candidate{Version: o.prefer}).Upstream():
		return fmt.Errorf("drift: the preferred PHP source %s is no longer served; this build and a fresh machine use %s.%s\nWhat to do: set PHP_PREFERRED := %s in the Makefile",
			o.prefer, c.Version, why.String(), c.Version)
	}
	fmt.Fprintf(os.Stderr, "==> PHP source check: %s %s still downloads and verifies against %s (%.1f s)\n",
		r.Package(), c.Version, c.Trust, time.Since(start).Seconds())
	return nil
}
