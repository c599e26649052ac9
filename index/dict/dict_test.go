package dict

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"strconv"
	"sync"
	"testing"
)

// dictModel is the reference: a map plus the same id allocation rule.
type dictModel struct {
	ids   map[string]uint32
	keys  map[uint32]string
	free  []uint32
	maxID uint32
}

func newDictModel() *dictModel {
	return &dictModel{ids: map[string]uint32{}, keys: map[uint32]string{}}
}

func (m *dictModel) clone() *dictModel {
	c := newDictModel()
	for k, v := range m.ids {
		c.ids[k] = v
		c.keys[v] = k
	}
	c.free = append([]uint32(nil), m.free...)
	c.maxID = m.maxID
	return c
}

func (m *dictModel) insert(k string) (uint32, bool) {
	if id, ok := m.ids[k]; ok {
		return id, false
	}
	var id uint32
	if n := len(m.free); n > 0 {
		id = m.free[n-1]
		m.free = m.free[:n-1]
	} else {
		id = m.maxID
		m.maxID++
	}
	m.ids[k] = id
	m.keys[id] = k
	return id, true
}

func (m *dictModel) delete(k string) (uint32, bool) {
	id, ok := m.ids[k]
	if !ok {
		return 0, false
	}
	delete(m.ids, k)
	delete(m.keys, id)
	m.free = append(m.free, id)
	return id, true
}

// dictKeyGen draws keys from a mix of shapes so that inserts, deletes and
// lookups often hit existing or deleted keys.
type dictKeyGen struct {
	r    *rand.Rand
	pool []string
}

func newDictKeyGen(seed uint64, poolSize int) *dictKeyGen {
	g := &dictKeyGen{r: rand.New(rand.NewPCG(seed, 7))}
	for i := range poolSize {
		var k string
		switch i % 6 {
		case 0:
			k = "u:" + strconv.Itoa(i)
		case 1: // arbitrary bytes, NUL included
			b := make([]byte, 1+g.r.IntN(40))
			for j := range b {
				b[j] = byte(g.r.UintN(256))
			}
			k = string(b)
		case 2: // 512-byte keys
			b := bytes.Repeat([]byte{byte(i), 0, 0xff}, 171)[:512]
			binary.LittleEndian.PutUint32(b[100:], uint32(i))
			k = string(b)
		case 3: // around the one/two byte uvarint boundary
			k = string(bytes.Repeat([]byte{'x'}, 120+g.r.IntN(20))) + strconv.Itoa(i)
		case 4:
			k = string([]byte{0, byte(i), byte(i >> 8), 0})
		default:
			k = fmt.Sprintf("k%d", i)
		}
		g.pool = append(g.pool, k)
	}
	return g
}

func (g *dictKeyGen) key() string { return g.pool[g.r.IntN(len(g.pool))] }

func checkDict(t *testing.T, d *Dict, m *dictModel) {
	t.Helper()
	if d.Len() != len(m.ids) {
		t.Fatalf("Len = %d, want %d", d.Len(), len(m.ids))
	}
	if d.MaxID() != m.maxID {
		t.Fatalf("MaxID = %d, want %d", d.MaxID(), m.maxID)
	}
	for id := range m.maxID + 2 {
		k, ok := d.Key(id)
		wk, wok := m.keys[id]
		if ok != wok || k != wk {
			t.Fatalf("Key(%d) = %q %v, want %q %v", id, k, ok, wk, wok)
		}
		buf, ok := d.AppendKey([]byte("pre"), id)
		if ok != wok || string(buf) != "pre"+wk {
			t.Fatalf("AppendKey(%d) = %q %v", id, buf, ok)
		}
	}
	for k, id := range m.ids {
		if got, ok := d.Lookup(k); !ok || got != id {
			t.Fatalf("Lookup(%q) = %d %v, want %d", k, got, ok, id)
		}
		if got, ok := d.LookupBytes([]byte(k)); !ok || got != id {
			t.Fatalf("LookupBytes(%q) = %d %v, want %d", k, got, ok, id)
		}
	}
}

