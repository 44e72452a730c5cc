package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
)

// HTTPPool talks to the Debian mirror's pool over HTTP.
type HTTPPool struct {
	Client *http.Client
}

var _ Pool = (*HTTPPool)(nil)

// Probe sends a HEAD request: the file is served when the answer is 200
// with the size the signed document gives.
func (p *HTTPPool) Probe(ctx context.Context, f File) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodHead, f.URL, nil)
	if err != nil {
		return err
	}
	resp, err := p.Client.Do(req)
	if err != nil {
		return fmt.Errorf("mirror unreachable: %w", err)
	}
	resp.Body.Close()
	if err := statusError(resp); err != nil {
		return err
	}
	if resp.ContentLength >= 0 && resp.ContentLength != f.Size {
		return fmt.Errorf("%s: the mirror serves %d bytes, the signed checksum list says %d", f.URL, resp.ContentLength, f.Size)
	}
	return nil
}

func statusError(resp *http.Response) error {
	switch {
	case resp.StatusCode == http.StatusOK:
		return nil
	case resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusGone:
		return fmt.Errorf("HTTP %d: %w", resp.StatusCode, ErrNotFound)
	default:
		return fmt.Errorf("%s: HTTP %d", resp.Request.URL, resp.StatusCode)
	}
}

// get downloads url into memory, for small files (.dsc).
func (p *HTTPPool) get(ctx context.Context, url string, limit int64) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := p.Client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("mirror unreachable: %w", err)
	}
	defer resp.Body.Close()
	if err := statusError(resp); err != nil {
		return nil, err
	}
	return io.ReadAll(io.LimitReader(resp.Body, limit))
}

// Fetch makes dir/f.Name hold f, verified: a file already there is checked
// and kept, never replaced (a mismatch is reported, so a corrupted or
// tampered cache is noticed rather than papered over); a missing one is
// downloaded to a temporary name, checked, then renamed into place, so
// concurrent runs and interrupted downloads never leave a partial file
// under the final name. Returns the file's path.
func (p *HTTPPool) Fetch(ctx context.Context, f File, dir string, trust string) (string, error) {
	path := filepath.Join(dir, f.Name)
	if _, err := os.Stat(path); err == nil {
		if err := VerifyFile(path, f); err != nil {
			return "", fmt.Errorf("%w; it does not match %s: delete it to download it again", err, trust)
		}
		return path, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	tmp, err := os.CreateTemp(dir, "."+f.Name+".*")
	if err != nil {
		return "", err
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()

	req, err := http.NewRequestWithContext(ctx, http.MethodGet, f.URL, nil)
	if err != nil {
		return "", err
	}
	resp, err := p.Client.Do(req)
	if err != nil {
		return "", fmt.Errorf("mirror unreachable: %w", err)
	}
	defer resp.Body.Close()
	if err := statusError(resp); err != nil {
		return "", fmt.Errorf("%s: %w", f.URL, err)
	}
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(tmp, h), io.LimitReader(resp.Body, f.Size+1))
	if err != nil {
		return "", fmt.Errorf("downloading %s: %w", f.URL, err)
	}
	if err := checkDigest(f, n, h.Sum(nil), "downloaded "+f.URL); err != nil {
		return "", fmt.Errorf("%w (checksum from %s); nothing was kept", err, trust)
	}
	if err := tmp.Close(); err != nil {
		return "", err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return "", err
	}
	return path, nil
}

// VerifyFile checks a file on disk against f's size and SHA256.
func VerifyFile(path string, f File) error {
	fh, err := os.Open(path)
	if err != nil {
		return err
	}
	defer fh.Close()
	h := sha256.New()
	n, err := io.Copy(h, fh)
	if err != nil {
		return fmt.Errorf("reading %s: %w", path, err)
	}
	return checkDigest(f, n, h.Sum(nil), path)
}

// ErrChecksum means a file's content is not what the signed document says.
var ErrChecksum = errors.New("checksum mismatch")

func checkDigest(f File, size int64, sum []byte, what string) error {
	got := hex.EncodeToString(sum)
	if size != f.Size || got != f.SHA256 {
		return fmt.Errorf("%w: %s has %d bytes with SHA256 %s, expected %d bytes with SHA256 %s",
			ErrChecksum, what, size, got, f.Size, f.SHA256)
	}
	return nil
}
