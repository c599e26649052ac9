package server

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/segd-db/segd/storage"
)

// TestHelperServerProcess is not a test: the kill -9 tests run the test
// binary again with SEGD_HELPER_DIR set, and this function becomes a segd
// server process that prints its address and runs until killed.
//
// Knobs, all optional: SEGD_HELPER_FSYNC (always, everysec or no; default
// always), SEGD_HELPER_SAVE_AFTER (--save-after; default the server's) and
// SEGD_HELPER_SAVE_EVERY (--save-every, a duration; default the server's).
func TestHelperServerProcess(t *testing.T) {
	dir := os.Getenv("SEGD_HELPER_DIR")
	if dir == "" {
		t.Skip("helper process for TestKill9Restart and TestCrashCycles")
	}
	cfg := DefaultConfig()
	cfg.Addr = "127.0.0.1:0"
	cfg.MetricsAddr = ""
	cfg.Dir = dir
	cfg.Fsync = storage.FsyncAlways
	if v := os.Getenv("SEGD_HELPER_FSYNC"); v != "" {
		mode, err := storage.ParseFsync(v)
		if err != nil {
			fmt.Println("ERROR", err)
			os.Exit(1)
		}
		cfg.Fsync = mode
	}
	if v := os.Getenv("SEGD_HELPER_SAVE_AFTER"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			fmt.Println("ERROR SEGD_HELPER_SAVE_AFTER:", err)
			os.Exit(1)
		}
		cfg.SaveAfter = n
	}
	if v := os.Getenv("SEGD_HELPER_SAVE_EVERY"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			fmt.Println("ERROR SEGD_HELPER_SAVE_EVERY:", err)
			os.Exit(1)
		}
		cfg.SaveEvery = d
	}
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	srv, err := New(cfg)
	if err != nil {
		fmt.Println("ERROR", err)
		os.Exit(1)
	}
	if err := srv.Start(); err != nil {
		fmt.Println("ERROR", err)
		os.Exit(1)
	}
	if err := srv.WaitReady(context.Background()); err != nil {
		fmt.Println("ERROR", err)
		os.Exit(1)
	}
	fmt.Println("ADDR", srv.Addr())
	select {}
}

// startHelperProcess runs a segd server in a child process on dir; env adds
// NAME=value settings for the child (see TestHelperServerProcess). The
// child is killed when the test ends.
func startHelperProcess(t *testing.T, dir string, env ...string) (*exec.Cmd, string) {
	t.Helper()
	cmd, addr := spawnHelperProcess(t, dir, env...)
	t.Cleanup(func() { cmd.Process.Kill(); _ = cmd.Wait() })
	return cmd, addr
}

// spawnHelperProcess is startHelperProcess without the cleanup: the caller
// kills and waits for the child (a long soak would otherwise keep one
// cleanup, and its child's bookkeeping, for every child it started).
func spawnHelperProcess(t *testing.T, dir string, env ...string) (*exec.Cmd, string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperServerProcess$")
	cmd.Env = append(append(os.Environ(), "SEGD_HELPER_DIR="+dir), env...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := bufio.NewScanner(out)
	for lines.Scan() {
		if addr, ok := strings.CutPrefix(lines.Text(), "ADDR "); ok {
			go func() { _, _ = io.Copy(io.Discard, out) }()
			return cmd, addr
		}
		if strings.HasPrefix(lines.Text(), "ERROR") {
			break
		}
	}
	cmd.Process.Kill()
	_ = cmd.Wait()
	t.Fatalf("helper server printed no address: %q (%v)", lines.Text(), lines.Err())
	return nil, ""
}

// TestKill9Restart kills a server under write load with --fsync always and
// checks that every acknowledged write survives, and that multi-field writes
// are all or nothing.
func TestKill9Restart(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns processes")
	}
	dir := t.TempDir()
	ctx := context.Background()
	acked := map[string]string{} // key -> value of fields a and b
	cycles := 3
	next := 0
	for cycle := 0; cycle < cycles; cycle++ {
		cmd, addr := startHelperProcess(t, dir)
		var mu sync.Mutex
		var wg sync.WaitGroup
		stop := make(chan struct{})
		for w := 0; w < 4; w++ {
			c := dial(t, addr, 2)
			base := next + w*1_000_000
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				for i := 0; ; i++ {
					select {
					case <-stop:
						return
					default:
					}
					key := fmt.Sprintf("k:%d", base+i)
					val := fmt.Sprint(base + i)
					if err := c.Do(ctx, "ENT.SET", key, "a", val, "b", "v"+val).Err(); err != nil {
						return // the server was killed
					}
					mu.Lock()
					acked[key] = val
					mu.Unlock()
				}
			}()
		}
		// Kill at a moment that depends on the cycle, while writes are in flight.
		deadline := time.Now().Add(10 * time.Second)
		for {
			mu.Lock()
			n := len(acked)
			mu.Unlock()
			if n >= (cycle+1)*400+cycle*37 || time.Now().After(deadline) {
				break
			}
			time.Sleep(time.Millisecond)
		}
		cmd.Process.Kill() // SIGKILL
		_ = cmd.Wait()
		close(stop)
		wg.Wait()
		next += 10_000_000

		srv := bootServer(t, dir, nil)
		c := dial(t, srv.Addr(), 2)
		for key, val := range acked {
			got, err := c.Do(ctx, "ENT.GET", key).Slice()
			if err != nil {
				t.Fatalf("cycle %d: acknowledged %s lost: %v", cycle, key, err)
			}
			want := fmt.Sprintf("[a %s b v%s]", val, val)
			if fmt.Sprint(got) != want {
				t.Fatalf("cycle %d: %s = %v, acknowledged %s", cycle, key, got, want)
			}
		}
		// Nothing half applied: every entity has both fields or none.
		total, _ := c.Do(ctx, "ENT.COUNT").Int64()
		both, _ := c.Do(ctx, "QUERY.COUNT", "a:* AND b:*").Int64()
		if total != both {
			t.Fatalf("cycle %d: %d entities but %d with both fields of one ENT.SET", cycle, total, both)
		}
		if total < int64(len(acked)) || total > int64(len(acked))+4 {
			t.Fatalf("cycle %d: %d entities after restart, %d acknowledged (at most 4 in flight)", cycle, total, len(acked))
		}
		// Unacknowledged in-flight writes that did land count as written from now on.
		keys, _ := c.Do(ctx, "QUERY.MEMBERS", "ALL", "COUNT", 100000).Slice()
		for _, k := range keys[1].([]any) {
			if _, ok := acked[k.(string)]; !ok {
				v, _ := c.Do(ctx, "ENT.GET", k, "a").Slice()
				acked[k.(string)] = fmt.Sprint(v[1])
			}
		}
		if err := srv.shutdown(false); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("%d kill -9 cycles, %d acknowledged writes checked", cycles, len(acked))
}