func TestDictModel(t *testing.T) {
	g := newDictKeyGen(1, 3000)
	d, m := New(), newDictModel()
	var d2 *Dict // the round-tripped copy, once made
	var m2 *dictModel
	steps := 60000
	if testing.Short() {
		steps = 15000
	}
	for step := range steps {
		k := g.key()
		switch op := g.r.IntN(10); {
		case op < 5:
			id, created := d.Insert(k)
			wid, wcreated := m.insert(k)
			if id != wid || created != wcreated {
				t.Fatalf("step %d: Insert(%q) = %d %v, want %d %v", step, k, id, created, wid, wcreated)
			}
			if d2 != nil {
				id, created = d2.Insert(k)
				wid, wcreated = m2.insert(k)
				if id != wid || created != wcreated {
					t.Fatalf("step %d: restored Insert(%q) = %d %v, want %d %v", step, k, id, created, wid, wcreated)
				}
			}
		case op < 8:
			id, ok := d.Delete(k)
			wid, wok := m.delete(k)
			if id != wid || ok != wok {
				t.Fatalf("step %d: Delete(%q) = %d %v, want %d %v", step, k, id, ok, wid, wok)
			}
			if d2 != nil {
				id, ok = d2.Delete(k)
				wid, wok = m2.delete(k)
				if id != wid || ok != wok {
					t.Fatalf("step %d: restored Delete(%q) = %d %v, want %d %v", step, k, id, ok, wid, wok)
				}
			}
		default:
			id, ok := d.Lookup(k)
			wid, wok := m.ids[k]
			if id != wid && wok || ok != wok {
				t.Fatalf("step %d: Lookup(%q) = %d %v, want %d %v", step, k, id, ok, wid, wok)
			}
		}
		if step%5000 == 4999 {
			checkDict(t, d, m)
			if d2 != nil {
				checkDict(t, d2, m2)
			}
			// Round-trip the main dictionary; the copy and its model go on
			// with the same operations from here.
			data, err := d.MarshalBinary()
			if err != nil {
				t.Fatal(err)
			}
			d2, err = Unmarshal(data)
			if err != nil {
				t.Fatal(err)
			}
			m2 = m.clone()
			checkDict(t, d2, m2)
			again, err := d2.MarshalBinary()
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(again, data) {
				t.Fatal("marshal of the restored dictionary differs")
			}
		}
	}
	checkDict(t, d, m)
	checkDict(t, d2, m2)
}

func TestDictGrowAndDeleteAll(t *testing.T) {
	d, m := New(), newDictModel()
	const n = 200000 // crosses the 2^16 and 2^17 id-bit boundaries
	for i := range n {
		k := "u:" + strconv.Itoa(i)
		id, _ := d.Insert(k)
		m.insert(k)
		if id != uint32(i) {
			t.Fatalf("id %d for key %d", id, i)
		}
	}
	checkDict(t, d, m)
	for i := 0; i < n; i += 2 {
		k := "u:" + strconv.Itoa(i)
		d.Delete(k)
		m.delete(k)
	}
	checkDict(t, d, m)
	for i := range n {
		k := "v:" + strconv.Itoa(i)
		d.Insert(k)
		m.insert(k)
	}
	checkDict(t, d, m)
	for k := range m.ids {
		if _, ok := d.Delete(k); !ok {
			t.Fatalf("Delete(%q) failed", k)
		}
	}
	for k := range m.ids {
		m.delete(k)
	}
	checkDict(t, d, m)
	if d.Len() != 0 {
		t.Fatal("not empty")
	}
}

func TestDictCompaction(t *testing.T) {
	d, m := New(), newDictModel()
	big := bytes.Repeat([]byte{0}, 512)
	for i := range 30000 {
		binary.BigEndian.PutUint32(big, uint32(i))
		d.Insert(string(big))
		m.insert(string(big))
	}
	before := d.SizeInBytes()
	for i := range 25000 {
		binary.BigEndian.PutUint32(big, uint32(i*7%30000))
		d.Delete(string(big))
		m.delete(string(big))
	}
	if d.garbage >= d.used+dictCompactMin {
		t.Fatalf("garbage %d not compacted (used %d)", d.garbage, d.used)
	}
	if after := d.SizeInBytes(); after > before/2 {
		t.Fatalf("size %d after deleting most keys, was %d", after, before)
	}
	checkDict(t, d, m)
	for i := range 1000 {
		binary.BigEndian.PutUint32(big, uint32(i+1e6))
		d.Insert(string(big))
		m.insert(string(big))
	}
	checkDict(t, d, m)
}

