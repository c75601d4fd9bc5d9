package httpapi

import (
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"strconv"
	"time"

	"github.com/podrun/podrun/api"
)

// withGatewayHeaders gives a /function or /async-function call the headers
// the OpenFaaS gateway gives it: X-Call-Id (the request's own, or a new one,
// which the function then also sees as Http_X_Call_Id) and X-Start-Time on
// the request and the answer, and X-Duration-Seconds on the answer, measured
// up to its headers (for a synchronous call, the function's first output or
// its end).
func withGatewayHeaders(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		callID := r.Header.Get(api.HeaderCallID)
		if callID == "" || len(callID) > 128 {
			callID = newCallID()
			r.Header.Set(api.HeaderCallID, callID)
		}
		startTime := strconv.FormatInt(start.UnixNano(), 10)
		r.Header.Set(api.HeaderStartTime, startTime)
		h := w.Header()
		h.Set(api.HeaderCallID, callID)
		h.Set(api.HeaderStartTime, startTime)
		next(&gatewayWriter{ResponseWriter: w, start: start}, r)
	}
}

// newCallID is a random UUID (version 4), as the gateway makes.
func newCallID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	s := hex.EncodeToString(b[:])
	return s[:8] + "-" + s[8:12] + "-" + s[12:16] + "-" + s[16:20] + "-" + s[20:]
}

// gatewayWriter sets X-Duration-Seconds just before the answer's headers go.
type gatewayWriter struct {
	http.ResponseWriter
	start time.Time
	sent  bool
}

func (g *gatewayWriter) WriteHeader(code int) {
	if !g.sent && code >= 200 {
		g.sent = true
		g.Header().Set(api.HeaderDurationSeconds, strconv.FormatFloat(time.Since(g.start).Seconds(), 'f', 6, 64))
	}
	g.ResponseWriter.WriteHeader(code)
}

func (g *gatewayWriter) Write(p []byte) (int, error) {
	if !g.sent {
		g.WriteHeader(http.StatusOK)
	}
	return g.ResponseWriter.Write(p)
}

// FlushError lets http.ResponseController flush through the wrapper.
func (g *gatewayWriter) FlushError() error {
	if !g.sent {
		g.WriteHeader(http.StatusOK)
	}
	return http.NewResponseController(g.ResponseWriter).Flush()
}

// Flush serves callers that assert http.Flusher directly.
func (g *gatewayWriter) Flush() { _ = g.FlushError() }

// Unwrap lets http.ResponseController reach the connection's deadlines.
func (g *gatewayWriter) Unwrap() http.ResponseWriter { return g.ResponseWriter }
