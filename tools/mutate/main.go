// Command mutate is the project's mutation tester: it makes small changes
// to a package's non-test source (operator flips and boundary constants,
// see findMutants), runs the package's tests against each, and reports
// which mutants the tests kill. A survivor is behaviour no test pins down.
//
// Each mutant is compiled through `go test -overlay`, so the tree is never
// written to and a run can be stopped at any moment. It has no dependency
// beyond the Go toolchain, so the version is pinned by the module itself.
//
//	go run ./tools/mutate [flags] ./controller ./settings
//
// It runs on demand (scripts/mutate), not in CI: a run takes minutes.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"time"
)

type config struct {
	timeout time.Duration
	only    *regexp.Regexp
	run     string
	skip    string // tests left out of the first pass
	list    bool
	min     float64
	out     io.Writer
}

func main() {
	var (
		c    config
		only string
	)
	flag.DurationVar(&c.timeout, "timeout", 2*time.Minute, "per-mutant limit on `go test`; a mutant that runs past it counts as killed (it hangs the tests)")
	flag.StringVar(&only, "only", "", "run only the mutants whose ID (file:line:col old→new) matches this regexp")
	flag.StringVar(&c.run, "run", "", "passed to go test -run")
	flag.StringVar(&c.skip, "fast-skip", "", "first run each mutant without the tests matching this regexp (go test -skip); "+
		"only the mutants that survive that run the full tests. The outcome is the same as running everything, faster when the "+
		"skipped tests are the slow ones")
	flag.BoolVar(&c.list, "list", false, "list the mutants without running them")
	flag.Float64Var(&c.min, "min", 0, "exit 1 when the killed share of any package is below this percentage")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: mutate [flags] package...\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() == 0 {
		flag.Usage()
		os.Exit(2)
	}
	if only != "" {
		re, err := regexp.Compile(only)
		if err != nil {
			fmt.Fprintln(os.Stderr, "mutate: -only:", err)
			os.Exit(2)
		}
		c.only = re
	}
	c.out = os.Stdout
	ok, err := run(context.Background(), c, flag.Args())
	if err != nil {
		fmt.Fprintln(os.Stderr, "mutate:", err)
		os.Exit(2)
	}
	if !ok {
		os.Exit(1)
	}
}

// pkg is one package as go list sees it.
type pkg struct {
	ImportPath string
	Dir        string
	GoFiles    []string
}

func listPackages(patterns []string) ([]pkg, error) {
	args := append([]string{"list", "-json=ImportPath,Dir,GoFiles"}, patterns...)
	cmd := exec.Command("go", args...)
	cmd.Stderr = os.Stderr
	b, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go list: %w", err)
	}
	var out []pkg
	dec := json.NewDecoder(bytes.NewReader(b))
	for {
		var p pkg
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			return out, nil
		} else if err != nil {
			return nil, fmt.Errorf("go list output: %w", err)
		}
		out = append(out, p)
	}
}

// outcome of one mutant.
type outcome int

const (
	killed outcome = iota
	survived
	timedOut  // counted as killed: the tests did not pass
	notViable // does not compile: not counted
)

func (o outcome) String() string {
	return [...]string{"KILLED", "SURVIVED", "TIMEOUT", "NOT VIABLE"}[o]
}