// TestDictHighOffsets exercises the 40-bit offsets without 4 GiB of keys by
// starting the arena past 4 GiB with empty chunks.
func TestDictHighOffsets(t *testing.T) {
	d, m := New(), newDictModel()
	d.Insert("low")
	m.insert("low")
	d.chunks = append(d.chunks, make([][]byte, 1100)...)
	g := newDictKeyGen(3, 500)
	for range 2000 {
		k := g.key()
		if g.r.IntN(3) == 0 {
			d.Delete(k)
			m.delete(k)
		} else {
			d.Insert(k)
			m.insert(k)
		}
	}
	if d.offHi == nil {
		t.Fatal("offHi not in use")
	}
	checkDict(t, d, m)
	d.compact()
	checkDict(t, d, m)
	data, err := d.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	d2, err := Unmarshal(data)
	if err != nil {
		t.Fatal(err)
	}
	checkDict(t, d2, m)
}

func TestDictKeyShapes(t *testing.T) {
	d := New()
	keys := []string{"", "\x00", "\x00\x00", string(bytes.Repeat([]byte{0xff}, 512)), "a", "A"}
	for i, k := range keys {
		if id, created := d.Insert(k); id != uint32(i) || !created {
			t.Fatalf("Insert(%q) = %d %v", k, id, created)
		}
	}
	for i, k := range keys {
		if id, created := d.Insert(k); id != uint32(i) || created {
			t.Fatalf("second Insert(%q) = %d %v", k, id, created)
		}
		if got, ok := d.Key(uint32(i)); !ok || got != k {
			t.Fatalf("Key(%d) = %q", i, got)
		}
	}
	if _, ok := d.Lookup("b"); ok {
		t.Fatal("found a missing key")
	}
	if _, ok := d.Lookup(string(make([]byte, MaxKeyLen+1))); ok {
		t.Fatal("found an overlong key")
	}
}

func TestDictAllocs(t *testing.T) {
	d := New()
	for i := range 1000 {
		d.Insert("user:" + strconv.Itoa(i))
	}
	kb := []byte("user:500")
	if n := testing.AllocsPerRun(100, func() { d.LookupBytes(kb) }); n != 0 {
		t.Fatalf("LookupBytes allocates %v", n)
	}
	if n := testing.AllocsPerRun(100, func() { d.Lookup("user:500") }); n != 0 {
		t.Fatalf("Lookup allocates %v", n)
	}
	if n := testing.AllocsPerRun(100, func() { _, _ = d.Key(500) }); n > 1 {
		t.Fatalf("Key allocates %v", n)
	}
	buf := make([]byte, 0, 64)
	if n := testing.AllocsPerRun(100, func() { buf, _ = d.AppendKey(buf[:0], 500) }); n != 0 {
		t.Fatalf("AppendKey allocates %v", n)
	}
}

func TestDictSizePerKey(t *testing.T) {
	const n = 1 << 20
	d := New()
	var keyBytes int
	for i := range n {
		k := "u:" + strconv.Itoa(i)
		keyBytes += len(k)
		d.Insert(k)
	}
	over := (float64(d.SizeInBytes()) - float64(keyBytes)) / n
	t.Logf("SizeInBytes: key length + %.1f bytes per key", over)
	if over > 16 {
		t.Fatalf("overhead %.1f bytes per key", over)
	}
}

// TestDictConcurrentReads runs the read-only methods from several goroutines
// (run it with -race).
func TestDictConcurrentReads(t *testing.T) {
	d, keys := benchDict(20000)
	want, err := d.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			var buf []byte
			for i := g; i < len(keys); i += 4 {
				if id, ok := d.Lookup(keys[i]); !ok || id != uint32(i) {
					t.Errorf("Lookup(%q) = %d %v", keys[i], id, ok)
					return
				}
				if k, ok := d.Key(uint32(i)); !ok || k != keys[i] {
					t.Errorf("Key(%d) = %q", i, k)
					return
				}
				buf, _ = d.AppendKey(buf[:0], uint32(i))
			}
			if got, _ := d.MarshalBinary(); !bytes.Equal(got, want) {
				t.Error("concurrent MarshalBinary differs")
			}
		})
	}
	wg.Wait()
}
