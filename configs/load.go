package configs

import (
	"cmp"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
)

// setting is one key that can also be set from the environment and by a flag of `podrun serve`.
type setting struct {
	flag, env, arg, usage string
	key                   string // the config file key it sets
	isBool                bool
	set                   func(c *Config, v string) error
}

// settings drives both the environment and the flags, so the two cannot drift apart.
var settings = []setting{
	{flag: "listen", key: "listen", env: "PODRUN_LISTEN", arg: "ADDR", usage: "address to serve the API on (listen)",
		set: func(c *Config, v string) error { c.Listen = v; return nil }},
	{flag: "data-dir", key: "data_dir", env: "PODRUN_DATA_DIR", arg: "DIR", usage: "directory for the SQLite database (data_dir)",
		set: func(c *Config, v string) error { c.DataDir = v; return nil }},
	{flag: "podman-socket", key: "podman_socket", env: "PODRUN_PODMAN_SOCKET", arg: "URI", usage: "Podman API service, like unix:///run/podman/podman.sock (podman_socket)",
		set: func(c *Config, v string) error { c.PodmanSocket = v; return nil }},
	{flag: "token", key: "token", env: "PODRUN_TOKEN", arg: "TOKEN", usage: "bearer token clients must send; prefer the env var, flags show in ps (token)",
		set: func(c *Config, v string) error { c.Token = v; return nil }},
	{flag: "token-file", key: "token_file", env: "PODRUN_TOKEN_FILE", arg: "FILE", usage: "file holding the bearer token, like a systemd credential (token_file)",
		set: func(c *Config, v string) error { c.TokenFile = v; return nil }},
	{flag: "log-format", key: "log_format", env: "PODRUN_LOG_FORMAT", arg: "FORMAT", usage: "text or json (log_format)",
		set: func(c *Config, v string) error { c.LogFormat = v; return nil }},
	{flag: "log-level", key: "log_level", env: "PODRUN_LOG_LEVEL", arg: "LEVEL", usage: "debug, info, warn or error (log_level)",
		set: func(c *Config, v string) error { c.LogLevel = v; return nil }},
	{flag: "allow-unenforced-limits", key: "allow_unenforced_limits", env: "PODRUN_ALLOW_UNENFORCED_LIMITS", isBool: true,
		usage: "run agents even where Podman ignores their limits (allow_unenforced_limits)",
		set: func(c *Config, v string) error {
			b, err := strconv.ParseBool(v)
			if err != nil {
				return fmt.Errorf("%q is not a boolean (use true or false)", v)
			}
			c.AllowUnenforcedLimits = b
			return nil
		}},
	{flag: "webhook-secret", key: "webhooks.secret", env: "PODRUN_WEBHOOK_SECRET", arg: "SECRET",
		usage: "key that signs webhook events; prefer the env var, flags show in ps (webhooks.secret)",
		set:   func(c *Config, v string) error { c.Webhooks.Secret = v; return nil }},
	{flag: "runtime", key: "sandbox.runtime", env: "PODRUN_RUNTIME", arg: "NAME", usage: "OCI runtime, like runc or crun; empty picks one (sandbox.runtime)",
		set: func(c *Config, v string) error { c.Sandbox.Runtime = v; return nil }},
	{flag: "isolation", key: "sandbox.isolation", env: "PODRUN_ISOLATION", arg: "NAME", usage: "isolation of agents that ask for none: runc or gvisor (sandbox.isolation)",
		set: func(c *Config, v string) error { c.Sandbox.Isolation = v; return nil }},
	{flag: "gvisor-socket", key: "sandbox.gvisor_socket", env: "PODRUN_GVISOR_SOCKET", arg: "URI", usage: "Podman service running runsc, for isolation gvisor (sandbox.gvisor_socket)",
		set: func(c *Config, v string) error { c.Sandbox.GVisorSocket = v; return nil }},
}

// configEnv names the file to load when --config is not given.
const configEnv = "PODRUN_CONFIG"

// Load builds the configuration of `podrun serve` from its flags (args, without "serve") and the
// environment: defaults, then the TOML file, then PODRUN_* variables, then the flags actually given.
// It returns flag.ErrHelp after printing usage for -h.
func Load(args []string, getenv func(string) string) (Config, error) {
	return load(args, getenv, os.Geteuid() == 0, os.Stderr)
}

func load(args []string, getenv func(string) string, root bool, out io.Writer) (Config, error) {
	cfg := defaults(getenv, root)
	fs, configFlag := newFlagSet()
	if err := checkFlags(fs, args); err != nil {
		return Config{}, err
	}
	if err := fs.Parse(args); errors.Is(err, flag.ErrHelp) {
		printUsage(out)
		return Config{}, err
	} else if err != nil {
		return Config{}, fmt.Errorf("serve: %v (podrun serve -h lists the flags)", err)
	}
	if fs.NArg() > 0 {
		return Config{}, fmt.Errorf("serve: unexpected argument %q (see podrun serve -h)", fs.Arg(0))
	}
	path := getenv(configEnv)
	if visited(fs, "config") {
		path = *configFlag
	}
	// where says, for each key set other than by default, where it was set.
	where := map[string]source{}
	var fileErr error
	if path != "" {
		lines, err := decodeFile(&cfg, path)
		var p *Problem
		if err != nil && !errors.As(err, &p) {
			return Config{}, err // unreadable or not TOML at all
		}
		fileErr = err
		for key, line := range lines {
			where[key] = source{fileLine(path, line), line}
		}
	}
	for _, s := range settings {
		if v := getenv(s.env); v != "" {
			if err := s.set(&cfg, v); err != nil {
				return Config{}, fmt.Errorf("%s: %w", s.env, err)
			}
			where[s.key] = source{name: s.env, line: notInFile}
		}
	}
	var flagErr error
	fs.Visit(func(f *flag.Flag) {
		for _, s := range settings {
			if s.flag == f.Name && flagErr == nil {
				if err := s.set(&cfg, f.Value.String()); err != nil {
					flagErr = fmt.Errorf("--%s: %w", s.flag, err)
				}
				where[s.key] = source{name: "--" + s.flag, line: notInFile}
			}
		}
	})
	if flagErr != nil {
		return Config{}, flagErr
	}
	if err := cfg.readTokenFile(); err != nil {
		return Config{}, err
	}
	if err := inFileOrder(fileErr, locate(cfg.Validate(), where)); err != nil {
		return Config{}, fmt.Errorf("invalid configuration:\n%w", err)
	}
	return cfg, nil
}

