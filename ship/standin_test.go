package ship

import (
	"archive/tar"
	"bufio"
	"context"
	"debug/elf"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// buildStageImage returns the Dockerfile's build-stage base image (its
// first FROM), so the stand-in carries exactly the tag users pull.
func buildStageImage(t *testing.T, dockerfile string) string {
	t.Helper()
	b, err := os.ReadFile(dockerfile)
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^FROM\s+(?:--platform=\S+\s+)?(\S+)\s+AS\s+build`).FindSubmatch(b)
	if m == nil {
		t.Fatalf("%s: no build stage (FROM … AS build)", dockerfile)
	}
	return string(m[1])
}

// standIn makes tag available to the engine. A real image under that tag
// is used as it is. Otherwise — no registry is reachable here — the test
// stands in a locally assembled image under the same tag, and says so: the
// host's Go toolchain at the golang image's paths (/usr/local/go, GOPATH
// /go), a static busybox as /bin/sh, CA certificates, and the module cache
// this module's `go mod download` fills, taken from the host's cache. It
// has no build cache: the image's `go build` compiles everything.
func standIn(t *testing.T, e *engine, tag string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if label, err := e.docker(ctx, "image", "inspect", "--format", `{{index .Config.Labels "evse-mqtt.stand-in"}}`, tag); err == nil {
		if label == "" {
			t.Logf("build stage: the engine's own %s", tag)
		} else {
			t.Logf("build stage: %s is a stand-in assembled by an earlier run", tag)
		}
		return
	}
	busybox := "/bin/busybox"
	if err := requireStatic(busybox); err != nil {
		t.Skipf("cannot assemble a stand-in for %s: %v (apt-get install busybox-static)", tag, err)
	}
	goroot := goEnv(t, "GOROOT")
	modcache := fillModCache(t)

	start := time.Now()
	cmd := exec.CommandContext(ctx, "docker", "import",
		"--change", "ENV PATH=/usr/local/go/bin:/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		"--change", "ENV GOPATH=/go",
		"--change", "ENV GOTOOLCHAIN=local",
		// Nothing may be fetched: a module missing from the cache fails
		// the build at once instead of waiting on a network there is not.
		"--change", "ENV GOPROXY=off",
		"--change", "WORKDIR /go",
		"--change", `LABEL evse-mqtt.stand-in="assembled by ship tests from the host's Go toolchain"`,
		"-", tag)
	cmd.Env = append(os.Environ(), "DOCKER_HOST="+e.host)
	pr, pw := io.Pipe()
	cmd.Stdin = pr
	out := &strings.Builder{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	werr := make(chan error, 1)
	go func() {
		err := writeStandIn(pw, goroot, modcache, busybox)
		pw.CloseWithError(err)
		werr <- err
	}()
	err := cmd.Wait()
	pr.Close()
	if e := <-werr; e != nil {
		t.Fatalf("assembling the stand-in: %v", e)
	}
	if err != nil {
		t.Fatalf("docker import: %v\n%s", err, out)
	}
	if e.cmd == nil {
		// The machine's own engine: leave no fake golang image behind.
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			_, _ = e.docker(ctx, "rmi", tag)
		})
	}
	size, _ := e.docker(ctx, "image", "inspect", "--format", "{{.Size}}", tag)
	t.Logf("build stage: no registry here, so %s is a STAND-IN assembled from the host's Go toolchain, busybox and module cache (%s bytes, %v)", tag, size, time.Since(start).Round(time.Second))
}

func requireStatic(path string) error {
	f, err := elf.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return fmt.Errorf("%s is dynamically linked", path)
		}
	}
	return nil
}

func goEnv(t *testing.T, name string) string {
	t.Helper()
	out, err := exec.Command("go", "env", name).Output()
	if err != nil {
		t.Fatalf("go env %s: %v", name, err)
	}
	return strings.TrimSpace(string(out))
}

// fillModCache runs this module's `go mod download` into a fresh module
// cache, served from the host's cache (the proxy only for what the host
// lacks), so the stand-in holds exactly what the Dockerfile's step needs.
func fillModCache(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	cmd := exec.Command("go", "mod", "download")
	cmd.Dir = ".."
	proxy := "file://" + filepath.Join(goEnv(t, "GOMODCACHE"), "cache", "download")
	if p := goEnv(t, "GOPROXY"); p != "" && p != "off" {
		proxy += "," + p
	}
	cmd.Env = append(os.Environ(), "GOMODCACHE="+dir, "GOPROXY="+proxy, "GOFLAGS=-mod=mod", "GOSUMDB=off")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go mod download into the stand-in's cache: %v\n%s", err, out)
	}
	// The module cache is read-only by design; let t.TempDir remove it.
	t.Cleanup(func() {
		_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				_ = os.Chmod(p, 0o755)
			}
			return nil
		})
	})
	return dir
}

// writeStandIn streams the stand-in's root file system as a tar.
func writeStandIn(w io.Writer, goroot, modcache, busybox string) error {
	bw := bufio.NewWriterSize(w, 1<<20)
	tw := tar.NewWriter(bw)
	dir := func(name string, mode int64) error {
		return tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: name + "/", Mode: mode})
	}
	file := func(name string, mode int64, data []byte) error {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: mode, Size: int64(len(data))}); err != nil {
			return err
		}
		_, err := tw.Write(data)
		return err
	}
	for _, d := range []string{"bin", "etc", "etc/ssl", "etc/ssl/certs", "root", "usr", "usr/local", "go", "go/bin", "go/pkg"} {
		if err := dir(d, 0o755); err != nil {
			return err
		}
	}
	if err := dir("tmp", 0o1777); err != nil {
		return err
	}
	if err := file("etc/passwd", 0o644, []byte("root:x:0:0:root:/root:/bin/sh\n")); err != nil {
		return err
	}
	if err := file("etc/group", 0o644, []byte("root:x:0:\n")); err != nil {
		return err
	}
	if err := copyFile(tw, "/etc/ssl/certs/ca-certificates.crt", "etc/ssl/certs/ca-certificates.crt"); err != nil {
		return err
	}
	if err := copyFile(tw, busybox, "bin/busybox"); err != nil {
		return err
	}
	// The applets the Dockerfile's RUN steps use, and a few for debugging.
	for _, a := range []string{"sh", "mkdir", "cp", "echo", "cat", "ls", "rm", "chown", "chmod", "env", "test", "["} {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeSymlink, Name: "bin/" + a, Linkname: "busybox", Mode: 0o777}); err != nil {
			return err
		}
	}
	if err := addTree(tw, goroot, "usr/local/go", keepGoroot); err != nil {
		return err
	}
	if err := addTree(tw, modcache, "go/pkg/mod", func(string, fs.DirEntry) bool { return true }); err != nil {
		return err
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return bw.Flush()
}

// keepGoroot keeps what building a program needs: the go command, the
// compiler and linker, the standard library's sources (without tests and
// test data) and the headers its assembly uses. The compiler's own
// sources (src/cmd), docs and the test tree stay out: a smaller image is
// a faster build on the vfs storage driver, which copies every layer.
func keepGoroot(rel string, d fs.DirEntry) bool {
	switch {
	case rel == ".":
		return true
	case rel == "VERSION" || rel == "go.env":
		return true
	case rel == "bin" || rel == "bin/go":
		return true
	case rel == "pkg" || rel == "pkg/include" || strings.HasPrefix(rel, "pkg/include/"):
		return true
	case rel == "pkg/tool" || strings.HasPrefix(rel, "pkg/tool/") && strings.Count(rel, "/") == 2:
		return true
	case strings.HasPrefix(rel, "pkg/tool/"):
		switch filepath.Base(rel) {
		case "compile", "link", "asm", "buildid", "cgo", "pack":
			return true
		}
		return false
	case rel == "src":
		return true
	case strings.HasPrefix(rel, "src/"):
		if rel == "src/cmd" || d.IsDir() && d.Name() == "testdata" {
			return false
		}
		return !strings.HasSuffix(rel, "_test.go")
	}
	return false
}

func copyFile(tw *tar.Writer, src, name string) error {
	f, err := os.Open(src)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: int64(st.Mode().Perm()), Size: st.Size()}); err != nil {
		return err
	}
	_, err = io.Copy(tw, f)
	return err
}

// addTree adds root's files under prefix, those keep accepts.
func addTree(tw *tar.Writer, root, prefix string, keep func(rel string, d fs.DirEntry) bool) error {
	return filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if !keep(rel, d) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		name := prefix
		if rel != "." {
			name = prefix + "/" + filepath.ToSlash(rel)
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			if rel == "." {
				return tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: name + "/", Mode: 0o755})
			}
			return tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: name + "/", Mode: int64(info.Mode().Perm())})
		case info.Mode()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			return tw.WriteHeader(&tar.Header{Typeflag: tar.TypeSymlink, Name: name, Linkname: target, Mode: 0o777})
		case info.Mode().IsRegular():
			return copyFile(tw, p, name)
		}
		return nil
	})
}
