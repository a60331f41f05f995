package e2e

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The top README's ```sh blocks are marked on the line before the fence:
//
//	<!-- replay -->               run by TestTopREADMEReplay, in order, as one
//	                              shell session against the built binary
//	<!-- no-replay: <reason> -->  not run (e.g. it starts the daemon or the
//	                              test suite itself); the reason is required
//
// An unmarked ```sh block fails the test, so a new block is never skipped
// silently.
const (
	replayMark   = "<!-- replay -->"
	noReplayMark = "<!-- no-replay:"
)

// step is one command of a replayed block and what the README says it
// answers: the `# {...}` comments after it (inline or on the next lines),
// where "..." stands for anything.
type step struct {
	line    int
	command string
	want    []string
}

// readmeSteps extracts the steps of the replayed blocks of path and fails
// on an unmarked sh block.
func readmeSteps(t *testing.T, path string) []step {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var steps []step
	prev, inBlock, replay := "", false, false
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		switch {
		case !inBlock && line == "```sh":
			inBlock = true
			switch p := strings.TrimSpace(prev); {
			case p == replayMark:
				replay = true
			case strings.HasPrefix(p, noReplayMark) && strings.TrimSpace(strings.TrimSuffix(strings.TrimPrefix(p, noReplayMark), "-->")) != "":
				replay = false
			default:
				t.Fatalf("%s:%d: a ```sh block without %q or %q before it", path, n, replayMark, noReplayMark+" <reason> -->")
			}
		case inBlock && line == "```":
			inBlock = false
		case inBlock && replay:
			steps = addLine(steps, n, line)
		}
		prev = line
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return steps
}

// addLine adds a block line: a command, or an expectation comment for the
// last command. Comments that are not a JSON answer are prose.
func addLine(steps []step, n int, line string) []step {
	trimmed := strings.TrimSpace(line)
	switch {
	case trimmed == "":
		return steps
	case strings.HasPrefix(trimmed, "#"):
		if want := strings.TrimSpace(strings.TrimPrefix(trimmed, "#")); strings.HasPrefix(want, "{") && len(steps) > 0 {
			steps[len(steps)-1].want = append(steps[len(steps)-1].want, want)
		}
		return steps
	}
	s := step{line: n, command: line}
	// An inline comment: " # " outside single quotes.
	if i := strings.Index(line, " # "); i >= 0 && strings.Count(line[:i], "'")%2 == 0 {
		s.command = strings.TrimSpace(line[:i])
		if want := strings.TrimSpace(line[i+3:]); strings.HasPrefix(want, "{") {
			s.want = append(s.want, want)
		}
	}
	return append(steps, s)
}

// wildcard turns a documented answer with "..." into an anchored pattern.
func wildcard(want string) *regexp.Regexp {
	parts := strings.Split(want, "...")
	for i, p := range parts {
		parts[i] = regexp.QuoteMeta(p)
	}
	return regexp.MustCompile("^" + strings.Join(parts, ".*") + "$")
}

// TestTopREADMEReplay replays every sh block of the top README marked
// <!-- replay --> against the built binary, as one shell session in
// README order, and compares each answer with the README's `# {...}`
// comment. The documented defaults are rewritten to the test's free ports
// (http://localhost:8080, the simulated meter's 1502); nothing else is.
func TestTopREADMEReplay(t *testing.T) {
	steps := readmeSteps(t, "../README.md")
	checked := 0
	for _, s := range steps {
		checked += len(s.want)
	}
	if len(steps) < 10 || checked < 8 {
		t.Fatalf("only %d commands with %d documented answers found; did the README's blocks lose their marks?", len(steps), checked)
	}
	p := newPorts(t)
	d := start(t, t.TempDir(), p, "device_id: readme\n")
	_, meter1Port, _ := strings.Cut(p.Meter1, ":")
	rewrite := strings.NewReplacer("http://localhost:8080", d.base, "-p 1502", "-p "+meter1Port)

	// One bash session, so variables (E=...) carry over; markers split
	// the output per step.
	var script strings.Builder
	script.WriteString("exec 2>&1\n")
	for i, s := range steps {
		fmt.Fprintf(&script, "printf '@@step %d\\n'\n%s\nprintf '\\n@@rc %d %%s\\n' $?\n", i, rewrite.Replace(s.command), i)
	}
	cmd := exec.Command("bash", "-c", script.String())
	done := make(chan struct{})
	var out []byte
	var err error
	go func() { out, err = cmd.CombinedOutput(); close(done) }()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		_ = cmd.Process.Kill()
		<-done
		t.Fatalf("README session did not finish in 60 s:\n%s", out)
	}
	if err != nil {
		t.Fatalf("README session: %v\n%s", err, out)
	}

	outputs := make([]string, len(steps))
	rcs := make([]string, len(steps))
	cur := -1
	for _, line := range strings.Split(string(out), "\n") {
		switch {
		case strings.HasPrefix(line, "@@step "):
			cur, _ = strconv.Atoi(strings.TrimPrefix(line, "@@step "))
		case strings.HasPrefix(line, "@@rc "):
			f := strings.Fields(line)
			i, _ := strconv.Atoi(f[1])
			rcs[i] = f[2]
		case cur >= 0 && line != "":
			outputs[cur] += line + "\n"
		}
	}
	for i, s := range steps {
		got := strings.TrimSpace(outputs[i])
		if rcs[i] != "0" {
			t.Errorf("README.md:%d: %s\nexit %s: %s", s.line, s.command, rcs[i], got)
			continue
		}
		lines := strings.Split(got, "\n")
		if len(s.want) > 0 && len(lines) != len(s.want) {
			t.Errorf("README.md:%d: %s\n got %d lines: %s\nwant %d: %s", s.line, s.command, len(lines), got, len(s.want), strings.Join(s.want, "\n"))
			continue
		}
		for j, w := range s.want {
			if !wildcard(w).MatchString(lines[j]) {
				t.Errorf("README.md:%d: %s\n got %s\nwant %s", s.line, s.command, lines[j], w)
			}
		}
	}
	t.Logf("replayed %d commands, %d documented answers checked", len(steps), checked)
}
