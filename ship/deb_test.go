package ship

import (
	"bytes"
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// debArchs: Debian's architecture name and the ELF machine of its binary.
var debArchs = map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64, "armhf": elf.EM_ARM}

// Where the docs (README, examples/systemd) say the package puts things.
var debFiles = []string{
	"./usr/bin/evse-mqtt",
	"./lib/systemd/system/evse-mqtt.service",
	"./etc/evse-mqtt/config.yaml",
	"./usr/share/doc/evse-mqtt/config.example.yaml",
	"./var/lib/evse-mqtt/",
}

// TestDebianPackages builds the packages through the build entry point
// (scripts/build deb: the cross-built binaries and nfpm at its pinned
// version), checks each with dpkg-deb, and installs the amd64 one into a
// scratch root with dpkg, maintainer scripts included.
func TestDebianPackages(t *testing.T) {
	if _, err := exec.LookPath("dpkg-deb"); err != nil {
		t.Skip("dpkg-deb is not installed (a Debian system has it)")
	}
	dist := t.TempDir()
	cmd := exec.Command("./scripts/build", "deb")
	cmd.Dir = ".."
	cmd.Env = append(os.Environ(), "DIST="+dist, "VERSION=1.2.3")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("scripts/build deb: %v\n%s", err, tail(string(out), 3000))
	}
	unit, err := os.ReadFile(unitPath)
	if err != nil {
		t.Fatal(err)
	}
	for arch, machine := range debArchs {
		deb := filepath.Join(dist, "evse-mqtt_1.2.3_"+arch+".deb")
		info := run(t, "dpkg-deb", "--info", deb)
		for _, want := range []string{"Package: evse-mqtt", "Version: 1.2.3", "Architecture: " + arch, "postinst", "prerm", "postrm"} {
			if !strings.Contains(info, want) {
				t.Errorf("%s: --info lacks %q:\n%s", arch, want, info)
			}
		}
		if conf := run(t, "dpkg-deb", "--info", deb, "conffiles"); strings.TrimSpace(conf) != "/etc/evse-mqtt/config.yaml" {
			t.Errorf("%s: conffiles %q", arch, conf)
		}
		contents := run(t, "dpkg-deb", "--contents", deb)
		for _, f := range debFiles {
			if !regexp.MustCompile(`(?m) ` + regexp.QuoteMeta(f) + `$`).MatchString(contents) {
				t.Errorf("%s: --contents lacks %s:\n%s", arch, f, contents)
			}
		}
		x := t.TempDir()
		run(t, "dpkg-deb", "-x", deb, x)
		f, err := elf.Open(filepath.Join(x, "usr/bin/evse-mqtt"))
		if err != nil {
			t.Fatalf("%s: %v", arch, err)
		}
		if f.Machine != machine {
			t.Errorf("%s: binary is for %v", arch, f.Machine)
		}
		f.Close()
		if got, _ := os.ReadFile(filepath.Join(x, "lib/systemd/system/evse-mqtt.service")); !bytes.Equal(got, unit) {
			t.Errorf("%s: the packaged unit is not examples/systemd/evse-mqtt.service", arch)
		}
	}
	t.Run("install into a scratch root", func(t *testing.T) {
		installInScratchRoot(t, filepath.Join(dist, "evse-mqtt_1.2.3_amd64.deb"))
	})
}

