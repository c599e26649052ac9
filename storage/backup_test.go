package storage

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/cespare/xxhash/v2"
	"github.com/klauspost/compress/zstd"
)

func backupParts() []Part {
	r := rand.New(rand.NewPCG(1, 2))
	random := make([]byte, 3000)
	for i := range random {
		random[i] = byte(r.Uint32())
	}
	return []Part{
		{Name: "schema", Data: []byte{1, 2, 3}},
		{Name: "empty", Data: nil},
		{Name: "f:country", Data: bytes.Repeat([]byte("abcdefgh"), 500)},
		{Name: "random", Data: random},
	}
}

func encodeBackup(t testing.TB, seq uint64, parts []Part) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := WriteBackup(&b, seq, time.Unix(1700000000, 42), parts); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestBackupRoundTrip(t *testing.T) {
	parts := backupParts()
	file := encodeBackup(t, 12345, parts)
	if !bytes.HasPrefix(file, []byte(backupMagic)) {
		t.Fatal("no magic")
	}
	seq, created, got, err := ReadBackup(bytes.NewReader(file))
	if err != nil {
		t.Fatal(err)
	}
	if seq != 12345 || !created.Equal(time.Unix(1700000000, 42)) {
		t.Fatalf("seq %d created %v", seq, created)
	}
	if len(got) != len(parts) {
		t.Fatalf("%d parts, want %d", len(got), len(parts))
	}
	for i := range parts {
		if got[i].Name != parts[i].Name || !bytes.Equal(got[i].Data, parts[i].Data) {
			t.Fatalf("part %d differs", i)
		}
	}
	// No parts at all is a valid (empty) backup too.
	if _, _, got, err := ReadBackup(bytes.NewReader(encodeBackup(t, 0, nil))); err != nil || len(got) != 0 {
		t.Fatalf("empty backup: %v %d", err, len(got))
	}
}

func TestBackupRejectsTruncation(t *testing.T) {
	file := encodeBackup(t, 7, backupParts())
	for n := 0; n < len(file); n++ {
		_, _, parts, err := ReadBackup(bytes.NewReader(file[:n]))
		if err == nil || !errors.Is(err, ErrBadBackup) || parts != nil {
			t.Fatalf("truncated at %d of %d: err %v", n, len(file), err)
		}
	}
	_, _, _, err := ReadBackup(bytes.NewReader(file[:len(file)/2]))
	if !strings.Contains(err.Error(), "truncated") && !strings.Contains(err.Error(), "corrupt") {
		t.Errorf("unclear error: %v", err)
	}
	if _, _, _, err := ReadBackup(bytes.NewReader(append(bytes.Clone(file), 0))); !errors.Is(err, ErrBadBackup) {
		t.Errorf("trailing byte accepted: %v", err)
	}
	if _, _, _, err := ReadBackup(bytes.NewReader(append(bytes.Clone(file), file[8:]...))); !errors.Is(err, ErrBadBackup) {
		t.Errorf("a second stream after the first accepted: %v", err)
	}
}

func TestBackupRejectsDamage(t *testing.T) {
	file := encodeBackup(t, 7, backupParts())
	r := rand.New(rand.NewPCG(3, 4))
	for at := 0; at < len(file); at++ {
		for _, mask := range []byte{0x01, 0x80, byte(1 + r.IntN(255))} {
			bad := bytes.Clone(file)
			bad[at] ^= mask
			_, _, _, err := ReadBackup(bytes.NewReader(bad))
			if err == nil {
				t.Fatalf("byte %d ^ %#x: damage not detected", at, mask)
			}
			if !errors.Is(err, ErrBadBackup) {
				t.Fatalf("byte %d: error does not match ErrBadBackup: %v", at, err)
			}
		}
	}
	if _, _, _, err := ReadBackup(strings.NewReader("PNG\x00 not a backup at all")); err == nil || !strings.Contains(err.Error(), "magic") {
		t.Errorf("wrong magic: %v", err)
	}
}

// forged builds a well-compressed stream with a hand-made body, to check
// that lying sizes are rejected without allocating what they declare.
func forged(t *testing.T, body []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	b.WriteString(backupMagic)
	zw, _ := zstd.NewWriter(&b)
	_, _ = zw.Write(body) // into memory: cannot fail
	zw.Close()
	return b.Bytes()
}

func TestBackupLyingSizes(t *testing.T) {
	header := func(parts uint32) []byte {
		h := binary.BigEndian.AppendUint32(nil, backupVersion)
		h = binary.BigEndian.AppendUint64(h, 0)
		h = binary.BigEndian.AppendUint64(h, 1)
		return binary.BigEndian.AppendUint32(h, parts)
	}
	cases := map[string][]byte{
		"huge part count":   header(1 << 31),
		"many parts, short": header(1 << 20),
		"huge name":         binary.BigEndian.AppendUint16(header(1), 60000),
		"huge part": binary.BigEndian.AppendUint64(
			append(binary.BigEndian.AppendUint16(header(1), 1), 'x'), 1<<39),
		"too huge part": binary.BigEndian.AppendUint64(
			append(binary.BigEndian.AppendUint16(header(1), 1), 'x'), 1<<62),
		"future version": binary.BigEndian.AppendUint32(nil, 99),
	}
	for name, body := range cases {
		t.Run(name, func(t *testing.T) {
			_, _, _, err := ReadBackup(bytes.NewReader(forged(t, body)))
			if !errors.Is(err, ErrBadBackup) {
				t.Fatalf("accepted or unclear: %v", err)
			}
			t.Log(err)
		})
	}
	// A correct part hash but a wrong trailer hash is caught by the trailer.
	body := header(1)
	body = binary.BigEndian.AppendUint16(body, 1)
	body = append(body, 'x')
	body = binary.BigEndian.AppendUint64(body, 2)
	body = append(body, "hi"...)
	body = binary.BigEndian.AppendUint64(body, xxhash.Sum64String("hi"))
	body = append(body, backupTrailer...)
	body = binary.BigEndian.AppendUint64(body, 1)
	if _, _, _, err := ReadBackup(bytes.NewReader(forged(t, body))); err == nil || !strings.Contains(err.Error(), "whole-file checksum") {
		t.Fatalf("trailer: %v", err)
	}
}

func BenchmarkBackupWrite(b *testing.B) {
	parts := []Part{{Name: "big", Data: bytes.Repeat([]byte(fmt.Sprint(12345678)), 1<<20)}}
	b.SetBytes(int64(len(parts[0].Data)))
	for b.Loop() {
		var buf bytes.Buffer
		if err := WriteBackup(&buf, 1, time.Now(), parts); err != nil {
			b.Fatal(err)
		}
	}
}
