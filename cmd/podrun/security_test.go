package main

import (
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/podrun/podrun/api"
	"github.com/podrun/podrun/runner"
)

// probeScript prints what the container itself sees of its confinement.
const probeScript = `grep -E '^(CapEff|CapPrm|CapBnd|NoNewPrivs):' /proc/self/status
echo "uid_map: $(head -1 /proc/self/uid_map | tr -s ' ' | sed 's/^ //')"
echo "memory: $(cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max)"
echo "memsw: $(cat /sys/fs/cgroup/memory/memory.memsw.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.swap.max)"
echo "pids: $(cat /sys/fs/cgroup/pids/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids.max)"
echo "cfs_quota: $(cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us 2>/dev/null || cut -d' ' -f1 /sys/fs/cgroup/cpu.max)"
if touch /rootfs-write 2>/dev/null; then echo "root_writable: yes"; else echo "root_writable: no"; fi
if touch /tmp/ok 2>/dev/null; then echo "tmp_writable: yes"; else echo "tmp_writable: no"; fi
echo "tmp_size_kb: $(df -k /tmp | tail -1 | tr -s ' ' | cut -d' ' -f2)"
echo "net: $(ls /sys/class/net | tr '\n' ' ')"
`

// probeFields parses "key: value" lines.
func probeFields(out string) map[string]string {
	f := map[string]string{}
	for _, line := range strings.Split(out, "\n") {
		k, v, ok := strings.Cut(line, ":")
		if ok {
			f[strings.TrimSpace(k)] = strings.TrimSpace(v)
		}
	}
	return f
}

// checkConfined asserts the confinement the container reported about itself.
func checkConfined(t *testing.T, who string, f map[string]string) {
	t.Helper()
	for _, k := range []string{"CapEff", "CapPrm", "CapBnd"} {
		if f[k] != "0000000000000000" {
			t.Errorf("%s: %s = %q, want no capabilities", who, k, f[k])
		}
	}
	if f["NoNewPrivs"] != "1" {
		t.Errorf("%s: NoNewPrivs = %q, want 1", who, f["NoNewPrivs"])
	}
	if m := f["uid_map"]; m == "" || m == "0 0 4294967295" || strings.HasPrefix(m, "0 0 ") {
		t.Errorf("%s: uid_map = %q, want a private user namespace", who, m)
	}
}

func TestAgentIsConfinedFromTheInside(t *testing.T) {
	d := startDaemon(t, nil)
	a := d.create(t, map[string]any{
		"image": testImage, "command": []string{"sh", "-c", probeScript},
		"limits": map[string]any{"memory": "64Mi", "pids": 32, "cpus": 0.5},
	})
	a = d.await(t, a.ID, 30*time.Second, api.StateSucceeded, api.StateFailed)
	out := d.logs(t, a.ID, "")
	t.Logf("inside the agent:\n%s", out)
	f := probeFields(out)
	checkConfined(t, "agent", f)
	want := map[string]string{
		"memory": "67108864", "memsw": "67108864", "pids": "32", "cfs_quota": "50000",
		"root_writable": "no", "tmp_writable": "yes", "tmp_size_kb": "65536", "net": "lo",
	}
	for k, v := range want {
		if f[k] != v {
			t.Errorf("%s = %q, want %q", k, f[k], v)
		}
	}
}

func TestExecIsConfinedLikeTheAgent(t *testing.T) {
	d := startDaemon(t, nil)
	a := d.create(t, map[string]any{"image": testImage, "command": []string{"sleep", "600"}, "limits": map[string]any{"memory": "48Mi"}})
	d.await(t, a.ID, 30*time.Second, api.StateRunning)
	var res api.ExecResult
	resp := d.call(t, "POST", "/v1/agents/"+a.ID+"/exec", map[string]any{
		"command": []string{"sh", "-c", probeScript + "cat\nexit 7\n"}, "stdin": "from stdin", "timeout": "20s",
	}, &res)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("exec = %d", resp.StatusCode)
	}
	if res.ExitCode != 7 || !strings.Contains(res.Stdout, "from stdin") {
		t.Fatalf("exec result = %+v, want exit 7 echoing stdin", res)
	}
	f := probeFields(res.Stdout)
	checkConfined(t, "exec", f)
	if f["memory"] != "50331648" || f["net"] != "lo" {
		t.Errorf("exec sees memory %q net %q, want the agent's 48Mi and lo only", f["memory"], f["net"])
	}
	var st api.Stats
	if resp := d.call(t, "GET", "/v1/agents/"+a.ID+"/stats", nil, &st); resp.StatusCode != http.StatusOK {
		t.Fatalf("stats = %d", resp.StatusCode)
	}
	if st.MemoryLimit != 48<<20 || st.PIDs < 1 {
		t.Fatalf("stats = %+v, want memory limit 48Mi and a pid", st)
	}
}

