package main

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/podrun/podrun/api"
	"github.com/podrun/podrun/configs"
)

// hostAddr is a non-loopback address of this host, where a raw connection
// from a container would land if it had any route: the test's own servers
// listen there to see that nothing arrives.
func hostAddr(t *testing.T) string {
	t.Helper()
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil && !n.IP.IsLoopback() {
			return n.IP.String()
		}
	}
	t.Fatal("no non-loopback IPv4 address on this host")
	return ""
}

// hits is an HTTP server of the test's own that answers "hello PATH" and
// counts the requests it got.
type hits struct {
	mu    sync.Mutex
	paths []string
	port  string
}

func serveHits(t *testing.T, addr string) *hits {
	t.Helper()
	ln, err := net.Listen("tcp", addr+":0")
	if err != nil {
		t.Fatal(err)
	}
	h := &hits{}
	_, h.port, _ = net.SplitHostPort(ln.Addr().String())
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.mu.Lock()
		h.paths = append(h.paths, r.URL.Path)
		h.mu.Unlock()
		fmt.Fprintf(w, "hello %s\n", r.URL.Path)
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return h
}

func (h *hits) got() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.paths...)
}

// TestEgressFromInside: agents with allow lists reach their allowed names
// through podrun's proxy (plain HTTP through HTTP_PROXY, and CONNECT), and
// nothing else: a denied name, a raw address through the proxy, a raw
// connection around it and DNS to an outside resolver fail. Two agents with
// different lists see only their own, each decision is an event in the
// agent's own history and a metric, and a function (cold and from its warm
// pool) is confined alike. The names resolve through the proxy's pins to
// the test's own server on loopback.
func TestEgressFromInside(t *testing.T) {
	local := serveHits(t, "127.0.0.1")
	hostIP := hostAddr(t)
	outside := serveHits(t, hostIP)
	dns, err := net.ListenPacket("udp", hostIP+":0")
	if err != nil {
		t.Fatal(err)
	}
	defer dns.Close()
	_, dnsPort, _ := net.SplitHostPort(dns.LocalAddr().String())
	d := startDaemon(t, func(c *configs.Config) {
		c.Egress.Hosts = map[string]string{"allowed.test": "127.0.0.1", "other.test": "127.0.0.1"}
	})
	p := local.port
	script := func(mine, theirs string) string {
		return strings.Join([]string{
			`wget -q -O- http://` + mine + `:` + p + `/plain-` + mine + `; echo "plain=$?"`,
			`wget -q -O- http://` + theirs + `:` + p + `/denied-` + theirs + ` 2>&1; echo "denied=$?"`,
			`printf 'CONNECT ` + mine + `:` + p + ` HTTP/1.1\r\nHost: x\r\n\r\nGET /tunnel-` + mine + ` HTTP/1.0\r\n\r\n' | nc 127.0.0.1 3128 | tail -n 1`,
			`wget -q -O- http://127.0.0.1:` + p + `/by-address 2>&1; echo "address=$?"`,
			`wget -Y off -q -T 3 -O- http://` + hostIP + `:` + outside.port + `/raw 2>&1; echo "raw=$?"`,
			`nc -w 3 ` + hostIP + ` ` + outside.port + ` </dev/null 2>&1; echo "rawnc=$?"`,
			`wget -Y off -q -T 3 -O- http://` + mine + `:` + p + `/direct 2>&1; echo "direct=$?"`,
			`nslookup ` + mine + ` ` + hostIP + ` >/tmp/dns 2>&1; echo "dns=$?"; cat /tmp/dns`,
			`nc -w 2 ` + hostIP + ` ` + dnsPort + ` </dev/null >/dev/null 2>&1; echo "dnsport=$?"`,
		}, "\n")
	}
	a := d.create(t, api.AgentRequest{Command: []string{"sh", "-c", script("allowed.test", "other.test")},
		Egress: &api.Egress{Allow: []string{"allowed.test:" + p}}})
	b := d.create(t, api.AgentRequest{Command: []string{"sh", "-c", script("other.test", "allowed.test")},
		Egress: &api.Egress{Allow: []string{"Other.test:" + p}}})
	if b.Egress == nil || b.Egress.Allow[0] != "other.test:"+p {
		t.Errorf("created agent shows egress %+v, want the canonical rule", b.Egress)
	}
	for _, tc := range []struct {
		id, mine, theirs string
	}{{a.ID, "allowed.test", "other.test"}, {b.ID, "other.test", "allowed.test"}} {
		got := d.await(t, tc.id, 2*time.Minute, api.StateSucceeded, api.StateFailed)
		out := d.logs(t, tc.id, api.LogOptions{})
		for _, want := range []string{"hello /plain-" + tc.mine + "\nplain=0", "hello /tunnel-" + tc.mine, "denied=1", "address=1", "raw=1", "rawnc=1", "direct=1", "dns=1", "dnsport=1"} {
			if !strings.Contains(out, want) {
				t.Errorf("agent %s (%s, allowed %s): output lacks %q:\n%s", tc.id, got.State, tc.mine, want, out)
			}
		}
		if !strings.Contains(out, "403") {
			t.Errorf("agent %s: the denied name was not answered 403 by the proxy:\n%s", tc.id, out)
		}
		var allowed, denied []string
		for _, e := range d.events(t, tc.id) {
			if e.Type != api.EventEgress {
				continue
			}
			if e.Name == api.EgressAllowed {
				allowed = append(allowed, e.Detail)
			} else {
				denied = append(denied, e.Detail)
			}
		}
		if len(allowed) != 2 || !strings.Contains(strings.Join(allowed, "|"), tc.mine) || strings.Contains(strings.Join(allowed, "|"), tc.theirs) ||
			!strings.Contains(strings.Join(allowed, "|"), "received") {
			t.Errorf("agent %s allowed events %q: want its two connections to %s, with bytes", tc.id, allowed, tc.mine)
		}
		if len(denied) != 2 || !strings.Contains(strings.Join(denied, "|"), tc.theirs) || !strings.Contains(strings.Join(denied, "|"), "127.0.0.1") {
			t.Errorf("agent %s denied events %q: want %s and the raw address", tc.id, denied, tc.theirs)
		}
	}
	if got := outside.got(); len(got) != 0 {
		t.Errorf("the server outside the proxy got %q from containers", got)
	}
	for _, path := range local.got() {
		if strings.HasPrefix(path, "/denied") || path == "/by-address" || path == "/direct" {
			t.Errorf("the loopback server got %s, which the proxy should have refused", path)
		}
	}
	_, m := d.metrics(t)
	if m[`podrun_egress_decisions_total{decision="allowed"}`] < 4 || m[`podrun_egress_decisions_total{decision="denied"}`] < 4 ||
		m[`podrun_egress_bytes_total{direction="received"}`] == 0 {
		t.Errorf("egress metrics: allowed %v, denied %v, received %v", m[`podrun_egress_decisions_total{decision="allowed"}`],
			m[`podrun_egress_decisions_total{decision="denied"}`], m[`podrun_egress_bytes_total{direction="received"}`])
	}

	fn := `wget -q -O- http://allowed.test:` + p + `/fn; wget -q -O- http://other.test:` + p + `/fn-denied 2>&1 | grep -c 403`
	for _, warm := range []int{0, 1} {
		name := fmt.Sprintf("egress-%d", warm)
		d.putFunction(t, name, api.FunctionRequest{Command: []string{"sh", "-c", fn}, Warm: ptr(warm),
			Egress: &api.Egress{Allow: []string{"allowed.test:" + p}}})
		if warm > 0 {
			awaitWarm(t, d, name, "")
		}
		ans := d.invoke(t, name, nil, nil)
		if string(ans.out) != "hello /fn\n1\n" {
			t.Errorf("function %s (start %s): %q", name, ans.header.Get(api.HeaderStart), ans.out)
		}
		var names []string
		for _, e := range d.events(t, ans.agentID()) {
			if e.Type == api.EventEgress {
				names = append(names, e.Name)
			}
		}
		if strings.Join(names, ",") != "allowed,denied" {
			t.Errorf("function %s: invocation's egress events %q, want allowed,denied", name, names)
		}
	}
}