// run mutates every package and reports; ok is false when a package is
// below c.min.
func run(ctx context.Context, c config, patterns []string) (ok bool, err error) {
	pkgs, err := listPackages(patterns)
	if err != nil {
		return false, err
	}
	wd, _ := os.Getwd()
	tmp, err := os.MkdirTemp("", "mutate-")
	if err != nil {
		return false, err
	}
	defer os.RemoveAll(tmp)

	ok = true
	var total [4]int
	for _, p := range pkgs {
		var ms []mutant
		for _, f := range p.GoFiles {
			path := filepath.Join(p.Dir, f)
			rel, err := filepath.Rel(wd, path)
			if err != nil || strings.HasPrefix(rel, "..") {
				rel = path
			}
			found, err := findMutants(path, rel)
			if err != nil {
				return false, err
			}
			for _, m := range found {
				if c.only == nil || c.only.MatchString(m.ID()) {
					ms = append(ms, m)
				}
			}
		}
		if c.list {
			for _, m := range ms {
				fmt.Fprintln(c.out, m.ID())
			}
			continue
		}
		if len(ms) == 0 {
			continue
		}
		// The unmutated tests must pass, or every mutant would look killed.
		if res, out := goTest(ctx, c, p.ImportPath, ""); res != survived {
			return false, fmt.Errorf("%s: the tests fail without any mutant (%v):\n%s", p.ImportPath, res, out)
		}
		var n [4]int
		start := time.Now()
		for i, m := range ms {
			t0 := time.Now()
			res, err := runMutant(ctx, c, tmp, p.ImportPath, m)
			if err != nil {
				return false, err
			}
			n[res]++
			total[res]++
			fmt.Fprintf(c.out, "%-10s %s  (%d/%d, %.1fs)\n", res, m.ID(), i+1, len(ms), time.Since(t0).Seconds())
		}
		fmt.Fprintf(c.out, "%s\n", summary(p.ImportPath, n))
		fmt.Fprintf(c.out, "  (%d mutants in %s)\n", len(ms), time.Since(start).Round(time.Second))
		if score(n) < c.min {
			ok = false
		}
	}
	if !c.list && len(pkgs) > 1 {
		fmt.Fprintln(c.out, summary("total", total))
	}
	return ok, nil
}

// score is the killed share in percent of the viable mutants.
func score(n [4]int) float64 {
	viable := n[killed] + n[timedOut] + n[survived]
	if viable == 0 {
		return 100
	}
	return 100 * float64(n[killed]+n[timedOut]) / float64(viable)
}

func summary(name string, n [4]int) string {
	return fmt.Sprintf("%s: %d of %d killed (%.1f %%); %d survived, %d timed out (counted killed), %d not viable",
		name, n[killed]+n[timedOut], n[killed]+n[timedOut]+n[survived], score(n), n[survived], n[timedOut], n[notViable])
}

// runMutant writes the mutated file to dir and runs the tests with it
// overlaid on the original.
func runMutant(ctx context.Context, c config, dir, importPath string, m mutant) (outcome, error) {
	src, err := os.ReadFile(m.File)
	if err != nil {
		return 0, err
	}
	mut, err := m.apply(src)
	if err != nil {
		return 0, err
	}
	mfile := filepath.Join(dir, "mutant_"+filepath.Base(m.File))
	if err := os.WriteFile(mfile, mut, 0o644); err != nil {
		return 0, err
	}
	ov, err := json.Marshal(map[string]map[string]string{"Replace": {m.File: mfile}})
	if err != nil {
		return 0, err
	}
	ovfile := filepath.Join(dir, "overlay.json")
	if err := os.WriteFile(ovfile, ov, 0o644); err != nil {
		return 0, err
	}
	if c.skip != "" {
		// A mutant the quick pass kills is killed by the full tests too
		// (they include the quick ones); only a survivor needs them all.
		if res, _ := goTest(ctx, c, importPath, ovfile, "-skip="+c.skip); res != survived {
			return res, nil
		}
	}
	res, _ := goTest(ctx, c, importPath, ovfile)
	return res, nil
}

// goTest runs the package's tests once (no cache, vet off: a mutant is
// judged by the tests alone) and classifies the result.
func goTest(ctx context.Context, c config, importPath, overlay string, extra ...string) (outcome, string) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	args := []string{"test", "-count=1", "-failfast", "-vet=off"}
	if overlay != "" {
		args = append(args, "-overlay="+overlay)
	}
	if c.run != "" {
		args = append(args, "-run="+c.run)
	}
	args = append(args, extra...)
	args = append(args, importPath)
	cmd := exec.CommandContext(ctx, "go", args...)
	// go test starts the test binary as a child: kill the whole group on
	// timeout, or a hanging mutant would outlive the run.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	switch {
	case err == nil:
		return survived, out.String()
	case ctx.Err() != nil:
		return timedOut, out.String()
	case strings.Contains(out.String(), "[build failed]") || strings.Contains(out.String(), "[setup failed]"):
		return notViable, out.String()
	}
	return killed, out.String()
}
