package server

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"
)

// TestIncrementalSaves: snapshots after the first carry the unchanged parts
// over, and a restart after a series of them (with writes, events, a
// FLUSHALL and a background save among them) finds exactly the data set.
func TestIncrementalSaves(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	var logs syncBuffer
	boot := func() *Server {
		return bootServer(t, dir, func(c *Config) {
			c.SaveEvery, c.SaveAfter = 0, 0
			c.Logger = slog.New(slog.NewTextHandler(&logs, nil))
		})
	}
	srv := boot()
	c := dial(t, srv.Addr(), 3)
	write := func(round, n int) {
		for i := 0; i < n; i++ {
			k := fmt.Sprintf("u%d", (i*7+round*13)%300)
			do(t, c, "ENT.SET", k, "country", fmt.Sprintf("c%d", (i+round)%9), "age", 20+(i+round)%50)
			do(t, c, "ENT.ADD", k, "interests", fmt.Sprintf("i%d", (i*round)%11))
			do(t, c, "ENT.TRACK", k, "purchase:shoes", "AMOUNT", 1+i%5)
			do(t, c, "ENT.TRACK", k, "purchase:hats", "AT", time.Now().Add(-time.Duration(i%300)*24*time.Hour).Unix())
		}
	}
	exprs := []string{"country:c1", "age >= 40", "interests:i3", "purchase:shoes >= 2 IN 7d", "purchase:hats IN 365d AND NOT country:c2"}
	state := func(c doer) string {
		var sb strings.Builder
		for _, e := range exprs {
			fmt.Fprintf(&sb, "%s=%d\n", e, doInt(t, c, "QUERY.COUNT", e))
		}
		for i := 0; i < 300; i += 7 {
			fmt.Fprintf(&sb, "%v\n", do(t, c, "ENT.GET", fmt.Sprintf("u%d", i)))
		}
		return sb.String()
	}
	write(0, 200)
	do(t, c, "SAVE")
	for round := 1; round <= 4; round++ {
		switch round {
		case 2:
			do(t, c, "FLUSHALL")
		case 3:
			do(t, c, "BGSAVE")
		}
		write(round, 40)
		if round == 3 {
			waitFor(t, "the background save", func() bool { return !srv.bgsaving.Load() })
		}
		do(t, c, "SAVE")
	}
	// Only live events and one profile field: the rest is carried over.
	for i := 0; i < 20; i++ {
		do(t, c, "ENT.TRACK", fmt.Sprintf("u%d", i), "purchase:shoes")
	}
	do(t, c, "SAVE")
	want := state(c)
	if !strings.Contains(logs.String(), "carried_over=") || strings.Count(logs.String(), "carried_over=0 ") == strings.Count(logs.String(), "carried_over=") {
		t.Fatalf("no snapshot carried a part over:\n%s", logs.String())
	}
	srv.Close()

	srv = boot()
	defer srv.Close()
	c = dial(t, srv.Addr(), 3)
	if got := state(c); got != want {
		t.Fatalf("after the restart:\n%s\nwant:\n%s", got, want)
	}
	_ = ctx
}
