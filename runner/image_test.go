package runner

import "testing"

func TestValidateImage(t *testing.T) {
	for _, c := range []struct {
		ref  string
		want bool
	}{
		{"localhost/podrun/busybox:latest", true},
		{"busybox", true},
		{"docker.io/library/alpine:3.20", true},
		{"registry.example.com:5000/team/app@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", true},
		{"quay.io/UPPER/x", false},
		{"UPPER/case", false},
		{"a b", false},
		{"image:", false},
		{"", false},
		{" busybox", false},
		{"localhost/", false},
		{"bad_domain.com/x", false},
	} {
		got := ValidateImage(c.ref) == nil
		if got != c.want {
			t.Errorf("ValidateImage(%q) ok = %v, want %v", c.ref, got, c.want)
		}
	}
}
