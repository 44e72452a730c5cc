package main

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"pault.ag/go/debian/version"
)

// File is one file of a Debian source package with the checksum a signed
// document (a Sources index or a .dsc) gives for it.
type File struct {
	Name   string // e.g. php8.4_8.4.24.orig.tar.xz
	URL    string // where the pool serves it
	Size   int64  // bytes
	SHA256 string // lowercase hex
}

// Candidate is one version of the source package, with its upstream
// tarball and where the tarball's checksum comes from.
type Candidate struct {
	Version string // Debian version, e.g. 8.4.24-1~deb13u1
	Orig    File   // the upstream tarball (the only file the build uses)
	Trust   string // what vouches for Orig.SHA256, for logs and errors
}

// Upstream is the upstream part of the Debian version: 8.4.24-1~deb13u1 → 8.4.24.
func (c Candidate) Upstream() string {
	v, err := version.Parse(c.Version)
	if err != nil {
		return c.Version
	}
	return v.Version
}

// ErrNotFound means the mirror does not serve a file (HTTP 404 or 410):
// the archive moved, and the resolver may try another version.
var ErrNotFound = errors.New("not served by the mirror")

// Index lists the versions of a source package named by Debian's signed
// Sources indexes (apt verifies the signatures and index checksums).
type Index interface {
	Versions(ctx context.Context, pkg string) ([]Candidate, error)
}

// SignedDsc fetches the .dsc of one version from the pool and verifies its
// OpenPGP signature against Debian's keyrings: the trust anchor for a
// version no index names any more. It returns ErrNotFound (wrapped) when
// the pool has no such .dsc; any other error is an integrity failure.
type SignedDsc interface {
	Candidate(ctx context.Context, pkg, version string) (Candidate, error)
}

// Pool checks that the mirror serves a file.
type Pool interface {
	// Probe returns nil when f can be downloaded, ErrNotFound (wrapped) when
	// the mirror does not serve it, and another error when it serves
	// something else than f (size mismatch) or cannot be reached.
	Probe(ctx context.Context, f File) error
}

// Attempt records why one candidate was not taken.
type Attempt struct {
	Version string
	Reason  string
}

// Resolver picks the version of PHP's Debian source package to build.
type Resolver struct {
	Series string // PHP series, e.g. "8.4": the source package is php8.4
	// Fallbacks are older versions known to have been published, tried
	// (through their signed .dsc) when neither the preferred version nor
	// any indexed one is served: the pool has no listing to discover them,
	// and after a point release the index names only versions the mirror
	// may not serve yet.
	Fallbacks []string
	Index     Index
	Dsc       SignedDsc
	Pool      Pool
}

// Package is the Debian source package name of the series: php8.4.
func (r *Resolver) Package() string { return "php" + r.Series }

// Resolve returns the preferred version when the mirror serves its
// upstream tarball, else the newest version of the series that a signed
// index names and the mirror serves. Candidates the mirror does not serve
// are skipped and reported in the error when none is left; an integrity
// failure (bad signature, wrong size) stops the resolution at once.
//
// The preferred version is checked against the signed index that names it
// or, when no index names it any more (the pool usually keeps a release
// for a while after the next point release, and the index can name a
// release whose files the mirror does not serve yet), against its signed
// .dsc.
func (r *Resolver) Resolve(ctx context.Context, preferred string) (Candidate, []Attempt, error) {
	if !strings.HasPrefix(preferred, r.Series+".") {
		return Candidate{}, nil, fmt.Errorf("preferred version %s is not in the PHP %s series", preferred, r.Series)
	}
	indexed, err := r.indexed(ctx)
	if err != nil {
		return Candidate{}, nil, err
	}

	var attempts []Attempt
	try := func(c Candidate) (bool, error) {
		err := r.Pool.Probe(ctx, c.Orig)
		if err == nil {
			return true, nil
		}
		if errors.Is(err, ErrNotFound) {
			attempts = append(attempts, Attempt{c.Version, fmt.Sprintf("%s: %v", c.Orig.URL, err)})
			return false, nil
		}
		return false, fmt.Errorf("%s %s: %w", r.Package(), c.Version, err)
	}

	pref, ok := findVersion(indexed, preferred)
	if !ok {
		pref, err = r.Dsc.Candidate(ctx, r.Package(), preferred)
		if err != nil && !errors.Is(err, ErrNotFound) {
			return Candidate{}, attempts, fmt.Errorf("%s %s: %w", r.Package(), preferred, err)
		}
		if err != nil {
			attempts = append(attempts, Attempt{preferred, "no signed index names it, and " + err.Error()})
		}
		ok = err == nil
	}
	if ok {
		if found, err := try(pref); err != nil || found {
			return pref, attempts, err
		}
	}
	for _, c := range indexed {
		if c.Version == preferred {
			continue
		}
		if found, err := try(c); err != nil || found {
			return c, attempts, err
		}
	}
	for _, v := range r.Fallbacks {
		if _, named := findVersion(indexed, v); named || v == preferred || !strings.HasPrefix(v, r.Series+".") {
			continue
		}
		c, err := r.Dsc.Candidate(ctx, r.Package(), v)
		if errors.Is(err, ErrNotFound) {
			attempts = append(attempts, Attempt{v, "known fallback: " + err.Error()})
			continue
		}
		if err != nil {
			return Candidate{}, attempts, fmt.Errorf("%s %s: %w", r.Package(), v, err)
		}
		if found, err := try(c); err != nil || found {
			return c, attempts, err
		}
	}
	return Candidate{}, attempts, &NoSourceError{Package: r.Package(), Attempts: attempts}
}

// indexed returns the series' versions named by the signed indexes, newest first,
// each version once.
func (r *Resolver) indexed(ctx context.Context) ([]Candidate, error) {
	all, err := r.Index.Versions(ctx, r.Package())
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var out []Candidate
	for _, c := range all {
		if seen[c.Version] || !strings.HasPrefix(c.Version, r.Series+".") {
			continue
		}
		seen[c.Version] = true
		out = append(out, c)
	}
	sort.SliceStable(out, func(i, j int) bool { return compareVersions(out[i].Version, out[j].Version) > 0 })
	return out, nil
}

func findVersion(cs []Candidate, v string) (Candidate, bool) {
	for _, c := range cs {
		if c.Version == v {
			return c, true
		}
	}
	return Candidate{}, false
}

// compareVersions orders Debian versions as dpkg does; unparsable ones sort last.
func compareVersions(a, b string) int {
	va, errA := version.Parse(a)
	vb, errB := version.Parse(b)
	switch {
	case errA != nil && errB != nil:
		return strings.Compare(a, b)
	case errA != nil:
		return -1
	case errB != nil:
		return 1
	}
	return version.Compare(va, vb)
}

// NoSourceError says that no version of the series can be downloaded, and why.
type NoSourceError struct {
	Package  string
	Attempts []Attempt
}

func (e *NoSourceError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "no version of %s can be downloaded and verified from the mirror; tried:", e.Package)
	for _, a := range e.Attempts {
		fmt.Fprintf(&b, "\n  %s: %s", a.Version, a.Reason)
	}
	if len(e.Attempts) == 0 {
		b.WriteString(" nothing (no signed index names the series, and no preferred version is set)")
	}
	return b.String()
}