func TestMemoryHogIsOOMKilled(t *testing.T) {
	d := startDaemon(t, nil)
	a := d.create(t, map[string]any{
		"image": testImage, "command": []string{"sh", "-c", `x=0123456789; while true; do x="$x$x"; done`},
		"limits": map[string]any{"memory": "32Mi"},
	})
	a = d.await(t, a.ID, 60*time.Second, api.StateSucceeded, api.StateFailed)
	if a.State != api.StateFailed || a.Reason != runner.ReasonOOM || a.ExitCode == nil || *a.ExitCode != 137 {
		t.Fatalf("memory hog = %s/%s exit %v, want failed/oom 137", a.State, a.Reason, a.ExitCode)
	}
}

func TestForkBombIsContained(t *testing.T) {
	d := startDaemon(t, nil)
	a := d.create(t, map[string]any{
		"image": testImage, "command": []string{"sh", "-c", `bomb() { bomb | bomb & }; bomb; sleep 600`},
		"limits": map[string]any{"pids": 32},
	})
	d.await(t, a.ID, 30*time.Second, api.StateRunning, api.StateFailed)
	time.Sleep(2 * time.Second) // let it hit the limit
	start := time.Now()
	if resp := d.call(t, "GET", "/healthz", nil, nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("healthz = %d while a fork bomb runs", resp.StatusCode)
	}
	t.Logf("healthz answered in %v during the fork bomb", time.Since(start))
	var st api.Stats
	if resp := d.call(t, "GET", "/v1/agents/"+a.ID+"/stats", nil, &st); resp.StatusCode == http.StatusOK && st.PIDs > 32 {
		t.Fatalf("fork bomb holds %d pids, limit 32", st.PIDs)
	}
	d.call(t, "DELETE", "/v1/agents/"+a.ID, nil, nil)
	a = d.await(t, a.ID, 60*time.Second, api.StateTerminated)
	containerGone(t, a.ContainerID, 10*time.Second)
}

var fieldRE = regexp.MustCompile(`"field":"([^"]*)"`)

func TestBadInputIsRejectedAndCreatesNothing(t *testing.T) {
	d := startDaemon(t, nil)
	big := `{"image":"` + testImage + `","stdin":"` + strings.Repeat("x", 2<<20) + `"}`
	cases := []struct {
		name, body string
		code       int
		field      string
	}{
		{"no image", `{"command":["true"]}`, 400, "image"},
		{"malformed image", `{"image":"Not A Ref"}`, 400, "image"},
		{"empty command element", `{"image":"` + testImage + `","command":["echo",""]}`, 400, "command[1]"},
		{"env key with =", `{"image":"` + testImage + `","env":{"A=B":"x"}}`, 400, "env.A=B"},
		{"ttl not a duration", `{"image":"` + testImage + `","ttl":"soon"}`, 400, "ttl"},
		{"ttl negative", `{"image":"` + testImage + `","ttl":"-5s"}`, 400, "ttl"},
		{"ttl over max", `{"image":"` + testImage + `","ttl":"48h"}`, 400, "ttl"},
		{"memory zero", `{"image":"` + testImage + `","limits":{"memory":0}}`, 400, "limits.memory"},
		{"memory over max", `{"image":"` + testImage + `","limits":{"memory":"64Gi"}}`, 400, "limits.memory"},
		{"cpus negative", `{"image":"` + testImage + `","limits":{"cpus":-1}}`, 400, "limits.cpus"},
		{"pids over max", `{"image":"` + testImage + `","limits":{"pids":100000}}`, 400, "limits.pids"},
		{"unknown field", `{"image":"` + testImage + `","privileged":true}`, 400, "privileged"},
		{"body too large", big, 413, ""},
		{"image not present", `{"image":"localhost/podrun/does-not-exist:latest"}`, 422, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp := d.call(t, "POST", "/v1/agents", c.body, nil)
			body := readAll(resp)
			if resp.StatusCode != c.code {
				t.Fatalf("status %d (%s), want %d", resp.StatusCode, body, c.code)
			}
			if !strings.Contains(body, `"error":{"code":`) {
				t.Fatalf("body %s lacks the error shape", body)
			}
			if c.field != "" {
				if m := fieldRE.FindStringSubmatch(body); m == nil || m[1] != c.field {
					t.Fatalf("body %s does not name field %q", body, c.field)
				}
			}
		})
	}
	var page api.AgentPage
	d.call(t, "GET", "/v1/agents", nil, &page)
	if len(page.Agents) != 0 {
		t.Fatalf("bad input created %d agents", len(page.Agents))
	}
	cs, err := testSandbox(t).List(t.Context(), map[string]string{runner.LabelInstance: d.Instance()})
	if err != nil || len(cs) != 0 {
		t.Fatalf("bad input created %d containers (err %v)", len(cs), err)
	}
}

func readAll(resp *http.Response) string {
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}