// TestEgressUnderGVisor: a gVisor agent reaches its allowed name through the
// proxy socket (runsc --host-uds=open lets the sandbox connect to it) and
// nothing else.
func TestEgressUnderGVisor(t *testing.T) {
	gv := gvisorSocket(t)
	local := serveHits(t, "127.0.0.1")
	d := startDaemon(t, func(c *configs.Config) {
		c.Sandbox.GVisorSocket = gv
		c.Egress.Hosts = map[string]string{"allowed.test": "127.0.0.1", "other.test": "127.0.0.1"}
	})
	p := local.port
	a := d.create(t, api.AgentRequest{Isolation: api.IsolationGVisor, Egress: &api.Egress{Allow: []string{"allowed.test:" + p}},
		Command: []string{"sh", "-c", `uname -r; wget -q -O- http://allowed.test:` + p + `/gv; wget -q -O- http://other.test:` + p + `/no 2>&1; echo "denied=$?"; wget -Y off -q -T 3 -O- http://allowed.test:` + p + `/direct 2>&1; echo "direct=$?"`}})
	a = d.await(t, a.ID, 2*time.Minute, api.StateSucceeded, api.StateFailed)
	out := d.logs(t, a.ID, api.LogOptions{})
	for _, want := range []string{"4.4.0\nhello /gv\n", "403", "denied=1", "direct=1"} {
		if !strings.Contains(out, want) {
			t.Errorf("gVisor agent (%s %s): output lacks %q:\n%s", a.State, a.Message, want, out)
		}
	}
}

