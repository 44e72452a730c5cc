package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"strconv"
	"strings"

	"pault.ag/go/debian/control"
)

// GpgvDsc fetches a .dsc from the mirror's pool and checks its OpenPGP
// signature with gpgv against Debian's developer keyrings (the
// debian-keyring package, itself installed by apt from a signed index), as
// dscverify does. Only the signed text is read afterwards.
type GpgvDsc struct {
	Mirror   string   // e.g. http://deb.debian.org/debian (from the machine's apt configuration)
	Keyrings []string // e.g. /usr/share/keyrings/debian-keyring.gpg
	Pool     *HTTPPool
}

var _ SignedDsc = (*GpgvDsc)(nil)

// Candidate returns ErrNotFound (wrapped) when the pool has no such .dsc.
func (g *GpgvDsc) Candidate(ctx context.Context, pkg, version string) (Candidate, error) {
	dir := g.Mirror + "/" + poolDir(pkg)
	dscURL := dir + "/" + url.PathEscape(pkg+"_"+stripEpoch(version)+".dsc")
	raw, err := g.Pool.get(ctx, dscURL, 1<<20)
	if err != nil {
		return Candidate{}, fmt.Errorf("its .dsc %s: %w", dscURL, err)
	}
	signed, signer, err := g.verify(ctx, raw)
	if err != nil {
		return Candidate{}, fmt.Errorf("%s: %w", dscURL, err)
	}
	return candidateFromDsc(signed, pkg, version, dir, "the .dsc signed by "+signer)
}

// verify runs gpgv and returns the signed text and the signer's user id.
func (g *GpgvDsc) verify(ctx context.Context, raw []byte) ([]byte, string, error) {
	for _, k := range g.Keyrings {
		if _, err := os.Stat(k); err != nil {
			return nil, "", fmt.Errorf("keyring %s is missing (install the debian-keyring package): %w", k, err)
		}
	}
	// The signed text comes out on stdout, status lines on stderr.
	args := []string{"--status-fd", "2", "--output", "-"}
	for _, k := range g.Keyrings {
		args = append(args, "--keyring", k)
	}
	args = append(args, "-")
	cmd := exec.CommandContext(ctx, "gpgv", args...)
	cmd.Stdin = bytes.NewReader(raw)
	var signed, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &signed, &stderr
	runErr := cmd.Run()
	signer := goodSigner(stderr.String())
	if runErr != nil || signer == "" {
		return nil, "", fmt.Errorf("the OpenPGP signature does not verify against %s: %s",
			strings.Join(g.Keyrings, ", "), humanLines(stderr.String()))
	}
	return signed.Bytes(), signer, nil
}

// humanLines drops gpgv's machine-readable status lines.
func humanLines(s string) string {
	var keep []string
	for _, line := range strings.Split(strings.TrimSpace(s), "\n") {
		if !strings.HasPrefix(line, "[GNUPG:]") {
			keep = append(keep, line)
		}
	}
	return strings.Join(keep, "; ")
}

// goodSigner returns the user id of a GOODSIG status line: a valid
// signature by an unexpired, unrevoked key of the keyring.
func goodSigner(status string) string {
	for _, line := range strings.Split(status, "\n") {
		if rest, ok := strings.CutPrefix(line, "[GNUPG:] GOODSIG "); ok {
			if _, uid, ok := strings.Cut(rest, " "); ok {
				return uid
			}
		}
	}
	return ""
}

// candidateFromDsc reads a verified .dsc: its Source and Version must be
// the ones asked for (a validly signed .dsc of another upload must not
// stand in), and its Checksums-Sha256 must list the upstream tarball.
func candidateFromDsc(signed []byte, pkg, version, dir, trust string) (Candidate, error) {
	r, err := control.NewParagraphReader(bytes.NewReader(signed), nil)
	if err != nil {
		return Candidate{}, err
	}
	p, err := r.Next()
	if err != nil {
		return Candidate{}, fmt.Errorf("signed .dsc: %w", err)
	}
	if src, ver := p.Values["Source"], p.Values["Version"]; src != pkg || ver != version {
		return Candidate{}, fmt.Errorf("signed .dsc is for %s %s, not %s %s", src, ver, pkg, version)
	}
	files, err := parseChecksums(p.Values["Checksums-Sha256"])
	if err != nil {
		return Candidate{}, fmt.Errorf("signed .dsc: %w", err)
	}
	for _, f := range files {
		if isOrigTarball(f.Name) {
			f.URL = dir + "/" + url.PathEscape(f.Name)
			return Candidate{Version: version, Orig: f, Trust: trust}, nil
		}
	}
	return Candidate{}, fmt.Errorf("signed .dsc of %s %s lists no upstream tarball", pkg, version)
}

// parseChecksums reads "<sha256> <size> <name>" lines.
func parseChecksums(field string) ([]File, error) {
	var files []File
	sc := bufio.NewScanner(strings.NewReader(field))
	for sc.Scan() {
		parts := strings.Fields(sc.Text())
		if len(parts) == 0 {
			continue
		}
		if len(parts) != 3 || len(parts[0]) != 64 {
			return nil, fmt.Errorf("bad Checksums-Sha256 line %q", sc.Text())
		}
		size, err := strconv.ParseInt(parts[1], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("bad size in Checksums-Sha256 line %q", sc.Text())
		}
		files = append(files, File{Name: parts[2], Size: size, SHA256: strings.ToLower(parts[0])})
	}
	return files, sc.Err()
}

// isOrigTarball matches php8.4_8.4.24.orig.tar.xz but not its .asc signature
// nor component tarballs (orig-foo.tar.xz).
func isOrigTarball(name string) bool {
	_, ext, ok := strings.Cut(name, ".orig.tar.")
	return ok && !strings.Contains(ext, ".")
}

// poolDir is the pool directory of a source package in the main component.
func poolDir(pkg string) string {
	prefix := pkg[:1]
	if strings.HasPrefix(pkg, "lib") && len(pkg) > 3 {
		prefix = pkg[:4]
	}
	return "pool/main/" + prefix + "/" + pkg
}

func stripEpoch(v string) string {
	if _, rest, ok := strings.Cut(v, ":"); ok {
		return rest
	}
	return v
}
