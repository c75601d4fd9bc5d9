// Package buildinfo says which build of podrun this is. The Makefile stamps Version and Commit
// at link time:
//
//	go build -ldflags "-X github.com/podrun/podrun/internal/buildinfo.Version=$(git describe --tags --always --dirty) \
//	  -X github.com/podrun/podrun/internal/buildinfo.Commit=$(git rev-parse HEAD)" ./cmd/podrun
package buildinfo

import (
	"runtime"
	"runtime/debug"

	"github.com/podrun/podrun/api"
)

// Version and Commit are set with -ldflags -X; an unstamped build says "dev" and, unless the Go
// toolchain recorded the commit itself (go build -buildvcs), "unknown".
var (
	Version = "dev"
	Commit  = "unknown"
)

// Get describes this binary.
func Get() api.Version {
	v := api.Version{Version: Version, Commit: Commit, GoVersion: runtime.Version()}
	if v.Commit == "unknown" {
		if info, ok := debug.ReadBuildInfo(); ok {
			for _, s := range info.Settings {
				if s.Key == "vcs.revision" && s.Value != "" {
					v.Commit = s.Value
				}
			}
		}
	}
	return v
}
