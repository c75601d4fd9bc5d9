package egress

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// recorder keeps the decisions a proxy hands it.
type recorder struct {
	mu sync.Mutex
	ds []Decision
}

func (r *recorder) record(d Decision) {
	r.mu.Lock()
	r.ds = append(r.ds, d)
	r.mu.Unlock()
}

// await returns the decisions once there are n, or after 5 s: a tunnel's
// is recorded when both its directions have ended, after its client has read.
func (r *recorder) await(n int) []Decision {
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if ds := r.all(); len(ds) >= n {
			return ds
		}
	}
	return r.all()
}

func (r *recorder) all() []Decision {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Decision(nil), r.ds...)
}

// newTestProxy is a proxy whose test names are pinned to loopback, where the
// test's own servers listen: no name is ever looked up in DNS.
func newTestProxy(t *testing.T) (*Proxy, *recorder) {
	t.Helper()
	rec := &recorder{}
	p, err := New(Config{Dir: filepath.Join(t.TempDir(), "egress"), Record: rec.record,
		Hosts: map[string]string{"allowed.test": "127.0.0.1", "other.test": "127.0.0.1", "also.allowed.test": "127.0.0.1"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Shutdown)
	return p, rec
}

// server is an HTTP server of the test's own on loopback that answers "hello from PATH".
func server(t *testing.T) (*httptest.Server, string) {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		fmt.Fprintf(w, "hello from %s %s", r.URL.Path, body)
	}))
	t.Cleanup(srv.Close)
	u, _ := url.Parse(srv.URL)
	return srv, u.Port()
}

// viaProxy is an HTTP client whose proxy is the listener in dir.
func viaProxy(dir string) *http.Client {
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		Proxy: http.ProxyURL(&url.URL{Scheme: "http", Host: "proxy"}),
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", filepath.Join(dir, SocketName))
		},
	}}
}

// connect sends CONNECT authority to the listener in dir and, if it is let
// through, a plain request in the tunnel; it returns the CONNECT status and
// what came back through the tunnel.
func connect(t *testing.T, dir, authority string) (int, string) {
	t.Helper()
	c, err := net.Dial("unix", filepath.Join(dir, SocketName))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// Sent at once with the request in the tunnel, as `printf ... | nc` does:
	// what follows the CONNECT in the proxy's buffer belongs to the tunnel.
	// It then half-closes, as nc does at the end of its input.
	fmt.Fprintf(c, "CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\nGET /tunnel HTTP/1.0\r\nHost: x\r\n\r\n", authority, authority)
	_ = c.(*net.UnixConn).CloseWrite()
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, &http.Request{Method: http.MethodConnect})
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		return resp.StatusCode, ""
	}
	inner, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(inner.Body)
	return resp.StatusCode, string(b)
}

