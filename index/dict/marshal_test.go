package dict

import (
	"bytes"
	"encoding/binary"
	"strconv"
	"testing"

	"github.com/cespare/xxhash/v2"
)

// reseal replaces the trailing checksum so that corrupt bodies get past it.
func reseal(data []byte) []byte {
	if len(data) < 8 {
		return data
	}
	out := append([]byte(nil), data...)
	binary.LittleEndian.PutUint64(out[len(out)-8:], xxhash.Sum64(out[:len(out)-8]))
	return out
}

func sampleDict(t testing.TB) []byte {
	d := New()
	for i := range 50 {
		d.Insert("k" + strconv.Itoa(i))
	}
	d.Insert(string(bytes.Repeat([]byte{'z'}, 300)))
	for i := 0; i < 50; i += 3 {
		d.Delete("k" + strconv.Itoa(i))
	}
	data, err := d.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestUnmarshalDictCorrupt(t *testing.T) {
	good := sampleDict(t)
	if _, err := Unmarshal(good); err != nil {
		t.Fatal(err)
	}
	empty, _ := New().MarshalBinary()
	if d, err := Unmarshal(empty); err != nil || d.Len() != 0 || d.MaxID() != 0 {
		t.Fatal("empty round trip", err)
	}
	for n := range len(good) {
		if _, err := Unmarshal(good[:n]); err == nil {
			t.Fatalf("truncation to %d accepted", n)
		}
		if _, err := Unmarshal(reseal(good[:n])); err == nil {
			t.Fatalf("resealed truncation to %d accepted", n)
		}
	}
	for i := range len(good) {
		bad := append([]byte(nil), good...)
		bad[i] ^= 0x40
		if _, err := Unmarshal(bad); err == nil {
			t.Fatalf("flip at %d accepted", i)
		}
	}
	mutate := func(name string, f func(b []byte) []byte) {
		b := f(append([]byte(nil), good[:len(good)-8]...))
		if _, err := Unmarshal(reseal(append(b, 0, 0, 0, 0, 0, 0, 0, 0))); err == nil {
			t.Errorf("%s accepted", name)
		}
	}
	nFree := binary.LittleEndian.Uint32(good[12:])
	keys := dictHeader + 4*int(nFree)
	mutate("free id out of range", func(b []byte) []byte {
		binary.LittleEndian.PutUint32(b[dictHeader:], 1000)
		return b
	})
	mutate("duplicate free id", func(b []byte) []byte {
		copy(b[dictHeader+4:], b[dictHeader:dictHeader+4])
		return b
	})
	mutate("duplicate key", func(b []byte) []byte {
		// ids 1 and 2 are "k1" and "k2": make the second "k1".
		b[keys+3+2] = '1'
		return b
	})
	mutate("key length past the end", func(b []byte) []byte {
		b[keys] = 0x7f
		return b
	})
	mutate("trailing bytes", func(b []byte) []byte {
		b = append(b, 2, 'q', 'q')
		binary.LittleEndian.PutUint64(b[16:], binary.LittleEndian.Uint64(b[16:])+3)
		return b
	})
	mutate("huge maxID", func(b []byte) []byte {
		binary.LittleEndian.PutUint32(b[8:], 1<<31)
		return b
	})
	mutate("non-minimal length", func(b []byte) []byte {
		out := append([]byte(nil), b[:keys]...)
		out = append(out, b[keys]|0x80, 0)
		out = append(out, b[keys+1:]...)
		binary.LittleEndian.PutUint64(out[16:], binary.LittleEndian.Uint64(out[16:])+1)
		return out
	})
	mutate("bad magic", func(b []byte) []byte {
		b[0] = 'X'
		return b
	})
}

func FuzzUnmarshalDict(f *testing.F) {
	f.Add(sampleDict(f))
	empty, _ := New().MarshalBinary()
	f.Add(empty)
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, in := range [][]byte{data, reseal(data)} {
			d, err := Unmarshal(in)
			if err != nil {
				continue
			}
			// Whatever is accepted must be consistent and re-encode as is.
			out, err := d.MarshalBinary()
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(out, in) {
				t.Fatal("accepted input does not re-encode identically")
			}
			for id := range d.MaxID() {
				k, ok := d.Key(id)
				if !ok {
					continue
				}
				if got, ok := d.Lookup(k); !ok || got != id {
					t.Fatalf("Lookup(Key(%d)) = %d %v", id, got, ok)
				}
			}
			d.Insert("fuzz-new-key")
		}
	})
}
