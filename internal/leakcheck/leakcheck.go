// Package leakcheck fails a test whose goroutines outlive it.
package leakcheck

import (
	"runtime"
	"testing"
	"time"
)

// Check fails t if, 15 s after the test and its later-registered cleanups
// have ended, more goroutines run than when Check was called; the failure
// carries every goroutine's stack. Call it first in the test, so that its
// cleanup runs last.
func Check(t testing.TB) {
	t.Helper()
	before := runtime.NumGoroutine()
	t.Cleanup(func() {
		deadline := time.Now().Add(15 * time.Second)
		for {
			n := runtime.NumGoroutine()
			if n <= before {
				return
			}
			if time.Now().After(deadline) {
				buf := make([]byte, 1<<20)
				buf = buf[:runtime.Stack(buf, true)]
				t.Errorf("goroutine leak: %d before, %d after\n%s", before, n, buf)
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
	})
}
