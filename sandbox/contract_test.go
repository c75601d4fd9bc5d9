package sandbox

import (
	"testing"

	"github.com/podrun/podrun/runner"
	"github.com/podrun/podrun/runner/runnertest"
)

func TestSandboxContract(t *testing.T) {
	runnertest.RunSandboxContract(t, func(t *testing.T) runner.Sandbox { return newPodman(t) }, labels)
}
