package main

import (
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/podrun/podrun/api"
)

// metricName matches the metric names in a PromQL expression: podrun's own and the process and Go runtime ones.
var metricName = regexp.MustCompile(`\b(?:podrun|process|go)_[a-z0-9_]+\b`)

// dashboardQueries returns every PromQL expression of the Grafana dashboard: panel targets and template queries.
func dashboardQueries(t *testing.T) []string {
	t.Helper()
	raw, err := os.ReadFile("../../deploy/grafana/podrun.json")
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Panels []struct {
			ID      int    `json:"id"`
			Title   string `json:"title"`
			Type    string `json:"type"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
		Templating struct {
			List []struct {
				Definition string `json:"definition"`
			} `json:"list"`
		} `json:"templating"`
	}
	if err := json.Unmarshal(raw, &dash); err != nil {
		t.Fatalf("deploy/grafana/podrun.json: %v", err)
	}
	ids := map[int]bool{}
	var exprs []string
	for _, p := range dash.Panels {
		if ids[p.ID] {
			t.Errorf("panel id %d is used twice", p.ID)
		}
		ids[p.ID] = true
		if p.Type != "row" && len(p.Targets) == 0 {
			t.Errorf("panel %q queries nothing", p.Title)
		}
		for _, tg := range p.Targets {
			if len(metricName.FindAllString(tg.Expr, -1)) == 0 {
				t.Errorf("panel %q: query %q names no podrun metric", p.Title, tg.Expr)
			}
			exprs = append(exprs, tg.Expr)
		}
	}
	for _, v := range dash.Templating.List {
		if v.Definition != "" {
			exprs = append(exprs, v.Definition)
		}
	}
	return exprs
}

// TestGrafanaDashboardQueriesOnlyExistingMetrics: every metric the dashboard
// in deploy/grafana queries is in the /metrics of a running podrun that
// served one invocation of a function with a warm pool, so a typo or a
// renamed metric leaves no panel empty.
func TestGrafanaDashboardQueriesOnlyExistingMetrics(t *testing.T) {
	exprs := dashboardQueries(t)
	d := startDaemon(t, nil)
	warm := 1
	d.putFunction(t, "echo", api.FunctionRequest{Image: testImage, Command: []string{"cat"}, Warm: &warm})
	if a := d.invoke(t, "echo", []byte("x"), nil); string(a.out) != "x" {
		t.Fatalf("invoke echo answered %q", a.out)
	}
	page, _ := d.metrics(t)
	exposed := map[string]bool{}
	for _, line := range strings.Split(page, "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, _, _ := strings.Cut(line, "{")
		name, _, _ = strings.Cut(name, " ")
		exposed[name] = true
	}
	checked := map[string]bool{}
	for _, e := range exprs {
		for _, name := range metricName.FindAllString(e, -1) {
			if checked[name] {
				continue
			}
			checked[name] = true
			if !exposed[name] {
				t.Errorf("the dashboard queries %s, which /metrics does not expose (in %q)", name, e)
			}
		}
	}
	if len(checked) < 15 {
		t.Errorf("the dashboard queries only %d metrics: %v", len(checked), checked)
	}
}
