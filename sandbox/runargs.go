package sandbox

import (
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/containers/podman/v5/pkg/specgen"
	"github.com/podrun/podrun/runner"
)

// RunArgs renders the container Harden makes of rs as arguments of the
// podman CLI's run and create commands: flags, then the image and the
// command. `podman run --rm <RunArgs>` is the bench's baseline for a
// container confined exactly as podrun's are. It is derived from the spec,
// not written beside Harden: every field Harden sets must be rendered, and
// one RunArgs cannot render is an error naming it, so a new hardening option
// cannot be missing from the baseline unnoticed.
func RunArgs(rs runner.Spec, cfg Config) ([]string, error) {
	return runArgs(Harden(rs, cfg))
}

// runArgs takes s apart as it renders it: each rendered field is reset to
// what a fresh spec holds, so whatever still differs at the end was not rendered.
func runArgs(s *specgen.SpecGenerator) ([]string, error) {
	var a []string
	flag := func(args ...string) { a = append(a, args...) }
	if s.Name != "" {
		flag("--name", s.Name)
		s.Name = ""
	}
	if s.OCIRuntime != "" {
		flag("--runtime", s.OCIRuntime)
		s.OCIRuntime = ""
	}
	if s.Stdin != nil {
		flag("--interactive=" + strconv.FormatBool(*s.Stdin))
		s.Stdin = nil
	}
	if s.Terminal != nil {
		flag("--tty=" + strconv.FormatBool(*s.Terminal))
		s.Terminal = nil
	}
	if s.Systemd != "" {
		flag("--systemd=" + s.Systemd)
		s.Systemd = ""
	}
	for _, c := range s.CapDrop {
		flag("--cap-drop", strings.ToLower(c))
	}
	s.CapDrop = nil
	if s.NoNewPrivileges != nil && *s.NoNewPrivileges {
		flag("--security-opt", "no-new-privileges")
		s.NoNewPrivileges = nil
	}
	if s.SeccompProfilePath != "" {
		flag("--security-opt", "seccomp="+s.SeccompProfilePath)
		s.SeccompProfilePath = ""
	}
	if len(s.Mask) > 0 {
		flag("--security-opt", "mask="+strings.Join(s.Mask, ":"))
		s.Mask = nil
	}
	renderUserNS(s, flag)
	for _, ns := range []struct {
		flag string
		ns   *specgen.Namespace
	}{{"--network", &s.NetNS}, {"--ipc", &s.IpcNS}, {"--cgroupns", &s.CgroupNS}} {
		if ns.ns.NSMode != "" && ns.ns.Value == "" {
			flag(ns.flag, string(ns.ns.NSMode))
			*ns.ns = specgen.Namespace{}
		}
	}
	if s.Hostname != "" {
		flag("--hostname", s.Hostname)
		s.Hostname = ""
	}
	if s.ReadOnlyFilesystem != nil {
		// Without ReadWriteTmpfs Podman adds no tmpfs of its own; the CLI's
		// --read-only-tmpfs defaults to true, so it is always said.
		rw := s.ReadWriteTmpfs != nil && *s.ReadWriteTmpfs
		flag("--read-only="+strconv.FormatBool(*s.ReadOnlyFilesystem), "--read-only-tmpfs="+strconv.FormatBool(rw))
		s.ReadOnlyFilesystem, s.ReadWriteTmpfs = nil, nil
	}
	renderMounts(s, flag)
	renderResources(s, flag)
	for _, l := range s.Rlimits {
		flag("--ulimit", fmt.Sprintf("%s=%d:%d", l.Type, l.Soft, l.Hard))
	}
	s.Rlimits = nil
	if l := s.LogConfiguration; l != nil {
		if l.Driver != "" {
			flag("--log-driver", l.Driver)
		}
		if l.Size != 0 {
			flag("--log-opt", "max-size="+strconv.FormatInt(l.Size, 10))
		}
		if l.Path != "" {
			flag("--log-opt", "path="+l.Path)
		}
		for _, k := range slices.Sorted(maps.Keys(l.Options)) {
			flag("--log-opt", k+"="+l.Options[k])
		}
		s.LogConfiguration = nil
	}
	for _, k := range slices.Sorted(maps.Keys(s.Env)) {
		flag("--env", k+"="+s.Env[k])
	}
	s.Env = nil
	for _, k := range slices.Sorted(maps.Keys(s.Labels)) {
		flag("--label", k+"="+s.Labels[k])
	}
	s.Labels = nil
	for _, k := range slices.Sorted(maps.Keys(s.Annotations)) {
		flag("--annotation", k+"="+s.Annotations[k])
	}
	s.Annotations = nil
	if s.Entrypoint != nil {
		ep, err := json.Marshal(s.Entrypoint) // the CLI reads a JSON array as the exact argv
		if err != nil {
			return nil, err
		}
		flag("--entrypoint", string(ep))
		s.Entrypoint = nil
	}
	image, command := s.Image, s.Command
	s.Image, s.Command = "", nil
	if left := unrendered(s); len(left) > 0 {
		return nil, fmt.Errorf("sandbox.RunArgs cannot render the spec's %s as podman run flags: teach it to", strings.Join(left, ", "))
	}
	return append(append(a, image), command...), nil
}

