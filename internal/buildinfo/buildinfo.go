// Package buildinfo tells which Lotse this binary is: its version and the
// commit it was built from, set by the Makefile with -ldflags -X and read
// from the Go build information otherwise.
package buildinfo

import (
	"runtime"
	"runtime/debug"
)

// Set at link time: -X github.com/lotse-io/lotse/internal/buildinfo.version=...
var (
	version = "0.1.0-dev"
	commit  = ""
)

// Version returns the release version of this binary.
func Version() string { return version }

// Commit returns the VCS revision this binary was built from, or "unknown".
func Commit() string {
	if commit != "" {
		return commit
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		rev, dirty := "", false
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				dirty = s.Value == "true"
			}
		}
		if len(rev) > 12 {
			rev = rev[:12]
		}
		if rev != "" {
			if dirty {
				rev += "-dirty"
			}
			return rev
		}
	}
	return "unknown"
}

// GoVersion returns the Go toolchain the binary was built with.
func GoVersion() string { return runtime.Version() }
