package retrieve

import (
	"container/list"
	"sync"
)

// resultCache is a small LRU of query+filters -> result. Entries carry the index
// generation they were computed at; a lookup at another generation is a miss, so
// any catalog or popularity change invalidates the whole cache at once.
type resultCache struct {
	mu  sync.Mutex
	max int
	ll  *list.List
	m   map[string]*list.Element
}

type cacheEntry struct {
	key string
	gen uint64
	res Result
}

func newResultCache(max int) *resultCache {
	return &resultCache{max: max, ll: list.New(), m: make(map[string]*list.Element, max)}
}

// get returns a copy of the cached result (callers may modify it).
func (c *resultCache) get(key string, gen uint64) (Result, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.m[key]
	if !ok {
		return Result{}, false
	}
	e := el.Value.(*cacheEntry)
	if e.gen != gen {
		c.ll.Remove(el)
		delete(c.m, key)
		return Result{}, false
	}
	c.ll.MoveToFront(el)
	return e.res.clone(), true
}

// put stores a copy of res.
func (c *resultCache) put(key string, gen uint64, res Result) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.m[key]; ok {
		e := el.Value.(*cacheEntry)
		e.gen, e.res = gen, res.clone()
		c.ll.MoveToFront(el)
		return
	}
	c.m[key] = c.ll.PushFront(&cacheEntry{key: key, gen: gen, res: res.clone()})
	for c.ll.Len() > c.max {
		el := c.ll.Back()
		c.ll.Remove(el)
		delete(c.m, el.Value.(*cacheEntry).key)
	}
}

func (r Result) clone() Result {
	r.Hits = append([]Hit(nil), r.Hits...)
	r.Terms = append([]string(nil), r.Terms...)
	if r.Facets != nil {
		f := *r.Facets
		f.Brand = append([]FacetCount(nil), f.Brand...)
		f.Category = append([]FacetCount(nil), f.Category...)
		f.Gender = append([]FacetCount(nil), f.Gender...)
		f.Price = append([]FacetCount(nil), f.Price...)
		r.Facets = &f
	}
	return r
}