// TestEgressSurvivesARestart: an agent's proxy listener dies with podrun
// (kill -9); the restarted podrun takes the agent back and opens its
// listener again in the directory the container has mounted, so the agent
// reaches its allowed name again; the directory of an agent that ended
// while podrun was down is pruned.
func TestEgressSurvivesARestart(t *testing.T) {
	local := serveHits(t, "127.0.0.1")
	dataDir := t.TempDir()
	conf := filepath.Join(t.TempDir(), "podrun.toml")
	if err := os.WriteFile(conf, []byte("[egress.hosts]\n\"allowed.test\" = \"127.0.0.1\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	p := startProcess(t, dataDir, "--config", conf)
	c := p.client(t)
	allow := &api.Egress{Allow: []string{"allowed.test:" + local.port}}
	loop := c.create(t, api.AgentRequest{Egress: allow, TTL: "5m", Command: []string{"sh", "-c",
		`while true; do wget -q -O /dev/null http://allowed.test:` + local.port + `/loop; sleep 0.2; done`}})
	brief := c.create(t, api.AgentRequest{Egress: allow, Command: []string{"sh", "-c", "sleep 2"}})
	c.await(t, loop.ID, 30*time.Second, api.StateRunning)
	c.await(t, brief.ID, 30*time.Second, api.StateRunning)
	id, err := os.ReadFile(filepath.Join(dataDir, "instance-id"))
	if err != nil {
		t.Fatal(err)
	}
	dirs := filepath.Join(configs.Default().Sandbox.StateDir, "egress", strings.TrimSpace(string(id)))
	if _, err := os.Stat(filepath.Join(dirs, brief.ID)); err != nil {
		t.Fatalf("the listener directory of a running agent: %v", err)
	}
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = p.cmd.Wait()
	time.Sleep(3 * time.Second) // brief ends while podrun is down
	before := len(local.got())

	p = startProcess(t, dataDir, "--config", conf)
	defer func() {
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		_ = p.cmd.Wait()
	}()
	c = p.client(t)
	deadline := time.Now().Add(30 * time.Second)
	for len(local.got()) < before+3 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	if n := len(local.got()); n < before+3 {
		t.Errorf("after the restart the agent got through %d more times, want at least 3", n-before)
	}
	if a := c.get(t, loop.ID); a.State != api.StateRunning {
		t.Errorf("looping agent is %s after the restart", a.State)
	}
	c.await(t, brief.ID, 30*time.Second, api.StateSucceeded, api.StateFailed)
	if _, err := os.Stat(filepath.Join(dirs, brief.ID)); !os.IsNotExist(err) {
		t.Errorf("the listener directory of an agent that ended while podrun was down is still there: %v", err)
	}
	for _, a := range []api.Agent{loop, brief} {
		c.delete(t, a.ID)
		containerGone(t, c.get(t, a.ID).ContainerID, 30*time.Second)
	}
}
