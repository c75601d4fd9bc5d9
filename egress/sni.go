package egress

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"strings"
	"time"
)

// sniWait is how long a tunnel waits for the client's first bytes to tell
// TLS from a protocol where the server speaks first (SMTP, SSH banners).
const sniWait = 500 * time.Millisecond

// errSeen ends the handshake once the ClientHello has been read.
var errSeen = errors.New("client hello seen")

// readSNI reads the start of what the client sends into the tunnel and, if
// it is a TLS ClientHello, returns the server name it asks for. It returns
// every byte it read (pre included), for the tunnel to pass on. A client
// that sends nothing within sniWait, or something other than TLS, has no
// server name; the tunnel then goes on as it is.
func readSNI(client net.Conn, pre []byte) (sni string, read []byte) {
	buffered := bytes.NewReader(pre)
	rec := &helloRecorder{Conn: client, r: io.MultiReader(buffered, client)}
	// What was read, then what of pre was not: the tunnel's first bytes, in order.
	defer func() { read = append(read, pre[len(pre)-buffered.Len():]...) }()
	_ = client.SetReadDeadline(time.Now().Add(sniWait))
	defer client.SetReadDeadline(time.Time{})
	var first [1]byte
	if _, err := io.ReadFull(rec, first[:]); err != nil || first[0] != 0x16 { // 0x16: a TLS handshake record
		return "", rec.buf.Bytes()
	}
	rec.r = io.MultiReader(bytes.NewReader(first[:]), rec.r)
	rec.buf.Reset() // the byte is read again, and recorded again, by the handshake
	_ = client.SetReadDeadline(time.Now().Add(10 * time.Second))
	cfg := &tls.Config{GetConfigForClient: func(h *tls.ClientHelloInfo) (*tls.Config, error) {
		sni = strings.TrimSuffix(strings.ToLower(h.ServerName), ".")
		return nil, errSeen
	}}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = tls.Server(rec, cfg).HandshakeContext(ctx)
	return sni, rec.buf.Bytes()
}

// helloRecorder is a connection whose reads come from r and are kept in buf, and
// whose writes go nowhere: the handshake run to read the ClientHello must
// not answer the client.
type helloRecorder struct {
	net.Conn
	r   io.Reader
	buf bytes.Buffer
}

func (c *helloRecorder) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.buf.Write(p[:n])
	return n, err
}

func (c *helloRecorder) Write(p []byte) (int, error) { return len(p), nil }
