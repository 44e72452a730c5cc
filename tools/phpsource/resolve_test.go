package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// fakeOrig is the content of a fake upstream tarball (the signed testdata
// .dsc files list these checksums).
func fakeOrig(upstream string) []byte {
	return []byte("fake php " + upstream + " upstream tarball\n")
}

func origFile(mirror, upstream string) File {
	b := fakeOrig(upstream)
	sum := sha256.Sum256(b)
	name := "php8.4_" + upstream + ".orig.tar.xz"
	return File{Name: name, URL: mirror + "/pool/main/p/php8.4/" + name, Size: int64(len(b)), SHA256: hex.EncodeToString(sum[:])}
}

// fakeMirror serves the pool: the orig tarballs of the given upstream
// versions and every .dsc under testdata/.
func fakeMirror(t *testing.T, served ...string) *httptest.Server {
	t.Helper()
	files := map[string][]byte{}
	for _, v := range served {
		files["/pool/main/p/php8.4/php8.4_"+v+".orig.tar.xz"] = fakeOrig(v)
	}
	dscs, _ := filepath.Glob("testdata/*.dsc")
	for _, d := range dscs {
		b, err := os.ReadFile(d)
		if err != nil {
			t.Fatal(err)
		}
		files["/pool/main/p/php8.4/"+filepath.Base(d)] = b
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, ok := files[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write(b)
	}))
	t.Cleanup(srv.Close)
	return srv
}

type fakeIndex []Candidate

func (f fakeIndex) Versions(context.Context, string) ([]Candidate, error) { return f, nil }

func indexed(mirror string, versions ...string) fakeIndex {
	var idx fakeIndex
	for _, v := range versions {
		c := Candidate{Version: v, Trust: "test index"}
		c.Orig = origFile(mirror, c.Upstream())
		idx = append(idx, c)
	}
	return idx
}

func newTestResolver(t *testing.T, srv *httptest.Server, idx fakeIndex) *Resolver {
	t.Helper()
	if _, err := exec.LookPath("gpgv"); err != nil {
		t.Fatal("gpgv is required (Debian package gpgv; make php installs it)")
	}
	keyring, err := filepath.Abs("testdata/uploader.gpg")
	if err != nil {
		t.Fatal(err)
	}
	pool := &HTTPPool{Client: srv.Client()}
	return &Resolver{
		Series: "8.4",
		Index:  idx,
		Dsc:    &GpgvDsc{Mirror: srv.URL, Keyrings: []string{keyring}, Pool: pool},
		Pool:   pool,
	}
}

