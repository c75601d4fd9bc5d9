package main

import (
	"context"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/podrun/podrun/api"
	"github.com/podrun/podrun/client"
	"github.com/podrun/podrun/configs"
)

// chromiumPath finds the browser the dashboard test drives: $PODRUN_CHROMIUM (make test sets it
// from scripts/install-chromium.sh), else a Chromium on PATH.
func chromiumPath(t *testing.T) string {
	t.Helper()
	candidates := []string{os.Getenv("PODRUN_CHROMIUM")}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "headless-shell"} {
		if p, err := exec.LookPath(name); err == nil {
			candidates = append(candidates, p)
		}
	}
	for _, p := range candidates {
		if p != "" && exec.Command(p, "--version").Run() == nil {
			return p
		}
	}
	msg := "no Chromium found: run scripts/install-chromium.sh (make test does)"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// console keeps what a page writes to its console.
type console struct {
	mu   sync.Mutex
	msgs []chromedp.ConsoleMessage
}

func (c *console) errors() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var errs []string
	for _, m := range c.msgs {
		if m.Type != chromedp.ConsoleError && m.Type != chromedp.ConsoleException {
			continue
		}
		// The browser logs the page's first, token-less calls answered 401: that is how the
		// page learns it must ask for the token, not a fault of the page.
		if m.Source == "network" && strings.Contains(m.Text, "401") {
			continue
		}
		errs = append(errs, m.String())
	}
	return errs
}

