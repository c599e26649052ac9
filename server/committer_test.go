package server

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// TestSnapshotsBetweenLoggedBatches: snapshots taken while pipelined writes
// stream in (the committer applies a batch while its logger appends the one
// before) hold exactly the writes the log has reached. A restart without a
// final snapshot (the last snapshot plus a replay of the log after it) then
// counts every acknowledged event once: an event that a snapshot held and
// the replay applied again would count twice.
func TestSnapshotsBetweenLoggedBatches(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cfg := func(c *Config) { c.Dir, c.SaveEvery, c.SaveAfter = dir, 0, 0 }
	srv := startServer(t, cfg)
	c := newClient(t, srv, 2)
	ctx, cancel := context.WithTimeout(context.Background(), 2*testTimeout)
	defer cancel()
	if err := c.Do(ctx, "FIELD.CREATE", "visit", "EVENT").Err(); err != nil {
		t.Fatal(err)
	}
	const writers, rounds, pipe = 4, 150, 20
	var wg sync.WaitGroup
	errs := make(chan error, writers+1)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			wc := redis.NewClient(&redis.Options{Addr: srv.Addr(), MaxRetries: -1})
			defer wc.Close()
			for r := range rounds {
				p := wc.Pipeline()
				for i := range pipe {
					p.Do(ctx, "ENT.TRACK", fmt.Sprintf("u:%d:%d:%d", w, r, i), "visit")
				}
				if _, err := p.Exec(ctx); err != nil {
					errs <- fmt.Errorf("writer %d round %d: %w", w, r, err)
					return
				}
			}
		}()
	}
	stop := make(chan struct{})
	saved := make(chan int)
	go func() {
		n := 0
		defer func() { saved <- n }()
		for {
			select {
			case <-stop:
				return
			default:
			}
			if err := c.Do(ctx, "SAVE").Err(); err != nil {
				errs <- fmt.Errorf("SAVE: %w", err)
				return
			}
			n++
		}
	}()
	wg.Wait()
	close(stop)
	if n := <-saved; n < 2 {
		t.Logf("only %d snapshots during the writes", n)
	}
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	want := int64(writers * rounds * pipe)
	expectEq(t, "QUERY.COUNT visit >= 1 EVER", doInt(t, c, "QUERY.COUNT", "visit >= 1 EVER"), want)

	// Restart from the last snapshot and the log after it.
	if err := c.Do(ctx, "SHUTDOWN", "NOSAVE").Err(); err == nil {
		t.Fatal("SHUTDOWN NOSAVE answered instead of closing the connection")
	}
	select {
	case <-srv.Done():
	case <-time.After(testTimeout):
		t.Fatal("the server did not stop")
	}
	srv2 := startServer(t, cfg)
	c2 := newClient(t, srv2, 2)
	expectEq(t, "after the restart, QUERY.COUNT visit >= 1 EVER", doInt(t, c2, "QUERY.COUNT", "visit >= 1 EVER"), want)
	expectEq(t, "after the restart, QUERY.COUNT visit >= 2 EVER", doInt(t, c2, "QUERY.COUNT", "visit >= 2 EVER"), int64(0))
}
