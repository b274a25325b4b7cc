package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/lotse-io/lotse/internal/config"
)

// configFlags are the flags every command that reads the configuration
// accepts. Each maps to a setting; only flags the user set override it.
type configFlags struct {
	fs   *flag.FlagSet
	file string
}

var flagSettings = []struct{ name, key, help string }{
	{"listen", "listen", "HTTP listen address host:port (env LOTSE_LISTEN, default 127.0.0.1:8080)"},
	{"data-dir", "data_dir", "data directory (env LOTSE_DATA_DIR, default ./lotse-data)"},
	{"public-url", "public_url", "URL browsers use to reach this node (env LOTSE_PUBLIC_URL)"},
	{"log-level", "log.level", "trace, debug, info, warn or error (env LOTSE_LOG_LEVEL)"},
	{"log-format", "log.format", "auto, json or console (env LOTSE_LOG_FORMAT)"},
}

func newConfigFlags(name string, stderr io.Writer) *configFlags {
	cf := &configFlags{fs: flag.NewFlagSet(name, flag.ContinueOnError)}
	cf.fs.SetOutput(stderr)
	cf.fs.StringVar(&cf.file, "config", "", "YAML configuration file (env LOTSE_CONFIG)")
	for _, s := range flagSettings {
		cf.fs.String(s.name, "", s.help)
	}
	cf.fs.Bool("dev", false, "developer mode: plain-HTTP cookies on loopback, loopback ICE, demo bank (env LOTSE_DEV)")
	return cf
}

// load parses args and returns the effective configuration. Every error is
// already printed; the returned code is the exit status to use.
func (cf *configFlags) load(args []string, stderr io.Writer) (config.Config, int) {
	if err := cf.fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return config.Config{}, exitOK
		}
		return config.Config{}, exitUsage
	}
	if cf.fs.NArg() > 0 {
		fmt.Fprintf(stderr, "lotse: unexpected argument %q\n", cf.fs.Arg(0))
		return config.Config{}, exitUsage
	}
	over := config.Overrides{}
	cf.fs.Visit(func(f *flag.Flag) {
		for _, s := range flagSettings {
			if s.name == f.Name {
				over[s.key] = f.Value.String()
			}
		}
		if f.Name == "dev" {
			over["dev"] = f.Value.String()
		}
	})
	file := cf.file
	if file == "" {
		file = os.Getenv("LOTSE_CONFIG")
	}
	cfg, err := config.Load(file, os.LookupEnv, over)
	if err != nil {
		fmt.Fprintln(stderr, "lotse:", err)
		return config.Config{}, exitUsage
	}
	return cfg, proceed
}
