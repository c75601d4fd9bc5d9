//go:build ignore

// Hello is an example podrun function written in Go: a static binary in a
// FROM scratch image. podrun's shim hands it the request's metadata as Http_*
// environment variables and the request body on stdin; what it writes to
// stdout is the response body. Build it as scripts/build-images.sh does:
//
//	CGO_ENABLED=0 go build -trimpath -ldflags '-s -w' -o hello main.go
//	podman build -f Containerfile -t localhost/podrun/hello-go:latest .
package main

import (
	"fmt"
	"io"
	"os"
)

func main() {
	n, err := io.Copy(io.Discard, os.Stdin)
	if err != nil {
		fmt.Fprintf(os.Stderr, "hello: read the body: %v\n", err)
		os.Exit(1)
	}
	method, path := os.Getenv("Http_Method"), os.Getenv("Http_Path")
	if method == "" {
		method = "(no method)"
	}
	fmt.Printf("Hello from Go! You sent %s %s with a body of %d bytes.\n", method, path, n)
}
