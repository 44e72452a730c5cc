package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
)

// AptIndex reads Debian's Sources indexes through apt, which has verified
// them against the Release files signed with Debian's archive keys. Apt is
// run through a wrapper (scripts/debian-apt.sh) that points it at a private
// sources list and state directory; the lists are refreshed by the caller.
type AptIndex struct {
	Apt []string // command prefix, e.g. {"scripts/debian-apt.sh"}
}

var _ Index = (*AptIndex)(nil)

// Versions lists every version of pkg the indexes name, with the upstream
// tarball of each: apt-get source --print-uris gives each file's URL, size
// and the SHA256 from the signed index.
func (a *AptIndex) Versions(ctx context.Context, pkg string) ([]Candidate, error) {
	out, err := a.run(ctx, "apt-cache", "showsrc", "--only-source", pkg)
	if err != nil {
		return nil, err
	}
	versions := fieldValues(out, "Version")
	if len(versions) == 0 {
		return nil, nil
	}
	// One apt run for every version (each run parses every index: seconds).
	args := []string{"apt-get", "source", "--print-uris", "-qq", "--only-source"}
	for _, v := range versions {
		args = append(args, pkg+"="+v)
	}
	uris, err := a.run(ctx, args...)
	if err != nil {
		return nil, err
	}
	files, err := parsePrintURIs(uris)
	if err != nil {
		return nil, fmt.Errorf("apt-get source --print-uris %s: %w", pkg, err)
	}
	var cs []Candidate
	for _, v := range versions {
		// apt prints a file once even when several versions share it, as
		// versions of one upstream release share their orig tarball (the
		// archive never holds two different files under one name).
		if f, ok := origOf(files, pkg, v); ok {
			cs = append(cs, Candidate{Version: v, Orig: f, Trust: "Debian's signed Sources index"})
		}
	}
	return cs, nil
}

// origOf finds the upstream tarball of pkg's version v: pkg_<upstream>.orig.tar.*.
func origOf(files []File, pkg, v string) (File, bool) {
	upstream := Candidate{Version: v}.Upstream()
	for _, f := range files {
		if strings.HasPrefix(f.Name, pkg+"_"+upstream+".orig.tar.") && isOrigTarball(f.Name) {
			return f, true
		}
	}
	return File{}, false
}

func (a *AptIndex) run(ctx context.Context, args ...string) ([]byte, error) {
	argv := append(append([]string{}, a.Apt[1:]...), args...)
	cmd := exec.CommandContext(ctx, a.Apt[0], argv...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w: %s", a.Apt[0], strings.Join(argv, " "), err, strings.TrimSpace(stderr.String()))
	}
	return out, nil
}

// fieldValues returns the values of a single-line deb822 field in every
// paragraph, in order.
func fieldValues(text []byte, field string) []string {
	var vals []string
	sc := bufio.NewScanner(bytes.NewReader(text))
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), field+":"); ok {
			vals = append(vals, strings.TrimSpace(v))
		}
	}
	return vals
}

// parsePrintURIs reads apt's "'URL' name size SHA256:hex" lines.
func parsePrintURIs(text []byte) ([]File, error) {
	var files []File
	sc := bufio.NewScanner(bytes.NewReader(text))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		parts := strings.Fields(line)
		if len(parts) != 4 || !strings.HasPrefix(parts[0], "'") || !strings.HasSuffix(parts[0], "'") {
			return nil, fmt.Errorf("unexpected line %q", line)
		}
		size, err := strconv.ParseInt(parts[2], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("bad size in %q", line)
		}
		algo, sum, _ := strings.Cut(parts[3], ":")
		if !strings.EqualFold(algo, "SHA256") || len(sum) != 64 {
			return nil, fmt.Errorf("no SHA256 checksum in %q", line)
		}
		files = append(files, File{
			Name:   parts[1],
			URL:    strings.Trim(parts[0], "'"),
			Size:   size,
			SHA256: strings.ToLower(sum),
		})
	}
	return files, sc.Err()
}
