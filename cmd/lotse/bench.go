package main

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
)

// benchmark is one `lotse bench <name>` scenario; each lives in a file of
// its own (bench_<name>.go) and adds itself to benchmarks in init.
type benchmark struct {
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) int
}

// benchmarks holds the scenarios registered by their files.
var benchmarks = map[string]benchmark{}

func cmdBench(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var names []string
	for n := range benchmarks {
		names = append(names, n)
	}
	sort.Strings(names)
	if len(args) == 0 || benchmarks[args[0]].run == nil {
		fmt.Fprintf(stderr, "usage: lotse bench <%s> [flags]\n", strings.Join(names, "|"))
		for _, n := range names {
			fmt.Fprintf(stderr, "  %-10s %s\n", n, benchmarks[n].summary)
		}
		return exitUsage
	}
	return benchmarks[args[0]].run(ctx, args[1:], stdout, stderr)
}
