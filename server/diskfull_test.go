package server

import (
	"context"
	"fmt"
	"github.com/segd-db/segd/internal/testenv"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// smallDisk mounts a tmpfs of the given size for the test, or skips where
// mounting is not allowed (not root, no CAP_SYS_ADMIN).
func smallDisk(t *testing.T, size string) string {
	t.Helper()
	if os.Geteuid() != 0 {
		testenv.Skip(t, "mounting a small filesystem needs root")
	}
	dir := filepath.Join(t.TempDir(), "disk")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size, "tmpfs", dir).CombinedOutput(); err != nil {
		testenv.Skip(t, fmt.Sprintf("cannot mount a tmpfs here: %v: %s", err, out))
	}
	t.Cleanup(func() { _ = exec.Command("umount", "-l", dir).Run() })
	return dir
}

func freeOn(t *testing.T, dir string) int64 {
	t.Helper()
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		t.Fatal(err)
	}
	return int64(st.Bavail) * int64(st.Bsize)
}

// TestDiskFull fills the data directory's disk: writes are refused with a
// clear error and change nothing, reads go on, writes resume when space
// returns, and every acknowledged write survives a restart.
func TestDiskFull(t *testing.T) {
	disk := smallDisk(t, "96m")
	dataDir := filepath.Join(disk, "data")
	const minFree = 24 << 20
	srv := bootServer(t, dataDir, func(c *Config) { c.MinFreeDisk = minFree; c.SaveEvery = 0; c.SaveAfter = 0 })
	ctx := context.Background()
	c := dial(t, srv.Addr(), 3)
	acked := 0
	write := func() error {
		err := c.Do(ctx, "ENT.SET", fmt.Sprintf("k:%d", acked), "n", acked, "tier", "gold").Err()
		if err == nil {
			acked++
		}
		return err
	}
	for i := 0; i < 500; i++ {
		if err := write(); err != nil {
			t.Fatal(err)
		}
	}
	// Take the disk below the margin with a filler file.
	filler := filepath.Join(disk, "filler")
	if err := os.WriteFile(filler, make([]byte, freeOn(t, disk)-minFree/2), 0o644); err != nil {
		t.Fatal(err)
	}
	var refused error
	deadline := time.Now().Add(10 * time.Second)
	for refused == nil && time.Now().Before(deadline) {
		refused = write()
	}
	if refused == nil || !strings.Contains(refused.Error(), "disk nearly full") {
		t.Fatalf("writes on a nearly full disk: %v", refused)
	}
	// Refused writes change nothing; reads go on.
	if err := c.Do(ctx, "ENT.SET", "refused", "tier", "gold").Err(); err == nil {
		t.Fatal("a write was accepted on a nearly full disk")
	}
	if n, err := c.Do(ctx, "QUERY.COUNT", "tier:gold").Int64(); err != nil || n != int64(acked) {
		t.Fatalf("QUERY.COUNT while refusing writes = %d (%v), %d acknowledged", n, err, acked)
	}
	if n, _ := c.Do(ctx, "ENT.EXISTS", "refused").Int64(); n != 0 {
		t.Fatal("the refused write created its entity")
	}
	// Space returns: writes resume by themselves.
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	deadline = time.Now().Add(10 * time.Second)
	for write() != nil {
		if time.Now().After(deadline) {
			t.Fatal("writes did not resume after space returned")
		}
		time.Sleep(10 * time.Millisecond)
	}
	for i := 0; i < 100; i++ {
		if err := write(); err != nil {
			t.Fatal(err)
		}
	}
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	srv = bootServer(t, dataDir, nil)
	defer srv.Close()
	c = dial(t, srv.Addr(), 2)
	if n, err := c.Do(ctx, "QUERY.COUNT", "tier:gold").Int64(); err != nil || n != int64(acked) {
		t.Fatalf("after restart QUERY.COUNT = %d (%v), %d acknowledged", n, err, acked)
	}
}
