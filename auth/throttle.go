package auth

import (
	"sync"
	"time"
)

// throttle counts failed logins per key (an account, a client address) in
// a sliding window and turns the counts into growing delays. It holds at
// most maxKeys keys; when full it forgets the stalest.
//
// Counting failures for unknown accounts as well as real ones keeps the
// delays — and so the timing — identical for both.
type throttle struct {
	window  time.Duration
	maxKeys int

	mu      sync.Mutex // guards entries
	entries map[string]*throttleEntry
}

type throttleEntry struct {
	failures int
	first    time.Time
	last     time.Time
}

func newThrottle(window time.Duration, maxKeys int) *throttle {
	return &throttle{window: window, maxKeys: maxKeys, entries: map[string]*throttleEntry{}}
}

// failures returns the current failure count for key.
func (t *throttle) failures(key string, now time.Time) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	e := t.entries[key]
	if e == nil || now.Sub(e.first) > t.window {
		return 0
	}
	return e.failures
}

// fail records a failure for key.
func (t *throttle) fail(key string, now time.Time) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	e := t.entries[key]
	if e == nil || now.Sub(e.first) > t.window {
		if e == nil && len(t.entries) >= t.maxKeys {
			t.evictLocked(now)
		}
		e = &throttleEntry{first: now}
		t.entries[key] = e
	}
	e.failures++
	e.last = now
	return e.failures
}

// reset forgets key (after a successful login).
func (t *throttle) reset(key string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.entries, key)
}

// evictLocked drops expired entries, and if none expired, the stalest one.
func (t *throttle) evictLocked(now time.Time) {
	var oldestKey string
	var oldest time.Time
	for k, e := range t.entries {
		if now.Sub(e.first) > t.window {
			delete(t.entries, k)
			continue
		}
		if oldestKey == "" || e.last.Before(oldest) {
			oldestKey, oldest = k, e.last
		}
	}
	if len(t.entries) >= t.maxKeys && oldestKey != "" {
		delete(t.entries, oldestKey)
	}
}

// backoff is the delay for n failures: none for the first free ones, then
// base doubling up to max.
func backoff(n, free int, base, max time.Duration) time.Duration {
	if n <= free {
		return 0
	}
	d := base
	for i := free + 1; i < n && d < max; i++ {
		d *= 2
	}
	if d > max {
		d = max
	}
	return d
}
