package auth

import (
	"context"
	"fmt"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/lotse-io/lotse/store"
	"github.com/lotse-io/lotse/store/sqlite"
)

// BenchmarkLoginFlood measures wrong-password logins per second with the
// real argon2id parameters while 64 clients hammer the service at once, and
// the peak Go heap during the flood. With the hashing semaphore at the
// number of CPUs only that many 19 MiB argon2 buffers exist at a time;
// "unbounded" sets the semaphore to the number of clients to show what it
// prevents.
func BenchmarkLoginFlood(b *testing.B) {
	for _, tc := range []struct {
		name        string
		concurrency int
	}{{"semaphore=GOMAXPROCS", 0}, {"unbounded", 64}} {
		b.Run(tc.name, func(b *testing.B) {
			ctx := context.Background()
			db, err := sqlite.Open(ctx, sqlite.Config{Path: filepath.Join(b.TempDir(), "b.db")})
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			h := NewHasher(DefaultArgon2Params, tc.concurrency)
			cfg := DefaultConfig()
			cfg.FailureFloor, cfg.MaxDelay, cfg.IPFailureLimit, cfg.LockThreshold = 0, 0, 1<<30, 1<<20
			svc, err := New(cfg, Deps{Store: db, Hasher: h, Log: zerolog.Nop(), TOTPKey: make([]byte, 32)})
			if err != nil {
				b.Fatal(err)
			}
			if _, err := Bootstrap(ctx, db, h, BootstrapOptions{Password: "Bench-Password-2026"}); err != nil {
				b.Fatal(err)
			}
			var peak atomic.Uint64
			stop := make(chan struct{})
			var sampler sync.WaitGroup
			sampler.Add(1)
			go func() {
				defer sampler.Done()
				var ms runtime.MemStats
				for {
					select {
					case <-stop:
						return
					case <-time.After(5 * time.Millisecond):
					}
					runtime.ReadMemStats(&ms)
					for {
						old := peak.Load()
						if ms.HeapInuse <= old || peak.CompareAndSwap(old, ms.HeapInuse) {
							break
						}
					}
				}
			}()
			var next atomic.Int64
			b.ResetTimer()
			start := time.Now()
			var wg sync.WaitGroup
			for c := 0; c < 64; c++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for next.Add(1) <= int64(b.N) {
						_, err := svc.Login(ctx, LoginInput{Tenant: "demo", Email: "admin@demo.local", Password: "wrong", IP: fmt.Sprint("10.0.0.", c)})
						if err != ErrInvalidCredentials {
							b.Errorf("login = %v", err)
							return
						}
					}
				}()
			}
			wg.Wait()
			elapsed := time.Since(start)
			close(stop)
			sampler.Wait()
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "logins/s")
			b.ReportMetric(float64(peak.Load())/(1<<20), "peak-heap-MiB")
			_ = store.RoleAdmin
		})
	}
}
