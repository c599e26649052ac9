package server

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/redis/go-redis/v9"
)

// TestLogFailure fails the write log under a running server for real (its
// Badger store is closed beneath the committer) while writers and readers
// are busy: the writes the log refused are answered with an error and no
// reader sees them after that, later writes and reads are refused until a
// restart, and the restart holds exactly the acknowledged writes.
func TestLogFailure(t *testing.T) {
	dir := t.TempDir()
	srv := bootServer(t, dir, func(c *Config) { c.SaveEvery = 0; c.SaveAfter = 0; c.MetricsAddr = "" })
	ctx := context.Background()
	c := dial(t, srv.Addr(), 2)
	acked := map[string]string{}
	for i := range 200 {
		k, v := fmt.Sprintf("k:%d", i), fmt.Sprintf("v%d", i)
		if err := c.Do(ctx, "ENT.SET", k, "n", v).Err(); err != nil {
			t.Fatal(err)
		}
		acked[k] = v
	}

	// Readers watch the keys the failing writes touch, and note every value
	// they see after the writes were answered with an error.
	var answered atomic.Bool
	var seenAfter atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for r := range 2 {
		rc := dial(t, srv.Addr(), 2)
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				after := answered.Load()
				v, err := rc.Do(ctx, "ENT.GET", fmt.Sprintf("k:%d", (i*2+r)%200), "n").Slice()
				if err == nil && after && len(v) == 2 && strings.HasPrefix(fmt.Sprint(v[1]), "lost") {
					seenAfter.Add(1)
				}
			}
		})
	}

	if err := srv.store.Close(); err != nil { // the log fails: every append now errs
		t.Fatal(err)
	}
	// A pipeline of writes, in flight together when the log fails.
	p := c.Pipeline()
	for i := range 50 {
		p.Do(ctx, "ENT.SET", fmt.Sprintf("k:%d", i), "n", fmt.Sprintf("lost%d", i))
		p.Do(ctx, "ENT.SET", fmt.Sprintf("new:%d", i), "n", "lost")
	}
	cmds, _ := p.Exec(ctx)
	for _, cmd := range cmds {
		err := cmd.Err()
		var rerr redis.Error
		if err == nil || !errors.As(err, &rerr) {
			t.Fatalf("%v on a failed log: %v, want an error reply", cmd.Args(), err)
		}
		if !strings.Contains(err.Error(), "write not persisted") && !strings.Contains(err.Error(), "LOADING") {
			t.Fatalf("%v: %v", cmd.Args(), err)
		}
	}
	answered.Store(true)

	// Later writes are refused; reads are too, as they would show writes
	// the log does not hold.
	if err := c.Do(ctx, "ENT.SET", "later", "n", "1").Err(); err == nil || !strings.Contains(err.Error(), "LOADING") {
		t.Fatalf("a write after the log failed: %v, want a LOADING refusal", err)
	}
	for _, k := range []string{"k:0", "new:0"} {
		if v, err := c.Do(ctx, "ENT.GET", k).Result(); err == nil || !strings.Contains(err.Error(), "LOADING") {
			t.Fatalf("ENT.GET %s after the log failed: %v (%v), want a LOADING refusal", k, v, err)
		}
	}
	checkWithdrawnForGood(t, srv, c)
	close(stop)
	wg.Wait()
	if n := seenAfter.Load(); n > 0 {
		t.Fatalf("readers saw a refused write %d times after it was answered with an error", n)
	}
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}

	// The restart holds exactly what was acknowledged.
	srv2 := bootServer(t, dir, func(c *Config) { c.MetricsAddr = "" })
	defer srv2.Close()
	c2 := dial(t, srv2.Addr(), 2)
	if n, err := c2.Do(ctx, "ENT.COUNT").Int64(); err != nil || n != int64(len(acked)) {
		t.Fatalf("ENT.COUNT after the restart = %d (%v), want %d", n, err, len(acked))
	}
	for k, want := range acked {
		v, err := c2.Do(ctx, "ENT.GET", k, "n").Slice()
		if err != nil || len(v) != 2 || fmt.Sprint(v[1]) != want {
			t.Fatalf("%s after the restart = %v (%v), want n=%s", k, v, err, want)
		}
	}
	if err := c2.Do(ctx, "ENT.SET", "later", "n", "1").Err(); err != nil {
		t.Fatalf("writes after the restart: %v", err)
	}
}

// checkWithdrawnForGood checks that a server whose write log failed says so
// to reads and writes, as the explorer does: the stored error, which says
// a restart is needed, not the "retry in a moment" of a normal load.
func checkWithdrawnForGood(t *testing.T, srv *Server, c *redis.Client) {
	t.Helper()
	ctx := context.Background()
	want := srv.explorerReady()
	if want == nil || !strings.Contains(want.Error(), "the write log failed") || !strings.Contains(want.Error(), "must be restarted") {
		t.Fatalf("the explorer after the log failed: %v, want the log's error", want)
	}
	for _, args := range [][]any{{"ENT.GET", "k:0", "n"}, {"ENT.COUNT"}, {"QUERY.COUNT", "n:v1"}, {"ENT.SET", "later", "n", "1"}} {
		err := c.Do(ctx, args...).Err()
		if err == nil || err.Error() != want.Error() {
			t.Fatalf("%v after the log failed: %v, want %q", args, err, want)
		}
	}
}

// TestLogFailureRefusesBackup: once the write log has failed the engine
// holds writes that were refused, so a backup, which would export them, is
// refused, both when BACKUP.BEGIN arrives after the failure and when it was
// already waiting for the committer as the failure was found.
func TestLogFailureRefusesBackup(t *testing.T) {
	srv := bootServer(t, t.TempDir(), func(c *Config) { c.SaveEvery = 0; c.SaveAfter = 0; c.MetricsAddr = "" })
	defer srv.Close()
	ctx := context.Background()
	c := dial(t, srv.Addr(), 2)
	for i := range 20 {
		if err := c.Do(ctx, "ENT.SET", fmt.Sprintf("k:%d", i), "n", "v").Err(); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Do(ctx, "BACKUP.BEGIN").Err(); err != nil {
		t.Fatalf("BACKUP.BEGIN before the failure: %v", err)
	}
	if err := srv.store.Close(); err != nil { // the log fails: every append now errs
		t.Fatal(err)
	}
	if err := c.Do(ctx, "ENT.SET", "refused", "n", "v").Err(); err == nil || !strings.Contains(err.Error(), "write not persisted") {
		t.Fatalf("a write into the failed log: %v, want write not persisted", err)
	}
	err := c.Do(ctx, "BACKUP.BEGIN").Err()
	if err == nil || !strings.Contains(err.Error(), "the write log failed") || !strings.Contains(err.Error(), "must be restarted") {
		t.Fatalf("BACKUP.BEGIN after the log failed: %v, want a refusal giving the log's error", err)
	}
	// Past the LOADING check already: the committer refuses it.
	f, ferr := os.Create(filepath.Join(t.TempDir(), "backup"))
	if ferr != nil {
		t.Fatal(ferr)
	}
	defer f.Close()
	_, err = srv.writeBackup(f)
	if err == nil || !strings.Contains(err.Error(), "backup refused") || !strings.Contains(err.Error(), "the write log failed") {
		t.Fatalf("a backup taken after the log failed: %v, want a refusal", err)
	}
	if st, err := f.Stat(); err != nil || st.Size() != 0 {
		t.Fatalf("the refused backup wrote %v bytes (%v)", st.Size(), err)
	}
}
