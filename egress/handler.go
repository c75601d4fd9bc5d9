package egress

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"
)

// handler serves one listener's clients.
type handler struct {
	p *Proxy
	l *listener
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodConnect {
		h.connect(w, r)
		return
	}
	h.forward(w, r)
}

// destination splits a CONNECT authority or a request's host into a
// lower-case host (an IPv6 address without brackets) and a port, defPort
// when none is given.
func destination(hostport string, defPort int) (string, int, error) {
	host, portStr, err := net.SplitHostPort(hostport)
	if err != nil {
		if defPort == 0 {
			return "", 0, fmt.Errorf("%q: want host:port", hostport)
		}
		host, portStr = strings.Trim(hostport, "[]"), strconv.Itoa(defPort)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil || port < 1 || port > 65535 || host == "" {
		return "", 0, fmt.Errorf("%q: bad host or port", hostport)
	}
	return strings.TrimSuffix(strings.ToLower(host), "."), port, nil
}

// errDenied is a destination the allow list does not let through.
var errDenied = errors.New("not in the allow list")

// resolve decides about host:port and returns the address to dial, or
// errDenied (wrapped with why) for a destination that is not allowed.
func (h *handler) resolve(ctx context.Context, host string, port int) (string, error) {
	if a, err := netip.ParseAddr(host); err == nil {
		a = a.Unmap()
		for _, r := range h.l.rules {
			if r.MatchAddr(a, port) {
				return netip.AddrPortFrom(a, uint16(port)).String(), nil
			}
		}
		return "", fmt.Errorf("address %s port %d: %w", a, port, errDenied)
	}
	named := false
	for _, r := range h.l.rules {
		if r.MatchName(host, port) {
			named = true
			break
		}
	}
	if !named {
		return "", fmt.Errorf("%s port %d: %w", host, port, errDenied)
	}
	if pinned, ok := h.p.cfg.Hosts[host]; ok {
		a, err := netip.ParseAddr(pinned)
		if err != nil {
			return "", fmt.Errorf("egress host %s pinned to %q: %v", host, pinned, err)
		}
		return netip.AddrPortFrom(a, uint16(port)).String(), nil
	}
	addrs, err := h.p.cfg.Resolver.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return "", fmt.Errorf("resolve %s: %v", host, err)
	}
	for _, a := range addrs {
		a = a.Unmap()
		if public(a) || h.addrAllowed(a, port) {
			return netip.AddrPortFrom(a, uint16(port)).String(), nil
		}
	}
	return "", fmt.Errorf("%s resolves to %v, none of them public or allowed by an address rule: %w", host, addrs, errDenied)
}

func (h *handler) nameAllowed(name string, port int) bool {
	for _, r := range h.l.rules {
		if r.MatchName(name, port) {
			return true
		}
	}
	return false
}

func (h *handler) addrAllowed(a netip.Addr, port int) bool {
	for _, r := range h.l.rules {
		if r.MatchAddr(a, port) {
			return true
		}
	}
	return false
}

// public reports whether a is a global unicast address outside the private,
// shared (CGNAT) and documentation ranges: a name in the allow list must not
// lead to the host's loopback or its neighbours unless an address rule says so.
func public(a netip.Addr) bool {
	if !a.IsGlobalUnicast() || a.IsPrivate() {
		return false
	}
	for _, p := range nonPublic {
		if p.Contains(a) {
			return false
		}
	}
	return true
}

var nonPublic = []netip.Prefix{
	netip.MustParsePrefix("100.64.0.0/10"),   // shared address space (RFC 6598)
	netip.MustParsePrefix("192.0.0.0/24"),    // IETF protocol assignments
	netip.MustParsePrefix("198.18.0.0/15"),   // benchmarking
	netip.MustParsePrefix("192.0.2.0/24"),    // documentation
	netip.MustParsePrefix("198.51.100.0/24"), // documentation
	netip.MustParsePrefix("203.0.113.0/24"),  // documentation
	netip.MustParsePrefix("2001:db8::/32"),   // documentation
	netip.MustParsePrefix("64:ff9b:1::/48"),  // local-use NAT64
}

// deny answers 403 and records the denial. The connection is closed after
// it: what a client sent after a refused CONNECT was meant for the tunnel
// and must not be read as requests of its own.
func (h *handler) deny(w http.ResponseWriter, d Decision, err error) {
	w.Header().Set("Connection", "close")
	d.Reason = err.Error()
	h.p.record(h.l, d)
	status := http.StatusForbidden
	if !errors.Is(err, errDenied) {
		status = http.StatusBadGateway
	}
	http.Error(w, "podrun egress: "+err.Error(), status)
}