func get(t *testing.T, c *http.Client, u string) (int, string) {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestAllowList: through CONNECT and plain HTTP, an allowed name and port
// work, and a denied name, a denied port, a raw address and a name resolving
// to loopback through DNS are refused (403), each decision recorded with its
// agent, destination and bytes.
func TestAllowList(t *testing.T) {
	p, rec := newTestProxy(t)
	_, port := server(t)
	dir, err := p.Open("a1", "agent-1", []string{"allowed.test:" + port, "*.allowed.test", "localhost:" + port})
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(filepath.Join(dir, SocketName)); err != nil || fi.Mode().Perm() != 0o666 {
		t.Fatalf("socket: %v, %v; want mode 0666 for the container's unmapped users", fi, err)
	}
	c := viaProxy(dir)
	if code, body := get(t, c, "http://allowed.test:"+port+"/x"); code != 200 || body != "hello from /x " {
		t.Errorf("allowed plain HTTP: %d %q", code, body)
	}
	if code, body := get(t, c, "http://also.allowed.test:"+port+"/w"); code != 200 || body != "hello from /w " {
		t.Errorf("allowed by the wildcard: %d %q", code, body)
	}
	if code, body := connect(t, dir, "allowed.test:"+port); code != 200 || body != "hello from /tunnel " {
		t.Errorf("allowed CONNECT: %d %q", code, body)
	}
	for _, u := range []string{"http://other.test:" + port + "/", "http://allowed.test:1/", "http://127.0.0.1:" + port + "/", "http://localhost:" + port + "/"} {
		if code, body := get(t, c, u); code != http.StatusForbidden || !strings.Contains(body, "podrun egress") {
			t.Errorf("GET %s: %d %q, want 403", u, code, body)
		}
	}
	for _, a := range []string{"other.test:" + port, "127.0.0.1:" + port, "[::1]:" + port, "localhost:" + port} {
		if code, _ := connect(t, dir, a); code != http.StatusForbidden {
			t.Errorf("CONNECT %s: %d, want 403", a, code)
		}
	}
	ds := rec.await(11)
	var allowed, denied int
	for _, d := range ds {
		if d.Key != "a1" || d.Agent != "agent-1" {
			t.Errorf("decision %+v: want key a1, agent agent-1", d)
		}
		if d.Allowed {
			allowed++
			if d.Received == 0 || d.Addr == "" {
				t.Errorf("allowed decision without bytes or address: %+v", d)
			}
		} else {
			denied++
			if d.Reason == "" || d.Sent != 0 {
				t.Errorf("denied decision %+v", d)
			}
		}
	}
	if allowed != 3 || denied != 8 {
		t.Errorf("%d allowed and %d denied decisions, want 3 and 8: %+v", allowed, denied, ds)
	}
}

// TestListenersSeeOnlyTheirOwnList: two listeners with different lists let
// through only their own names, and each decision names its own agent;
// Bind changes the agent a listener speaks for; Close removes its socket.
func TestListenersSeeOnlyTheirOwnList(t *testing.T) {
	p, rec := newTestProxy(t)
	_, port := server(t)
	da, err := p.Open("a", "agent-a", []string{"allowed.test:" + port})
	if err != nil {
		t.Fatal(err)
	}
	db, err := p.Open("warm-b", "", []string{"other.test:" + port})
	if err != nil {
		t.Fatal(err)
	}
	p.Bind("warm-b", "agent-b")
	for _, tc := range []struct {
		dir, host string
		want      int
	}{{da, "allowed.test", 200}, {da, "other.test", 403}, {db, "other.test", 200}, {db, "allowed.test", 403}} {
		if code, _ := get(t, viaProxy(tc.dir), "http://"+tc.host+":"+port+"/"); code != tc.want {
			t.Errorf("%s via %s: %d, want %d", tc.host, filepath.Base(tc.dir), code, tc.want)
		}
	}
	for _, d := range rec.all() {
		if want := map[string]string{"a": "agent-a", "warm-b": "agent-b"}[d.Key]; d.Agent != want {
			t.Errorf("decision of %s names agent %q, want %q", d.Key, d.Agent, want)
		}
	}
	p.Close("a")
	if _, err := os.Stat(filepath.Join(da, SocketName)); !os.IsNotExist(err) {
		t.Errorf("after Close the socket is still there: %v", err)
	}
	if code, _ := get(t, viaProxy(db), "http://other.test:"+port+"/"); code != 200 {
		t.Errorf("closing one listener broke another: %d", code)
	}
}

// TestReopenKeepsTheDirectory: opening a key again (podrun restarted while
// the container ran on) serves in the same directory, which the container
// has mounted, and a tunnel open at Close is ended.
func TestReopenKeepsTheDirectory(t *testing.T) {
	p, _ := newTestProxy(t)
	_, port := server(t)
	d1, err := p.Open("k", "x", []string{"allowed.test:" + port})
	if err != nil {
		t.Fatal(err)
	}
	before, _ := os.Stat(d1)
	d2, err := p.Open("k", "x", []string{"allowed.test:" + port})
	after, _ := os.Stat(d2)
	if err != nil || d1 != d2 || !os.SameFile(before, after) {
		t.Fatalf("reopen: %s then %s (%v): want the same directory", d1, d2, err)
	}
	if code, _ := get(t, viaProxy(d2), "http://allowed.test:"+port+"/"); code != 200 {
		t.Errorf("after reopening: %d", code)
	}
}

// TestPrune removes the directories of listeners that are not open (left by
// a previous run) and keeps the open ones.
func TestPrune(t *testing.T) {
	p, _ := newTestProxy(t)
	if err := os.MkdirAll(filepath.Join(p.cfg.Dir, "gone-agent"), 0o711); err != nil {
		t.Fatal(err)
	}
	dir, err := p.Open("live", "agent", []string{"allowed.test:80"})
	if err != nil {
		t.Fatal(err)
	}
	removed, err := p.Prune()
	if err != nil || len(removed) != 1 || removed[0] != "gone-agent" {
		t.Errorf("Prune = %v, %v; want [gone-agent]", removed, err)
	}
	if _, err := os.Stat(filepath.Join(dir, SocketName)); err != nil {
		t.Errorf("the open listener's socket: %v", err)
	}
}

// TestTLSServerNameMustBeAllowed: through a CONNECT to an allowed name, a
// TLS client asking for another name in its ClientHello (domain fronting) is
// cut off and the decision recorded as denied; the allowed name, or another
// name the list allows, gets through to the test's own TLS server.
func TestTLSServerNameMustBeAllowed(t *testing.T) {
	p, rec := newTestProxy(t)
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "tls hello %s", r.Host)
	}))
	defer srv.Close()
	u, _ := url.Parse(srv.URL)
	port := u.Port()
	dir, err := p.Open("k", "agent", []string{"allowed.test:" + port, "*.allowed.test:" + port})
	if err != nil {
		t.Fatal(err)
	}
	try := func(serverName string) (string, error) {
		c, err := net.Dial("unix", filepath.Join(dir, SocketName))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		fmt.Fprintf(c, "CONNECT allowed.test:%s HTTP/1.1\r\nHost: x\r\n\r\n", port)
		br := bufio.NewReader(c)
		resp, err := http.ReadResponse(br, &http.Request{Method: http.MethodConnect})
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("CONNECT: %v, %v", resp, err)
		}
		tc := tls.Client(c, &tls.Config{ServerName: serverName, InsecureSkipVerify: true})
		_ = tc.SetDeadline(time.Now().Add(10 * time.Second))
		if err := tc.Handshake(); err != nil {
			return "", err
		}
		fmt.Fprintf(tc, "GET / HTTP/1.0\r\nHost: %s\r\n\r\n", serverName)
		inner, err := http.ReadResponse(bufio.NewReader(tc), nil)
		if err != nil {
			return "", err
		}
		b, _ := io.ReadAll(inner.Body)
		return string(b), nil
	}
	for _, name := range []string{"allowed.test", "also.allowed.test"} {
		if got, err := try(name); err != nil || got != "tls hello "+name {
			t.Errorf("TLS for %s through CONNECT allowed.test: %q, %v", name, got, err)
		}
	}
	if got, err := try("evil.example"); err == nil {
		t.Errorf("TLS for evil.example through CONNECT allowed.test got through: %q", got)
	}
	ds := rec.await(3)
	var denied []string
	for _, d := range ds {
		if !d.Allowed {
			denied = append(denied, d.Reason)
		}
	}
	if len(denied) != 1 || !strings.Contains(denied[0], "evil.example") {
		t.Errorf("denied decisions %q, want the one for evil.example", denied)
	}
}
