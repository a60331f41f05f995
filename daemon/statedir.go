package daemon

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// prepareStateDir creates the state directory and proves it writable
// before anything is persisted there. The common failure is a container
// whose bind-mounted folder belongs to the host user while the daemon
// runs as 65532: the bare "permission denied" from a settings write says
// nothing about the fix, so this error names the owner and the chown.
func prepareStateDir(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return stateDirError(dir, err)
	}
	f, err := os.CreateTemp(dir, ".write-test-*")
	if err != nil {
		return stateDirError(dir, err)
	}
	name := f.Name()
	f.Close()
	return os.Remove(name)
}

func stateDirError(dir string, err error) error {
	if !errors.Is(err, fs.ErrPermission) && !errors.Is(err, syscall.EROFS) {
		return fmt.Errorf("state dir: %w", err)
	}
	uid, gid := os.Getuid(), os.Getgid()
	owner := ""
	// The directory itself, or for a failed MkdirAll its nearest existing parent.
	for p := dir; ; p = filepath.Dir(p) {
		if st, serr := os.Stat(p); serr == nil {
			if s, ok := st.Sys().(*syscall.Stat_t); ok {
				owner = fmt.Sprintf(" (%s belongs to %d:%d, mode %04o)", p, s.Uid, s.Gid, st.Mode().Perm())
			}
			break
		}
		if p == filepath.Dir(p) {
			break
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "state dir %s is not writable by this process, user %d:%d%s: %v. ", dir, uid, gid, owner, err)
	if errors.Is(err, syscall.EROFS) {
		b.WriteString("It is on a read-only file system: mount a volume there (docker run -v evse-state:/data) or set state_dir / --state-dir to a writable place")
	} else {
		fmt.Fprintf(&b, "Give it to that user (on the host, for a bind mount: chown -R %d:%d <folder>), use a named volume (-v evse-state:/data), or set state_dir / --state-dir to a writable place", uid, gid)
	}
	return errors.New(b.String())
}