// connect tunnels a CONNECT to an allowed destination.
func (h *handler) connect(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	d := Decision{Method: r.Method}
	host, port, err := destination(r.Host, 0)
	if err != nil {
		h.deny(w, d, fmt.Errorf("CONNECT %w: %w", err, errDenied))
		return
	}
	d.Host, d.Port = host, port
	// Not the request's context: it ends when the client half-closes its
	// side, which a client that sent everything for the tunnel at once may
	// do before the tunnel is up (`printf ... | nc`, say).
	addr, err := h.resolve(h.l.ctx, host, port)
	if err != nil {
		h.deny(w, d, err)
		return
	}
	d.Allowed, d.Addr = true, addr
	up, err := h.p.dialContext(h.l.ctx, addr)
	if err != nil {
		d.Reason = err.Error()
		h.p.record(h.l, d)
		w.Header().Set("Connection", "close")
		http.Error(w, "podrun egress: "+err.Error(), http.StatusBadGateway)
		return
	}
	rc := http.NewResponseController(w)
	client, buf, err := rc.Hijack()
	if err != nil {
		up.Close()
		d.Reason = err.Error()
		h.p.record(h.l, d)
		return
	}
	_, _ = client.Write([]byte("HTTP/1.1 200 Connection established\r\n\r\n"))
	// What the client sent after the CONNECT line, already buffered, goes first.
	var pre []byte
	if n := buf.Reader.Buffered(); n > 0 {
		pre, _ = buf.Reader.Peek(n)
	}
	// A TLS client names the server it wants in its ClientHello; it must be
	// the name it asked to connect to, or another name the list allows:
	// otherwise a shared front end (a CDN) behind an allowed name would
	// serve it any other site (domain fronting).
	sni, pre := readSNI(client, pre)
	if sni != "" && sni != host && !h.nameAllowed(sni, port) {
		client.Close()
		up.Close()
		d.Allowed, d.Addr = false, ""
		d.Reason = fmt.Sprintf("TLS server name %s (CONNECT %s) port %d: %v", sni, host, port, errDenied)
		h.p.record(h.l, d)
		return
	}
	d.Sent, d.Received = h.splice(client, up, pre)
	d.Duration = time.Since(start)
	h.p.record(h.l, d)
}

// splice copies both ways until both directions end or the listener closes,
// and returns the bytes sent upstream and received back.
func (h *handler) splice(client, up net.Conn, pre []byte) (sent, received int64) {
	defer client.Close()
	defer up.Close()
	stop := context.AfterFunc(h.l.ctx, func() { client.Close(); up.Close() })
	defer stop()
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		if len(pre) > 0 {
			n, _ := up.Write(pre)
			sent += int64(n)
		}
		n, _ := io.Copy(up, client)
		sent += n
		closeWrite(up)
	}()
	go func() {
		defer wg.Done()
		n, _ := io.Copy(client, up)
		received = n
		closeWrite(client)
	}()
	wg.Wait()
	return sent, received
}

func closeWrite(c net.Conn) {
	if cw, ok := c.(interface{ CloseWrite() error }); ok {
		_ = cw.CloseWrite()
	}
}

// hopHeaders are the connection's own, never forwarded (RFC 9110, 7.6.1).
var hopHeaders = []string{"Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate",
	"Proxy-Authorization", "Te", "Trailer", "Transfer-Encoding", "Upgrade"}

// forward proxies one plain HTTP request with an absolute URI.
func (h *handler) forward(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	d := Decision{Method: r.Method}
	if r.URL.Scheme != "http" || r.URL.Host == "" {
		h.deny(w, d, fmt.Errorf("%s %s: a proxy request needs an absolute http:// URI (use CONNECT for TLS): %w", r.Method, r.URL, errDenied))
		return
	}
	host, port, err := destination(r.URL.Host, 80)
	if err != nil {
		h.deny(w, d, fmt.Errorf("%w: %w", err, errDenied))
		return
	}
	d.Host, d.Port = host, port
	// The listener's context, not the request's, as for CONNECT.
	addr, err := h.resolve(h.l.ctx, host, port)
	if err != nil {
		h.deny(w, d, err)
		return
	}
	d.Allowed, d.Addr = true, addr
	out := r.Clone(h.l.ctx)
	out.RequestURI = ""
	for _, k := range hopHeaders {
		out.Header.Del(k)
	}
	body := &counter{r: r.Body}
	if r.Body != nil && r.Body != http.NoBody {
		out.Body = body
	}
	tr := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) { return h.p.dialContext(ctx, addr) },
		Proxy:       nil, DisableKeepAlives: true, ResponseHeaderTimeout: time.Minute,
	}
	defer tr.CloseIdleConnections()
	resp, err := tr.RoundTrip(out)
	if err != nil {
		d.Reason, d.Sent = err.Error(), body.n
		h.p.record(h.l, d)
		http.Error(w, "podrun egress: "+err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	for _, k := range hopHeaders {
		resp.Header.Del(k)
	}
	for k, vs := range resp.Header {
		w.Header()[k] = vs
	}
	w.WriteHeader(resp.StatusCode)
	d.Received, _ = io.Copy(w, resp.Body)
	d.Sent, d.Duration = body.n, time.Since(start)
	h.p.record(h.l, d)
}

// counter counts the bytes read through it.
type counter struct {
	r io.ReadCloser
	n int64
}

func (c *counter) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

func (c *counter) Close() error { return c.r.Close() }