// renderUserNS renders userns=auto with a size; any other mapping stays for unrendered to report.
func renderUserNS(s *specgen.SpecGenerator, flag func(...string)) {
	m := s.IDMappings
	if s.UserNS.NSMode != specgen.Auto || s.UserNS.Value != "" || m == nil || !m.AutoUserNs {
		return
	}
	rest := *m
	rest.AutoUserNs, rest.AutoUserNsOpts.Size = false, 0
	if !reflect.ValueOf(rest).IsZero() {
		return
	}
	flag("--userns", "auto:size="+strconv.FormatUint(uint64(m.AutoUserNsOpts.Size), 10))
	s.UserNS, s.IDMappings = specgen.Namespace{}, nil
}

// renderMounts renders tmpfs and bind mounts; others stay in s.Mounts.
func renderMounts(s *specgen.SpecGenerator, flag func(...string)) {
	left := s.Mounts[:0]
	for _, m := range s.Mounts {
		switch {
		case m.Type == "tmpfs" && len(m.UIDMappings)+len(m.GIDMappings) == 0:
			flag("--tmpfs", m.Destination+":"+strings.Join(m.Options, ","))
		case m.Type == "bind" && len(m.UIDMappings)+len(m.GIDMappings) == 0:
			// --volume binds recursively unless told "bind"? It takes no such option:
			// --mount says non-recursive with bind-nonrecursive.
			opts := []string{"type=bind", "source=" + m.Source, "destination=" + m.Destination}
			for _, o := range m.Options {
				switch o {
				case "bind":
					opts = append(opts, "bind-nonrecursive")
				case "rbind":
				default:
					opts = append(opts, o)
				}
			}
			flag("--mount", strings.Join(opts, ","))
		default:
			left = append(left, m)
		}
	}
	s.Mounts = left
	if len(s.Mounts) == 0 {
		s.Mounts = nil
	}
}

// renderResources renders the memory, swap, CPU quota and PID limits; other settings stay for unrendered.
func renderResources(s *specgen.SpecGenerator, flag func(...string)) {
	r := s.ResourceLimits
	if r == nil {
		return
	}
	if m := r.Memory; m != nil {
		if m.Limit != nil {
			flag("--memory", strconv.FormatInt(*m.Limit, 10))
			m.Limit = nil
		}
		if m.Swap != nil {
			flag("--memory-swap", strconv.FormatInt(*m.Swap, 10))
			m.Swap = nil
		}
		if reflect.ValueOf(*m).IsZero() {
			r.Memory = nil
		}
	}
	if c := r.CPU; c != nil {
		if c.Period != nil {
			flag("--cpu-period", strconv.FormatUint(*c.Period, 10))
			c.Period = nil
		}
		if c.Quota != nil {
			flag("--cpu-quota", strconv.FormatInt(*c.Quota, 10))
			c.Quota = nil
		}
		if reflect.ValueOf(*c).IsZero() {
			r.CPU = nil
		}
	}
	if p := r.Pids; p != nil {
		flag("--pids-limit", strconv.FormatInt(p.Limit, 10))
		r.Pids = nil
	}
	if reflect.ValueOf(*r).IsZero() {
		s.ResourceLimits = nil
	}
}

// unrendered names the fields of s that differ from a fresh spec's.
func unrendered(s *specgen.SpecGenerator) []string {
	var left []string
	var walk func(got, fresh reflect.Value)
	walk = func(got, fresh reflect.Value) {
		for i := range got.NumField() {
			f := got.Type().Field(i)
			if f.Anonymous && f.Type.Kind() == reflect.Struct {
				walk(got.Field(i), fresh.Field(i))
				continue
			}
			if !reflect.DeepEqual(got.Field(i).Interface(), fresh.Field(i).Interface()) {
				left = append(left, f.Name)
			}
		}
	}
	walk(reflect.ValueOf(*s), reflect.ValueOf(*specgen.NewSpecGenerator("", false)))
	return left
}