// installInScratchRoot installs with dpkg --root. The maintainer scripts
// run outside the root (--force-script-chrootless; an empty root has no
// shell) and honour DPKG_ROOT, as dpkg asks of such scripts; the root has
// just the account files useradd needs. --force-depends: the root has no
// passwd package, only its files' stand-ins.
func installInScratchRoot(t *testing.T, deb string) {
	root := t.TempDir()
	for _, d := range []string{"etc", "var/lib/dpkg/info", "var/lib/dpkg/updates", "var/log"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for name, body := range map[string]string{
		"etc/passwd":             "root:x:0:0:root:/root:/bin/sh\n",
		"etc/group":              "root:x:0:\ndialout:x:20:\n", // dialout exists on Debian: kept
		"etc/shadow":             "root:*:19000:0:99999:7:::\n",
		"etc/gshadow":            "root:*::\ndialout:*::\n",
		"var/lib/dpkg/status":    "",
		"var/lib/dpkg/available": "",
	} {
		if err := os.WriteFile(filepath.Join(root, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	dpkg := func(args ...string) string {
		t.Helper()
		return run(t, "dpkg", append([]string{"--root=" + root, "--force-script-chrootless", "--force-depends", "--log=" + filepath.Join(root, "var/log/dpkg.log")}, args...)...)
	}
	dpkg("-i", deb)

	if out := run(t, filepath.Join(root, "usr/bin/evse-mqtt"), "--version"); strings.TrimSpace(out) != "evse-mqtt 1.2.3" {
		t.Errorf("installed binary --version: %q", out)
	}
	passwd := readFile(t, root, "etc/passwd")
	group := readFile(t, root, "etc/group")
	user := regexp.MustCompile(`(?m)^evse-mqtt:x:(\d+):(\d+):[^:]*:/var/lib/evse-mqtt:/usr/sbin/nologin$`).FindStringSubmatch(passwd)
	if user == nil {
		t.Fatalf("no system user evse-mqtt:\n%s", passwd)
	}
	uid, _ := strconv.Atoi(user[1])
	gid, _ := strconv.Atoi(user[2])
	for _, g := range []string{"gpio", "i2c", "spi", "dialout", "evse-mqtt"} {
		if !regexp.MustCompile(`(?m)^` + g + `:x:\d+:`).MatchString(group) {
			t.Errorf("group %s missing:\n%s", g, group)
		}
	}
	if strings.Count(group, "\ndialout:") != 1 {
		t.Errorf("dialout created twice:\n%s", group)
	}
	owned := func(rel string, wantUID, wantGID int, wantMode os.FileMode) {
		t.Helper()
		st, err := os.Stat(filepath.Join(root, rel))
		if err != nil {
			t.Error(err)
			return
		}
		s := st.Sys()
		if u := fileUID(st); u != wantUID || fileGID(s) != wantGID || st.Mode().Perm() != wantMode {
			t.Errorf("/%s: %d:%d %04o, want %d:%d %04o", rel, u, fileGID(s), st.Mode().Perm(), wantUID, wantGID, wantMode)
		}
	}
	owned("var/lib/evse-mqtt", uid, gid, 0o750)
	owned("etc/evse-mqtt", 0, gid, 0o750)
	owned("etc/evse-mqtt/config.yaml", 0, gid, 0o640)
	owned("usr/bin/evse-mqtt", 0, 0, 0o755)
	if target, err := os.Readlink(filepath.Join(root, "etc/systemd/system/multi-user.target.wants/evse-mqtt.service")); err != nil || !strings.HasSuffix(target, "/lib/systemd/system/evse-mqtt.service") {
		t.Errorf("service not enabled: %q %v", target, err)
	}
	if !strings.Contains(dpkg("-s", "evse-mqtt"), "Status: install ok installed") {
		t.Errorf("dpkg does not count it installed")
	}

	// The installer's edit of the conffile survives a reinstall.
	conf := filepath.Join(root, "etc/evse-mqtt/config.yaml")
	if err := os.WriteFile(conf, []byte("# mine\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	dpkg("--force-confold", "-i", deb)
	if got := readFile(t, root, "etc/evse-mqtt/config.yaml"); got != "# mine\n" {
		t.Errorf("reinstall replaced the edited config: %q", got)
	}

	dpkg("--purge", "evse-mqtt")
	for _, gone := range []string{"usr/bin/evse-mqtt", "lib/systemd/system/evse-mqtt.service", "etc/evse-mqtt/config.yaml", "var/lib/evse-mqtt", "etc/systemd/system/multi-user.target.wants/evse-mqtt.service"} {
		if _, err := os.Lstat(filepath.Join(root, gone)); err == nil {
			t.Errorf("/%s left after purge", gone)
		}
	}
}

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

func readFile(t *testing.T, root, rel string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, rel))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