// TestDashboardInChromium drives /ui in headless Chromium against a real podrun with a token:
// the page asks for the token once and keeps it for the tab, an agent created through the API
// shows within 2 s through the event stream and follows its states, the function shows with
// its warm pool, and the page writes no error to its console.
func TestDashboardInChromium(t *testing.T) {
	browser := chromiumPath(t)
	const token = "dashboard-token"
	d := startDaemon(t, func(c *configs.Config) { c.Token = token; fastMonitor(c) })
	api_, err := client.New(d.Addr(), token)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, _, err := api_.PutFunction(ctx, "dash-echo", api.FunctionRequest{Image: testImage, Command: []string{"cat"}, Warm: ptr(1)}); err != nil {
		t.Fatal(err)
	}

	alloc, cancelAlloc := chromedp.NewExecAllocator(ctx, append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(browser), chromedp.NoSandbox, chromedp.WindowSize(1400, 1000))...)
	defer cancelAlloc()
	page, cancelPage := chromedp.NewContext(alloc)
	defer cancelPage()
	page, cancelTimeout := context.WithTimeout(page, 3*time.Minute)
	defer cancelTimeout()
	out := &console{}
	messages := chromedp.Console(page)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			out.mu.Lock()
			out.msgs = append(out.msgs, m)
			out.mu.Unlock()
		}
	}()

	base := "http://" + d.Addr()
	for _, step := range []struct {
		name string
		do   chromedp.Action[chromedp.Void]
	}{
		{"open /ui", chromedp.Navigate(base + "/ui")},
		{"see the login form", chromedp.WaitVisible(chromedp.CSS("#login"))},
		{"type the token", chromedp.SendKeys(chromedp.CSS("#token"), token)},
		{"log in", chromedp.Click(chromedp.CSS("#login button"))},
		{"see the event stream live", chromedp.WaitVisible(chromedp.CSS("#status.live"))},
		{"see the function", chromedp.WaitVisible(chromedp.CSS(`tr[data-function="dash-echo"]`))},
	} {
		if err := chromedp.Do(page, step.do); err != nil {
			status, _ := chromedp.Run(page, chromedp.Evaluate[string](`document.querySelector('#status')?.textContent ?? ''`))
			t.Fatalf("dashboard: %s: %v (status %q, console: %v)", step.name, err, status, out.errors())
		}
	}

	a, err := api_.CreateAgent(ctx, api.AgentRequest{Image: testImage, Command: []string{"sleep", "60"}, Labels: map[string]string{"team": "ui"}})
	if err != nil {
		t.Fatal(err)
	}
	row := `tr[data-agent="` + a.ID + `"]`
	within2s, cancel2s := context.WithTimeout(page, 2*time.Second)
	err = chromedp.Do(within2s, chromedp.WaitVisible(chromedp.CSS(row)))
	cancel2s()
	if err != nil {
		t.Fatalf("agent %s not shown within 2 s of its creation: %v", a.ID, err)
	}
	if err := chromedp.Do(page, chromedp.WaitVisible(chromedp.CSS(row+`[data-state="running"]`))); err != nil {
		t.Fatalf("agent %s never shown running: %v", a.ID, err)
	}
	// The row can show running first, from the agent the page loads on its pending event; the
	// running event follows through the stream.
	want := a.ID + " state running"
	_, err = chromedp.Run(page, chromedp.Poll[bool](`document.querySelector('#events').textContent.replace(/\s+/g, ' ').includes(`+strconv.Quote(want)+`)`,
		chromedp.WithPollingTimeout(30*time.Second)))
	if err != nil {
		events, _ := chromedp.Run(page, chromedp.Text(chromedp.CSS("#events")))
		t.Fatalf("event list lacks %q (%v):\n%s", want, err, events)
	}
	if err := chromedp.Do(page, chromedp.WaitVisible(chromedp.CSS(`tr[data-function="dash-echo"] .bar`))); err != nil {
		t.Fatal(err)
	}
	// An agent near its pids limit (31 processes of 32) raises the monitor's pids alert: its row is highlighted.
	crowd, err := api_.CreateAgent(ctx, api.AgentRequest{Image: testImage, Command: []string{"sh", "-c", "for i in $(seq 30); do sleep 120 & done; wait"},
		Limits: api.LimitsRequest{PIDs: ptr(int64(32))}})
	if err != nil {
		t.Fatal(err)
	}
	alerted := `tr[data-agent="` + crowd.ID + `"].alert`
	if err := chromedp.Do(page, chromedp.WaitVisible(chromedp.CSS(alerted))); err != nil {
		t.Fatalf("agent %s near its pids limit not shown with an alert: %v", crowd.ID, err)
	}
	if cell, err := chromedp.Run(page, chromedp.Text(chromedp.CSS(alerted+" .alertcell"))); err != nil || !strings.HasPrefix(cell, "pids") {
		t.Fatalf("alert cell of %s = %q, %v; want the pids alert", crowd.ID, cell, err)
	}
	if _, err := api_.DeleteAgent(ctx, crowd.ID); err != nil {
		t.Fatal(err)
	}
	// Two invocations reach the function's row and the usage summary.
	for range 2 {
		inv, err := api_.Invoke(ctx, "dash-echo", strings.NewReader("hi"), nil)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, inv.Body)
		inv.Body.Close()
	}
	err = chromedp.Do(page, chromedp.WaitVisible(chromedp.CSS(`#usage tr[data-group="dash-echo"]`)))
	if err == nil {
		_, err = chromedp.Run(page, chromedp.Poll[bool](`document.querySelector('tr[data-function="dash-echo"] td:nth-child(3)').textContent === '2'`))
	}
	if err != nil {
		t.Fatalf("invocations not counted on the page: %v", err)
	}
	if path := os.Getenv("PODRUN_UI_SCREENSHOT"); path != "" {
		png, err := chromedp.Run(page, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, png, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	// The token is asked once: a reload goes straight to the data.
	if err := chromedp.Do(page, chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS("#status.live")), chromedp.WaitVisible(chromedp.CSS(row))); err != nil {
		t.Fatalf("after a reload: %v", err)
	}
	if login, err := chromedp.Run(page, chromedp.Evaluate[bool](`document.querySelector('#login').hidden`)); err != nil || !login {
		t.Fatalf("the login form shows again after a reload (%v)", err)
	}

	if _, err := api_.DeleteAgent(ctx, a.ID); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(page, chromedp.WaitVisible(chromedp.CSS(row+`[data-state="terminated"]`))); err != nil {
		t.Fatalf("deleted agent not shown terminated: %v", err)
	}
	if errs := out.errors(); len(errs) > 0 {
		t.Fatalf("the page wrote errors to its console:\n%s", strings.Join(errs, "\n"))
	}
}