// source is where a key's value came from: a line of the file, a variable or a flag.
type source struct {
	name string
	line int // notInFile for a variable or flag
}

const notInFile = 1 << 30 // after every line: listed after the file's problems

// inFileOrder joins the problems of errs, those of the file in line order first.
func inFileOrder(errs ...error) error {
	var all []error
	for _, err := range errs {
		if err != nil {
			all = append(all, err.(interface{ Unwrap() []error }).Unwrap()...)
		}
	}
	lineOf := func(e error) int {
		var p *Problem
		if errors.As(e, &p) && p.line > 0 {
			return p.line
		}
		return notInFile
	}
	slices.SortStableFunc(all, func(a, b error) int { return cmp.Compare(lineOf(a), lineOf(b)) })
	return errors.Join(all...)
}

// locate says where each Problem's value came from: the file's line, the
// variable or the flag. A key a function's table leaves out points at the
// table; other keys left out are defaults, from nowhere.
func locate(err error, where map[string]source) error {
	if err == nil {
		return nil
	}
	for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
		var p *Problem
		if !errors.As(e, &p) {
			continue
		}
		src, ok := where[p.Key]
		if parts := strings.SplitN(p.Key, ".", 3); !ok && parts[0] == "functions" && len(parts) > 1 {
			src = where["functions."+parts[1]]
		}
		p.Where, p.line = src.name, src.line
	}
	return err
}

// checkFlags refuses, in podrun's words, what the flag package would print
// with one dash and then again through the caller: an unknown flag, a flag
// missing its value, a boolean flag with another value.
func checkFlags(fs *flag.FlagSet, args []string) error {
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" || a == "-" || !strings.HasPrefix(a, "-") {
			return nil // the flags end here
		}
		name, value, hasValue := strings.Cut(strings.TrimPrefix(strings.TrimPrefix(a, "-"), "-"), "=")
		f := fs.Lookup(name)
		switch {
		case name == "h" || name == "help":
		case f == nil:
			return fmt.Errorf("serve: unknown flag --%s (podrun serve -h lists the flags)", name)
		case isBoolFlag(f):
			if _, err := strconv.ParseBool(value); hasValue && err != nil {
				return fmt.Errorf("serve: --%s takes true or false, not %q", name, value)
			}
		case !hasValue:
			if i++; i == len(args) {
				return fmt.Errorf("serve: --%s needs a value (podrun serve -h lists the flags)", name)
			}
		}
	}
	return nil
}

func isBoolFlag(f *flag.Flag) bool {
	b, ok := f.Value.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}

// newFlagSet declares the flags of `podrun serve`; values are read back with Visit, so unset flags change nothing.
// It prints nothing itself: load prints the usage for -h and reports errors once, in podrun's words.
func newFlagSet() (*flag.FlagSet, *string) {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	config := fs.String("config", "", "TOML config file")
	for _, s := range settings {
		if s.isBool {
			fs.Bool(s.flag, false, s.usage)
		} else {
			fs.String(s.flag, "", s.usage)
		}
	}
	return fs, config
}

func printUsage(out io.Writer) {
	fmt.Fprint(out, "Usage: podrun serve [flags]\n\n"+
		"Settings are taken from the built-in defaults, then the TOML config file, then the\n"+
		"environment, then these flags; each flag overrides its environment variable.\n\n")
	tw := tabwriter.NewWriter(out, 2, 8, 2, ' ', 0)
	fmt.Fprintf(tw, "  --config FILE\t%s\tTOML config file (default: none, built-in defaults only)\n", configEnv)
	for _, s := range settings {
		name := "--" + s.flag
		if s.arg != "" {
			name += " " + s.arg
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", name, s.env, s.usage)
	}
	_ = tw.Flush()
}

func visited(fs *flag.FlagSet, name string) bool {
	found := false
	fs.Visit(func(f *flag.Flag) { found = found || f.Name == name })
	return found
}

// readTokenFile sets Token from the file TokenFile names, its content without the line end:
// the way to give podrun a systemd credential (LoadCredential=, PODRUN_TOKEN_FILE=%d/NAME)
// without putting the token in the environment. Token and TokenFile together are an error.
func (c *Config) readTokenFile() error {
	if c.TokenFile == "" {
		return nil
	}
	if c.Token != "" {
		return errors.New("token and token_file are both set: give the token one way")
	}
	b, err := os.ReadFile(c.TokenFile)
	if err != nil {
		return fmt.Errorf("token_file: %w", err)
	}
	c.Token = strings.TrimRight(string(b), "\r\n")
	if c.Token == "" {
		return fmt.Errorf("token_file: %s is empty", c.TokenFile)
	}
	return nil
}
