package assetproxy

import (
	"container/list"
	"sync"
	"time"
)

// entry is one fetched asset.
type entry struct {
	key     string
	ctype   string
	body    []byte
	expires time.Time
}

// cache is an LRU of assets bounded in bytes, each entry living ttl.
type cache struct {
	max int
	ttl time.Duration
	now func() time.Time

	mu    sync.Mutex // guards the fields below
	size  int
	order *list.List // of *entry, most recent first
	items map[string]*list.Element
}

func newCache(max int, ttl time.Duration, now func() time.Time) *cache {
	return &cache{max: max, ttl: ttl, now: now, order: list.New(), items: map[string]*list.Element{}}
}

func (c *cache) get(key string) *entry {
	c.mu.Lock()
	defer c.mu.Unlock()
	el := c.items[key]
	if el == nil {
		return nil
	}
	e := el.Value.(*entry)
	if c.now().After(e.expires) {
		c.removeLocked(el)
		return nil
	}
	c.order.MoveToFront(el)
	return e
}

func (c *cache) put(e *entry) {
	if c.ttl <= 0 || len(e.body) > c.max/4 {
		return // too big to be worth pushing everything else out
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if el := c.items[e.key]; el != nil {
		c.removeLocked(el)
	}
	e.expires = c.now().Add(c.ttl)
	c.items[e.key] = c.order.PushFront(e)
	c.size += len(e.body)
	for c.size > c.max {
		c.removeLocked(c.order.Back())
	}
}

func (c *cache) removeLocked(el *list.Element) {
	e := c.order.Remove(el).(*entry)
	delete(c.items, e.key)
	c.size -= len(e.body)
}