func TestResolve(t *testing.T) {
	tests := []struct {
		name      string
		preferred string
		indexed   []string // versions the signed index names
		served    []string // upstream tarballs the pool serves
		fallbacks []string // known older versions (-fallback)
		want      string   // chosen version; "" = no source
		wantTrust string
	}{
		{
			// Today's archive: the index is ahead of the pool, the preferred
			// version is gone from the index but still in the pool.
			name:      "index ahead of the pool, preferred still served",
			preferred: "8.4.24-1~deb13u1",
			indexed:   []string{"8.4.27-1~deb13u1", "8.4.27-1", "8.4.28-1~deb13u1"},
			served:    []string{"8.4.24", "8.4.16"},
			want:      "8.4.24-1~deb13u1",
			wantTrust: "the .dsc signed by Test Uploader <test@example.invalid>",
		},
		{
			name:      "preferred named by the index and served",
			preferred: "8.4.24-1~deb13u1",
			indexed:   []string{"8.4.24-1~deb13u1"},
			served:    []string{"8.4.24"},
			want:      "8.4.24-1~deb13u1",
			wantTrust: "test index",
		},
		{
			// After the next point release the pool drops the pinned version:
			// the newest indexed version that downloads wins.
			name:      "pool dropped the preferred version",
			preferred: "8.4.24-1~deb13u1",
			indexed:   []string{"8.4.16-1", "8.4.27-1", "8.4.26-1", "8.5.1-1"},
			served:    []string{"8.4.16", "8.4.26", "8.5.1"},
			want:      "8.4.26-1",
			wantTrust: "test index",
		},
		{
			name:      "pool lacks the indexed version and the preferred one",
			preferred: "8.4.99-1",
			indexed:   []string{"8.4.27-1~deb13u1"},
			served:    []string{"8.4.24"},
			want:      "",
		},
		{
			// After a point release whose files the pool does not serve yet,
			// once it also dropped the preferred version: only a known older
			// version, checked through its signed .dsc, is left.
			name:      "pool dropped the preferred version, indexed ones not served yet: a known fallback",
			preferred: "8.4.25-1~deb13u1",
			indexed:   []string{"8.4.27-1~deb13u1", "8.4.28-1~deb13u1"},
			served:    []string{"8.4.24"},
			fallbacks: []string{"8.4.26-1", "8.4.24-1~deb13u1"},
			want:      "8.4.24-1~deb13u1",
			wantTrust: "the .dsc signed by Test Uploader <test@example.invalid>",
		},
		{
			name:      "no fallback served either",
			preferred: "8.4.24-1~deb13u1",
			indexed:   []string{"8.4.27-1~deb13u1"},
			fallbacks: []string{"8.4.98-1", "8.4.99-1"},
			want:      "",
		},
		{
			name:      "nothing indexed, preferred served",
			preferred: "8.4.24-1~deb13u1",
			served:    []string{"8.4.24"},
			want:      "8.4.24-1~deb13u1",
			wantTrust: "the .dsc signed by Test Uploader <test@example.invalid>",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := fakeMirror(t, tt.served...)
			r := newTestResolver(t, srv, indexed(srv.URL, tt.indexed...))
			r.Fallbacks = tt.fallbacks
			got, attempts, err := r.Resolve(context.Background(), tt.preferred)
			if tt.want == "" {
				var none *NoSourceError
				if !errors.As(err, &none) {
					t.Fatalf("Resolve = %+v, %v; want a NoSourceError", got, err)
				}
				for _, v := range append(append([]string{tt.preferred}, tt.indexed...), tt.fallbacks...) {
					if !strings.Contains(err.Error(), v) {
						t.Errorf("error does not say why %s was not taken:\n%v", v, err)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("Resolve: %v (attempts %v)", err, attempts)
			}
			if got.Version != tt.want || got.Trust != tt.wantTrust {
				t.Fatalf("Resolve = %s (%s), want %s (%s)", got.Version, got.Trust, tt.want, tt.wantTrust)
			}
			if want := origFile(srv.URL, got.Upstream()); got.Orig != want {
				t.Fatalf("orig = %+v, want %+v", got.Orig, want)
			}
		})
	}
}

func TestResolveStopsOnIntegrityFailures(t *testing.T) {
	tests := []struct {
		name      string
		preferred string
		wantErr   string
	}{
		{"dsc signed by an unknown key", "8.4.23-1", "signature does not verify"},
		{"dsc altered after signing", "8.4.20-1", "signature does not verify"},
		{"signed dsc of another version", "8.4.21-1", "is for php8.4 8.4.22-1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// An indexed, served fallback exists: it must not be used when
			// a signature is bad (that is tampering, not drift).
			srv := fakeMirror(t, "8.4.16", "8.4.20", "8.4.21", "8.4.22", "8.4.23")
			r := newTestResolver(t, srv, indexed(srv.URL, "8.4.16-1"))
			got, _, err := r.Resolve(context.Background(), tt.preferred)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Resolve = %+v, %v; want error containing %q", got, err, tt.wantErr)
			}
		})
	}

	t.Run("served size differs from the signed one", func(t *testing.T) {
		srv := fakeMirror(t, "8.4.16")
		idx := indexed(srv.URL, "8.4.16-1")
		idx[0].Orig.Size++
		r := newTestResolver(t, srv, idx)
		if _, _, err := r.Resolve(context.Background(), "8.4.16-1"); err == nil || !strings.Contains(err.Error(), "signed checksum list says") {
			t.Fatalf("Resolve error = %v, want a size mismatch", err)
		}
	})

	t.Run("preferred outside the series", func(t *testing.T) {
		srv := fakeMirror(t)
		r := newTestResolver(t, srv, nil)
		if _, _, err := r.Resolve(context.Background(), "8.3.10-1"); err == nil || !strings.Contains(err.Error(), "not in the PHP 8.4 series") {
			t.Fatalf("Resolve error = %v", err)
		}
	})
}

