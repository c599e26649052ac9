package storage

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

const (
	crashDirEnv  = "SEGD_STORAGE_CRASH_DIR"
	crashModeEnv = "SEGD_STORAGE_CRASH_FSYNC"
)

// TestCrashChild is the subprocess of TestKill9: it appends batches forever
// (until killed) and prints "ack <first> <n>" after each Append returns, and
// "snap <seq>" after each snapshot, which runs concurrently.
func TestCrashChild(t *testing.T) {
	dir := os.Getenv(crashDirEnv)
	if dir == "" {
		t.Skip("helper process for TestKill9")
	}
	mode, err := ParseFsync(os.Getenv(crashModeEnv))
	if err != nil {
		fmt.Println("error", err)
		os.Exit(2)
	}
	s, err := Open(Options{Dir: dir, Fsync: mode, Logger: quietLogger()})
	if err != nil {
		fmt.Println("error", err)
		os.Exit(2)
	}
	out := bufio.NewWriter(os.Stdout)
	var mu = make(chan struct{}, 1)
	say := func(format string, args ...any) {
		mu <- struct{}{}
		fmt.Fprintf(out, format, args...)
		out.Flush() // one write(2) per line: what was printed was acked
		<-mu
	}
	go func() {
		for i := uint64(0); ; i++ {
			seq := s.LastSeq()
			if err := s.WriteSnapshot(seq, snapshotPartsFor(seq)); err != nil {
				say("error snapshot %v\n", err)
				os.Exit(2)
			}
			say("snap %d\n", seq)
			time.Sleep(20 * time.Millisecond)
		}
	}()
	deadline := time.Now().Add(60 * time.Second)
	sizes := []int{1, 7, 64, 3, 200}
	for i := 0; time.Now().Before(deadline); i++ {
		n := sizes[i%len(sizes)]
		first := s.LastSeq() + 1
		recs := make([][]byte, n)
		for j := range recs {
			seq := first + uint64(j)
			recs[j] = recordFor(seq, isBig(seq))
		}
		got, err := s.Append(recs)
		if err != nil || got != first {
			say("error append %d %v\n", got, err)
			os.Exit(2)
		}
		say("ack %d %d\n", first, n)
	}
	os.Exit(3) // never killed: the parent failed
}

// snapshotPartsFor is the fake engine state at seq: it names seq and holds
// a few MiB derived from it, so a torn snapshot would be detected.
func snapshotPartsFor(seq uint64) []Part {
	return []Part{
		{Name: "seq", Data: binary.BigEndian.AppendUint64(nil, seq)},
		{Name: "rand", Data: randomBytes(3<<20, seq)},
		{Name: "text", Data: bytes.Repeat(fmt.Appendf(nil, "state at %d;", seq), 100000)},
	}
}

// TestKill9 runs TestCrashChild in a subprocess, SIGKILLs it after some
// hundreds of acknowledged records (while snapshots are being written), then
// checks that every acknowledged record is there, that the snapshot loads
// and is consistent, and that the log after it has no gap.
func TestKill9(t *testing.T) {
	if os.Getenv(crashDirEnv) != "" {
		t.Skip("in the child")
	}
	if testing.Short() {
		t.Skip("short")
	}
	for _, mode := range []FsyncMode{FsyncAlways, FsyncEverySec, FsyncNo} {
		t.Run(mode.String(), func(t *testing.T) {
			for round := range 3 {
				kill9Round(t, mode, round)
			}
		})
	}
}

func kill9Round(t *testing.T, mode FsyncMode, round int) {
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashDirEnv+"="+dir, crashModeEnv+"="+mode.String())
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	acked := map[uint64]bool{}
	var maxAcked uint64
	snaps := 0
	target := 400 + round*700
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 0 {
			continue
		}
		switch f[0] {
		case "ack":
			first, _ := strconv.ParseUint(f[1], 10, 64)
			n, _ := strconv.Atoi(f[2])
			for i := range uint64(n) {
				acked[first+i] = true
			}
			maxAcked = max(maxAcked, first+uint64(n)-1)
		case "snap":
			snaps++
		case "error":
			_ = cmd.Process.Kill()
			t.Fatalf("child: %s", sc.Text())
		}
		if len(acked) >= target && snaps >= 2+round {
			break
		}
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	// Anything printed before the kill but not yet read is acked too.
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 3 && f[0] == "ack" {
			first, _ := strconv.ParseUint(f[1], 10, 64)
			n, _ := strconv.Atoi(f[2])
			for i := range uint64(n) {
				acked[first+i] = true
			}
			maxAcked = max(maxAcked, first+uint64(n)-1)
		}
	}
	if len(acked) < target {
		t.Fatalf("child acknowledged only %d records", len(acked))
	}

	s := openT(t, dir, mode)
	defer s.Close()
	if s.LastSeq() < maxAcked {
		t.Fatalf("LastSeq %d < highest acknowledged seq %d", s.LastSeq(), maxAcked)
	}
	var snapSeq uint64
	seq, found, err := s.LoadSnapshot(func(name string, data []byte) error {
		if name == "seq" {
			snapSeq = binary.BigEndian.Uint64(data)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("snapshot after kill -9: %v", err)
	}
	if found {
		if seq != snapSeq {
			t.Fatalf("snapshot meta seq %d, content says %d", seq, snapSeq)
		}
		_, _, parts := loadAll(t, s)
		checkParts(t, parts, snapshotPartsFor(seq))
	}
	present := map[uint64]bool{}
	for _, r := range replayAll(t, s, seq) { // fails on any gap
		if !bytes.Equal(r.rec, recordFor(r.seq, isBig(r.seq))) {
			t.Fatalf("record %d has wrong content", r.seq)
		}
		present[r.seq] = true
	}
	for a := range acked {
		if a > seq && !present[a] {
			t.Fatalf("acknowledged seq %d lost (snapshot %d, last %d)", a, seq, s.LastSeq())
		}
	}
	t.Logf("round %d: %d acked (max %d), snapshot at %d (%d written), last seq %d",
		round, len(acked), maxAcked, seq, snaps, s.LastSeq())
}
