package main

import (
	"bufio"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/podrun/podrun/api"
)

func TestLogsFollowStreamsUntilTheAgentEnds(t *testing.T) {
	d := startDaemon(t, nil)
	a := d.create(t, map[string]any{"image": testImage, "command": []string{"sh", "-c", "echo one; sleep 2; echo two"}})
	resp, err := http.Get(d.base + "/v1/agents/" + a.ID + "/logs?follow=true")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	rd := bufio.NewReader(resp.Body)
	first, err := rd.ReadString('\n')
	if err != nil || first != "one\n" {
		t.Fatalf("first line = %q, %v", first, err)
	}
	if s := d.get(t, a.ID).State; s != api.StateRunning {
		t.Fatalf("first line arrived when the agent was %s; it must stream while running", s)
	}
	rest, err := rd.ReadString('\n')
	if err != nil || rest != "two\n" {
		t.Fatalf("second line = %q, %v", rest, err)
	}
	if b, _ := rd.ReadString('\n'); b != "" {
		t.Fatalf("unexpected trailing output %q", b)
	}
	if s := d.await(t, a.ID, 10*time.Second, api.StateSucceeded).State; s != api.StateSucceeded {
		t.Fatalf("agent = %s", s)
	}
}

func TestMetricsCountWhatHappened(t *testing.T) {
	d := startDaemon(t, nil)
	a := d.create(t, map[string]any{"image": testImage, "command": []string{"true"}})
	d.await(t, a.ID, 30*time.Second, api.StateSucceeded)
	resp := d.call(t, "GET", "/metrics", nil, nil)
	body := readAll(resp)
	for _, want := range []string{
		"podrun_agents_created_total 1\n",
		`podrun_agents{state="running"} 0` + "\n",
		`podrun_agent_transitions_total{to="running"} 1` + "\n",
		`podrun_podman_request_duration_seconds_count{op="create"} 1` + "\n",
		`podrun_http_requests_total{route="/v1/agents",code="201"} 1` + "\n",
		"podrun_ttl_expired_total 0\n",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if t.Failed() {
		t.Logf("/metrics:\n%s", body)
	}
}