func TestFetch(t *testing.T) {
	srv := fakeMirror(t, "8.4.24")
	pool := &HTTPPool{Client: srv.Client()}
	f := origFile(srv.URL, "8.4.24")
	dir := t.TempDir()
	ctx := context.Background()

	path, err := pool.Fetch(ctx, f, dir, "test index")
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(path); string(b) != string(fakeOrig("8.4.24")) {
		t.Fatalf("fetched %q", b)
	}
	if again, err := pool.Fetch(ctx, f, dir, "test index"); err != nil || again != path {
		t.Fatalf("second Fetch = %q, %v; want the cached file", again, err)
	}

	// A corrupted cached tarball is refused, named, and left for the user.
	if err := os.WriteFile(path, []byte("fake php 8.4.24 upstream tarbalL\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = pool.Fetch(ctx, f, dir, "test index")
	if !errors.Is(err, ErrChecksum) || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "delete it") {
		t.Fatalf("Fetch of a corrupted cache = %v; want a checksum error naming %s", err, path)
	}

	// A download that does not match is not kept.
	bad := f
	bad.Name = "other.orig.tar.xz"
	bad.SHA256 = strings.Repeat("0", 64)
	if _, err := pool.Fetch(ctx, bad, dir, "test index"); !errors.Is(err, ErrChecksum) {
		t.Fatalf("Fetch of a mismatching download = %v, want ErrChecksum", err)
	}
	if _, err := os.Stat(filepath.Join(dir, bad.Name)); !os.IsNotExist(err) {
		t.Fatalf("a mismatching download was kept: %v", err)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, ".*")); len(left) != 0 {
		t.Fatalf("temporary files left behind: %v", left)
	}

	missing := f
	missing.URL += ".gone"
	missing.Name = "gone.orig.tar.xz"
	if _, err := pool.Fetch(ctx, missing, dir, "test index"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Fetch of a missing file = %v, want ErrNotFound", err)
	}
}

func TestParsePrintURIs(t *testing.T) {
	// apt prints a shared orig tarball once for several versions.
	out := []byte(`'http://m/debian/pool/main/p/php8.4/php8.4_8.4.27-1.dsc' php8.4_8.4.27-1.dsc 5417 SHA256:d08cc5d6693893d8ec4e568a1e4993f0a54d9851155912a7b0483ddd41971e87
'http://m/debian/pool/main/p/php8.4/php8.4_8.4.27.orig.tar.xz' php8.4_8.4.27.orig.tar.xz 13862944 SHA256:dcf93923b0e38e0d5252b25b796520b5a47761a08b3488b6d0b5d1115764d3f0
'http://m/debian/pool/main/p/php8.4/php8.4_8.4.27-1.debian.tar.xz' php8.4_8.4.27-1.debian.tar.xz 80816 SHA256:2e3dd8024bf1effec7e6273bb238ae6cc45f1fd8decf22edd3bc9a9ee6cce3a8
'http://m/debian/pool/main/p/php8.4/php8.4_8.4.27-1%7edeb13u1.dsc' php8.4_8.4.27-1~deb13u1.dsc 5375 SHA256:e9e17ff65f1c41306514a6efd61b2b0ffbbd681e1502f86ccd520003e3852503
`)
	files, err := parsePrintURIs(out)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{"8.4.27-1", "8.4.27-1~deb13u1"} {
		f, ok := origOf(files, "php8.4", v)
		if !ok || f.Name != "php8.4_8.4.27.orig.tar.xz" || f.Size != 13862944 ||
			f.SHA256 != "dcf93923b0e38e0d5252b25b796520b5a47761a08b3488b6d0b5d1115764d3f0" {
			t.Errorf("origOf(%s) = %+v, %v", v, f, ok)
		}
	}
	if _, err := parsePrintURIs([]byte("'http://m/x' x 12 MD5Sum:abc\n")); err == nil {
		t.Error("a line without SHA256 was accepted")
	}
}

func TestIsOrigTarball(t *testing.T) {
	for name, want := range map[string]bool{
		"php8.4_8.4.24.orig.tar.xz":       true,
		"php8.4_8.4.24.orig.tar.gz":       true,
		"php8.4_8.4.24.orig.tar.xz.asc":   false,
		"php8.4_8.4.24-1.debian.tar.xz":   false,
		"php8.4_8.4.24.orig-extra.tar.xz": false,
		"php8.4_8.4.24-1~deb13u1.dsc":     false,
	} {
		if got := isOrigTarball(name); got != want {
			t.Errorf("isOrigTarball(%q) = %v", name, got)
		}
	}
}
