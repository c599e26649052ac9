package index

import (
	"strings"
	"sync"
	"sync/atomic"

	"github.com/cespare/xxhash/v2"
	"github.com/segd-db/segd/index/expr"
)

// exprCache keeps parsed and compiled expressions by their text, so repeated
// queries (QUERY.ISMEMBER in a loop) skip the parser and the compiler. A
// compiled plan is valid for the schema version it was compiled against:
// plans hold the fields' bitmaps, which only change identity when the schema
// does (field created or dropped, FLUSHALL, snapshot load); values are
// looked up when evaluated. Plans are immutable and shared by readers.
//
// In front of the map, a small direct-mapped table of the expressions used
// last answers most lookups with one atomic load: the repeated queries of a
// busy server then touch no lock (a read lock is a shared counter that two
// cores' readers pass back and forth).
type exprCache struct {
	front [exprFront]atomic.Pointer[cacheEntry]
	mu    sync.RWMutex
	max   int
	m     map[string]*cacheEntry
}

const exprFront = 256 // slots of the lock-free front table (a power of two)

type cacheEntry struct {
	text string // owned (cloned) copy of the expression
	ce   cachedExpr
}

type cachedExpr struct {
	node   expr.Node
	plan   plan
	schema uint64
}

func newExprCache(max int) *exprCache { return &exprCache{max: max, m: map[string]*cacheEntry{}} }

func frontSlot(text string) int { return int(xxhash.Sum64String(text) & (exprFront - 1)) }

// get returns the cached entry of text. text is not retained.
func (c *exprCache) get(text string) (cachedExpr, bool) {
	slot := frontSlot(text)
	if en := c.front[slot].Load(); en != nil && en.text == text {
		return en.ce, true
	}
	c.mu.RLock()
	en, ok := c.m[text]
	c.mu.RUnlock()
	if !ok {
		return cachedExpr{}, false
	}
	c.front[slot].Store(en)
	return en.ce, true
}

// put caches ce for text (copied).
func (c *exprCache) put(text string, ce cachedExpr) {
	en := &cacheEntry{text: strings.Clone(text), ce: ce}
	c.mu.Lock()
	if len(c.m) >= c.max {
		clear(c.m)
	}
	c.m[en.text] = en
	c.mu.Unlock()
	c.front[frontSlot(en.text)].Store(en)
}
