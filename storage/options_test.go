package storage

import (
	"bytes"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
)

// Badger's two-line "might be too small" warning, repeated every minute,
// becomes one info line, once; other warnings pass through.
func TestBadgerCacheWarningOneLine(t *testing.T) {
	var buf bytes.Buffer
	b := badgerLogger{l: slog.New(slog.NewTextHandler(&buf, nil)), cacheNoted: new(atomic.Bool)}
	for range 3 {
		b.Warningf("%s might be too small. Metrics: %s\n", "Block cache", "hit: 1 miss: 9")
		b.Warningf("Cache life expectancy (in seconds): %+v\n", "histogram")
	}
	b.Warningf("something else %d", 7)
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], "level=INFO") || !strings.Contains(lines[0], "no action needed") ||
		!strings.Contains(lines[1], "level=WARN") || !strings.Contains(lines[1], "something else 7") {
		t.Errorf("log:\n%s", buf.String())
	}
}
