// Command lotse runs the Lotse platform: `lotse serve` starts a node (HTTP,
// signalling, SFU, TURN and the embedded SQLite store); the other
// subcommands manage tenants, users and configuration from the shell.
//
// Exit status: 0 success, 1 runtime failure, 2 bad usage or configuration.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
)

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

const usage = `Usage: lotse <command> [flags]

Commands:
  serve          run a Lotse node (HTTP API, console, web SDK, ...)
  config print   print the effective configuration, secrets redacted
  tenant create  create a tenant:  lotse tenant create --slug bank --name "Bank AG"
  user create    create a staff user (password read from stdin):
                 lotse user create --tenant bank --email a@bank.example --role admin
  audit verify   check the audit log's hash chains (exit 1 when broken)
  import-legacy-users  import staff with legacy salted SHA-256 hashes (CSV on stdin)
  turn           run only the TURN relay (for a DMZ host): lotse turn --listen ADDR --auth-secret-file FILE
  bench          measure a plane: lotse bench signal|sfu|turn|cobrowse [flags]
  version        print version and commit

Run "lotse <command> -h" for the flags of a command.
`

// Exit codes.
const (
	exitOK    = 0
	exitFail  = 1
	exitUsage = 2
)

// run is main without the process: tests call it directly.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitUsage
	}
	switch args[0] {
	case "serve":
		return cmdServe(ctx, args[1:], stdout, stderr)
	case "config":
		if len(args) < 2 || args[1] != "print" {
			fmt.Fprintln(stderr, "usage: lotse config print [serve flags]")
			return exitUsage
		}
		return cmdConfigPrint(args[2:], stdout, stderr)
	case "tenant":
		if len(args) < 2 || args[1] != "create" {
			fmt.Fprintln(stderr, "usage: lotse tenant create --slug SLUG --name NAME")
			return exitUsage
		}
		return cmdTenantCreate(ctx, args[2:], stdout, stderr)
	case "user":
		if len(args) < 2 || args[1] != "create" {
			fmt.Fprintln(stderr, "usage: lotse user create --tenant SLUG --email EMAIL [--role admin|advisor] < password")
			return exitUsage
		}
		return cmdUserCreate(ctx, args[2:], stdin, stdout, stderr)
	case "bench":
		return cmdBench(ctx, args[1:], stdout, stderr)
	case "version", "--version", "-version":
		return cmdVersion(stdout)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return exitOK
	default:
		if c, ok := commands[args[0]]; ok {
			return c.run(ctx, args[1:], stdin, stdout, stderr)
		}
		fmt.Fprintf(stderr, "lotse: unknown command %q\n\n%s", args[0], usage)
		return exitUsage
	}
}

// command is a subcommand that lives in a file of its own (e.g. `turn`)
// and adds itself to commands from an init function there.
type command struct {
	usage string // one line for the usage text
	run   func(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int
}

// commands holds the subcommands registered by their own files.
var commands = map[string]command{}
