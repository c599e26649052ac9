package storage

import (
	"encoding/binary"
	"testing"
)

// A snapshot truncates the log and records how far; Open starts from that
// mark (it does not walk the deleted records again) and still finds the
// last seq, with records after the snapshot and without, and after a crash
// that lost the mark.
func TestTruncationMarkAcrossReopen(t *testing.T) {
	for _, tc := range []struct {
		name      string
		after     int  // records appended after the snapshot
		dropMark  bool // the mark never reached the disk
		wantTrunc uint64
	}{
		{"nothing after", 0, false, 300},
		{"records after", 25, false, 300},
		{"mark lost", 25, true, 300},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			s := openT(t, dir, FsyncEverySec)
			appendN := func(n int) {
				t.Helper()
				for range n {
					seq := s.LastSeq() + 1
					if _, err := s.Append([][]byte{recordFor(seq, false)}); err != nil {
						t.Fatal(err)
					}
				}
			}
			appendN(300)
			if err := s.WriteSnapshot(300, []Part{{Name: "seq", Data: binary.BigEndian.AppendUint64(nil, 300)}}); err != nil {
				t.Fatal(err)
			}
			if got, err := s.readTruncated(); err != nil || got != 300 {
				t.Fatalf("mark after the snapshot = %d, %v; want 300", got, err)
			}
			appendN(tc.after)
			if tc.dropMark {
				if err := dbFor(s, keyTruncated).DropPrefix([]byte(keyTruncated)); err != nil {
					t.Fatal(err)
				}
			}
			last := s.LastSeq()
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}

			s = openT(t, dir, FsyncEverySec)
			defer s.Close()
			if s.LastSeq() != last {
				t.Fatalf("LastSeq after reopen = %d, want %d", s.LastSeq(), last)
			}
			if s.truncated != tc.wantTrunc {
				t.Fatalf("truncated after reopen = %d, want %d", s.truncated, tc.wantTrunc)
			}
			if got, err := s.readTruncated(); err != nil || got != tc.wantTrunc {
				t.Fatalf("mark after reopen = %d, %v", got, err)
			}
			got := replayAll(t, s, 300)
			if len(got) != tc.after {
				t.Fatalf("replayed %d records after the snapshot, want %d", len(got), tc.after)
			}
			for i, r := range got {
				if r.seq != 301+uint64(i) {
					t.Fatalf("record %d has seq %d", i, r.seq)
				}
			}
			if n := len(keysWithPrefix(t, s, prefixLog)); n != tc.after {
				t.Fatalf("%d log keys left, want %d", n, tc.after)
			}
			first, err := s.Append([][]byte{[]byte("next")})
			if err != nil || first != last+1 {
				t.Fatalf("Append after reopen = %d, %v; want %d", first, err, last+1)
			}
		})
	}
}
