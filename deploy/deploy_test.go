// Package deploy holds the files that run podrun as a service (deploy/systemd, deploy/quadlet);
// its tests check them offline, with systemd's tools but without systemd as PID 1.
package deploy

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// repoRoot is where the Makefile is.
const repoRoot = ".."

// tool finds one of systemd's tools, which `make test` installs (scripts/install-systemd-tools.sh).
func tool(t *testing.T, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s must be installed (make systemd-tools installs Debian's systemd package): %v", name, err)
	}
	return path
}

// makeInstall runs make install with vars and returns where DESTDIR or PREFIX put things.
func makeInstall(t *testing.T, target string, vars ...string) {
	t.Helper()
	cmd := exec.Command("make", append([]string{"--no-print-directory", target}, vars...)...)
	cmd.Dir = repoRoot
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("make %s %s: %v\n%s", target, strings.Join(vars, " "), err, out)
	}
}

// installedUnits installs into a PREFIX of its own, so the units' ExecStart= names a real
// executable, as systemd-analyze verify requires, and returns that prefix.
func installedUnits(t *testing.T) string {
	t.Helper()
	prefix := t.TempDir()
	makeInstall(t, "install", "PREFIX="+prefix, "SYSCONFDIR="+filepath.Join(prefix, "etc"))
	return prefix
}

// run runs a command and returns its combined output, failing the test when it fails.
func run(t *testing.T, env []string, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Dir = t.TempDir()
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// TestUnitsVerify runs systemd-analyze verify on every unit make install lays out: it fails on
// unknown keys and sections, bad values, missing executables and unknown dependencies.
func TestUnitsVerify(t *testing.T) {
	analyze := tool(t, "systemd-analyze")
	prefix := installedUnits(t)
	// The credential drop-in (not installed: it needs /etc/podrun/token) is verified with the unit.
	dropin := filepath.Join(prefix, "lib/systemd/system/podrun.service.d")
	if err := os.MkdirAll(dropin, 0o755); err != nil {
		t.Fatal(err)
	}
	conf, err := os.ReadFile(filepath.Join(repoRoot, "deploy/systemd/system/token-credential.conf"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dropin, "token-credential.conf"), conf, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, kind := range []string{"system", "user"} {
		var units []string
		for _, name := range []string{"podrun.service", "podrun.socket"} {
			units = append(units, filepath.Join(prefix, "lib/systemd", kind, name))
		}
		args, env := append([]string{"verify"}, units...), []string(nil)
		if kind == "user" {
			// The user manager needs a runtime dir to resolve %t and friends.
			rt := t.TempDir()
			args, env = append([]string{"--user"}, args...), []string{"XDG_RUNTIME_DIR=" + rt}
		}
		// verify exits 0 on warnings (an unknown key is "ignoring"): any output is a failure.
		if out := run(t, env, analyze, args...); strings.TrimSpace(out) != "" {
			t.Errorf("systemd-analyze %s:\n%s", strings.Join(args, " "), out)
		}
	}
}

var exposureRE = regexp.MustCompile(`Overall exposure level for podrun\.service: ([0-9.]+) (\S+)`)

// TestRootfulUnitSecurity scores the rootful unit's sandboxing with systemd-analyze security
// (offline, from the unit file): it must stay "OK" or better, and docs/service.md must state
// the score it has.
func TestRootfulUnitSecurity(t *testing.T) {
	analyze := tool(t, "systemd-analyze")
	unit := filepath.Join(installedUnits(t), "lib/systemd/system/podrun.service")
	out := run(t, nil, analyze, "security", "--offline=true", "--no-pager", unit)
	m := exposureRE.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no overall exposure level in:\n%s", out)
	}
	score, level := m[1], m[2]
	t.Logf("exposure %s %s", score, level)
	if !slices.Contains([]string{"PERFECT", "SAFE", "OK"}, level) {
		t.Errorf("rootful unit's exposure is %s %s, want OK or better:\n%s", score, level, out)
	}
	doc, err := os.ReadFile(filepath.Join(repoRoot, "docs/service.md"))
	if err != nil {
		t.Fatal(err)
	}
	if want := "exposure level " + score + " " + level; !bytes.Contains(doc, []byte(want)) {
		t.Errorf("docs/service.md does not state the unit's score %q", want)
	}
}

// documentedFiles reads the list of installed files docs/service.md gives between its
// <!-- installed-files --> markers, one `path` per list item.
func documentedFiles(t *testing.T) []string {
	t.Helper()
	doc, err := os.ReadFile(filepath.Join(repoRoot, "docs/service.md"))
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(string(doc), "<!-- installed-files -->")
	if len(parts) != 3 {
		t.Fatalf("docs/service.md must hold the list of installed files between two <!-- installed-files --> markers")
	}
	var files []string
	for _, m := range regexp.MustCompile("(?m)^- `([^`]+)`").FindAllStringSubmatch(parts[1], -1) {
		files = append(files, m[1])
	}
	slices.Sort(files)
	return files
}

// filesUnder lists the regular files under root, as absolute paths below it.
func filesUnder(t *testing.T, root string) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			files = append(files, strings.TrimPrefix(path, root))
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(files)
	return files
}

// TestMakeInstallUninstall: make install DESTDIR=... lays out exactly the files docs/service.md
// lists, and make uninstall removes every one of them (and the /etc/podrun it made).
func TestMakeInstallUninstall(t *testing.T) {
	want := documentedFiles(t)
	dest := t.TempDir()
	makeInstall(t, "install", "DESTDIR="+dest)
	if got := filesUnder(t, dest); !slices.Equal(got, want) {
		t.Errorf("make install laid out\n  %s\nwant (docs/service.md)\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
	for _, f := range []string{"/usr/local/bin/podrun", "/usr/local/bin/podrun-shim"} {
		if fi, err := os.Stat(dest + f); err != nil || fi.Mode().Perm() != 0o755 {
			t.Errorf("%s: %v, mode %v; want an executable", f, err, fi.Mode())
		}
	}
	if unit, err := os.ReadFile(dest + "/usr/local/lib/systemd/system/podrun.service"); err != nil ||
		!bytes.Contains(unit, []byte("ExecStart=/usr/local/bin/podrun serve --config /etc/podrun/podrun.toml")) {
		t.Errorf("installed system unit does not start /usr/local/bin/podrun with /etc/podrun/podrun.toml (%v)", err)
	}
	makeInstall(t, "uninstall", "DESTDIR="+dest)
	if left := filesUnder(t, dest); len(left) != 0 {
		t.Errorf("make uninstall left %v", left)
	}
	if _, err := os.Stat(dest + "/etc/podrun"); !os.IsNotExist(err) {
		t.Errorf("make uninstall left /etc/podrun (%v)", err)
	}
}

// TestUninstallKeepsAnEditedConfig: the operator's edits to podrun.toml survive make uninstall.
func TestUninstallKeepsAnEditedConfig(t *testing.T) {
	dest := t.TempDir()
	makeInstall(t, "install", "DESTDIR="+dest)
	conf := dest + "/etc/podrun/podrun.toml"
	if err := os.WriteFile(conf, []byte("listen = \"127.0.0.1:9090\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	makeInstall(t, "uninstall", "DESTDIR="+dest)
	if got := filesUnder(t, dest); !slices.Equal(got, []string{"/etc/podrun/podrun.toml"}) {
		t.Errorf("after uninstall of an edited config: %v, want only /etc/podrun/podrun.toml", got)
	}
}
