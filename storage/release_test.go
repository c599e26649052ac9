package storage

import (
	"bytes"
	"testing"
)

// TestReleaseLoadMemory: after the snapshot database is reopened, snapshots
// still load, new ones are written, and the log goes on.
func TestReleaseLoadMemory(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Append([][]byte{[]byte("a"), []byte("b")}); err != nil {
		t.Fatal(err)
	}
	big := bytes.Repeat([]byte("bitmap"), 300000)
	if err := s.WriteSnapshot(2, []Part{{Name: "p", Data: big}}); err != nil {
		t.Fatal(err)
	}
	load := func(want []byte) {
		t.Helper()
		var got []byte
		if _, found, err := s.LoadSnapshot(func(name string, data []byte) error { got = data; return nil }); err != nil || !found {
			t.Fatalf("LoadSnapshot: found=%v err=%v", found, err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("loaded %d bytes, want %d", len(got), len(want))
		}
	}
	load(big)
	if err := s.ReleaseLoadMemory(); err != nil {
		t.Fatal(err)
	}
	load(big)
	if _, err := s.Append([][]byte{[]byte("c")}); err != nil {
		t.Fatal(err)
	}
	if err := s.WriteSnapshot(3, []Part{{Name: "p", Data: []byte("small")}}); err != nil {
		t.Fatal(err)
	}
	load([]byte("small"))
	mem, err := Open(Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	defer mem.Close()
	if err := mem.ReleaseLoadMemory(); err != nil {
		t.Fatalf("in memory it is a no-op, got %v", err)
	}
}
