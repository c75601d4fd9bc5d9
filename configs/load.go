package configs

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/BurntSushi/toml"
)

// setting is one key that can also be set from the environment and by a flag of `podrun serve`.
type setting struct {
	flag, env, arg, usage string
	isBool                bool
	set                   func(c *Config, v string) error
}

// settings drives both the environment and the flags, so the two cannot drift apart.
var settings = []setting{
	{flag: "listen", env: "PODRUN_LISTEN", arg: "ADDR", usage: "address to serve the API on (listen)",
		set: func(c *Config, v string) error { c.Listen = v; return nil }},
	{flag: "data-dir", env: "PODRUN_DATA_DIR", arg: "DIR", usage: "directory for the SQLite database (data_dir)",
		set: func(c *Config, v string) error { c.DataDir = v; return nil }},
	{flag: "podman-socket", env: "PODRUN_PODMAN_SOCKET", arg: "URI", usage: "Podman API service, like unix:///run/podman/podman.sock (podman_socket)",
		set: func(c *Config, v string) error { c.PodmanSocket = v; return nil }},
	{flag: "token", env: "PODRUN_TOKEN", arg: "TOKEN", usage: "bearer token clients must send; prefer the env var, flags show in ps (token)",
		set: func(c *Config, v string) error { c.Token = v; return nil }},
	{flag: "log-format", env: "PODRUN_LOG_FORMAT", arg: "FORMAT", usage: "text or json (log_format)",
		set: func(c *Config, v string) error { c.LogFormat = v; return nil }},
	{flag: "log-level", env: "PODRUN_LOG_LEVEL", arg: "LEVEL", usage: "debug, info, warn or error (log_level)",
		set: func(c *Config, v string) error { c.LogLevel = v; return nil }},
	{flag: "allow-unenforced-limits", env: "PODRUN_ALLOW_UNENFORCED_LIMITS", isBool: true,
		usage: "run agents even where Podman ignores their limits (allow_unenforced_limits)",
		set: func(c *Config, v string) error {
			b, err := strconv.ParseBool(v)
			if err != nil {
				return fmt.Errorf("%q is not a boolean (use true or false)", v)
			}
			c.AllowUnenforcedLimits = b
			return nil
		}},
	{flag: "runtime", env: "PODRUN_RUNTIME", arg: "NAME", usage: "OCI runtime, like runc or crun; empty picks one (sandbox.runtime)",
		set: func(c *Config, v string) error { c.Sandbox.Runtime = v; return nil }},
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
	fs, configFlag := newFlagSet(out)
	if err := fs.Parse(args); err != nil {
		return Config{}, err // the flag package has already printed the problem and the usage
	}
	if fs.NArg() > 0 {
		return Config{}, fmt.Errorf("serve: unexpected argument %q (see podrun serve -h)", fs.Arg(0))
	}
	path := getenv(configEnv)
	if visited(fs, "config") {
		path = *configFlag
	}
	if path != "" {
		if err := decodeFile(&cfg, path); err != nil {
			return Config{}, err
		}
	}
	for _, s := range settings {
		if v := getenv(s.env); v != "" {
			if err := s.set(&cfg, v); err != nil {
				return Config{}, fmt.Errorf("%s: %w", s.env, err)
			}
		}
	}
	var flagErr error
	fs.Visit(func(f *flag.Flag) {
		for _, s := range settings {
			if s.flag == f.Name && flagErr == nil {
				if err := s.set(&cfg, f.Value.String()); err != nil {
					flagErr = fmt.Errorf("--%s: %w", s.flag, err)
				}
			}
		}
	})
	if flagErr != nil {
		return Config{}, flagErr
	}
	if err := cfg.Validate(); err != nil {
		return Config{}, fmt.Errorf("invalid configuration:\n%w", err)
	}
	return cfg, nil
}

// newFlagSet declares the flags of `podrun serve`; values are read back with Visit, so unset flags change nothing.
func newFlagSet(out io.Writer) (*flag.FlagSet, *string) {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(out)
	config := fs.String("config", "", "TOML config file")
	for _, s := range settings {
		if s.isBool {
			fs.Bool(s.flag, false, s.usage)
		} else {
			fs.String(s.flag, "", s.usage)
		}
	}
	fs.Usage = func() { printUsage(out) }
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

// decodeFile overlays the TOML file at path on cfg, refusing keys podrun does not know.
func decodeFile(cfg *Config, path string) error {
	md, err := toml.DecodeFile(path, cfg)
	if err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			if pe.LastKey != "" {
				return fmt.Errorf("config file %s, line %d: %s: %s", path, pe.Position.Line, pe.LastKey, pe.Message)
			}
			return fmt.Errorf("config file %s, line %d: %s", path, pe.Position.Line, pe.Message)
		}
		return fmt.Errorf("config file %s: %w", path, err)
	}
	if unknown := unknownKeys(md); len(unknown) > 0 {
		return fmt.Errorf("config file %s: unknown key(s): %s", path, strings.Join(unknown, ", "))
	}
	return nil
}

// unknownKeys lists the undecoded keys, leaving out those under an unknown table already listed.
func unknownKeys(md toml.MetaData) []string {
	var out []string
	for _, k := range md.Undecoded() {
		key := k.String()
		covered := false
		for _, parent := range out {
			if strings.HasPrefix(key, parent+".") {
				covered = true
			}
		}
		if !covered {
			out = append(out, key)
		}
	}
	return out
}
