package sqlite

import (
	"context"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/podrun/podrun/runner"
)

// TestAgentIsolationAndEgressRoundTrip: an agent's isolation and egress
// allow list come back from Agent and from a listing as they were stored.
func TestAgentIsolationAndEgressRoundTrip(t *testing.T) {
	s := openTest(t, filepath.Join(t.TempDir(), "podrun.db"))
	a := mustCreate(t, s, testAgent(1, func(a *runner.Agent) {
		a.Isolation = runner.IsolationGVisor
		a.Egress = []string{"api.example.com:443", "[2001:db8::/32]:443"}
	}))
	if got := mustAgent(t, s, a.ID); !reflect.DeepEqual(got, a) {
		t.Errorf("got  %+v\nwant %+v", got, a)
	}
	page, err := s.ListAgents(context.Background(), runner.AgentFilter{})
	if err != nil || len(page.Agents) != 1 {
		t.Fatalf("ListAgents = %+v, %v", page, err)
	}
	if got := page.Agents[0]; got.Isolation != a.Isolation || !reflect.DeepEqual(got.Egress, a.Egress) {
		t.Errorf("listed isolation %q egress %q, want %q %q", got.Isolation, got.Egress, a.Isolation, a.Egress)
	}
}
