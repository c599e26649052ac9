package hugepages

import (
	"os"
	"strings"
	"testing"
)

func TestAnonRange(t *testing.T) {
	for _, c := range []struct {
		line       string
		start, end uintptr
		ok         bool
	}{
		{"c000000000-c004000000 rw-p 00000000 00:00 0 ", 0xc000000000, 0xc004000000, true},
		{"7f0000000000-7f0000400000 rw-p 00000000 00:00 0                          [anon: Go: heap]", 0x7f0000000000, 0x7f0000400000, true},
		{"7ffd00000000-7ffd00021000 rw-p 00000000 00:00 0                          [stack]", 0, 0, false},
		{"00400000-00452000 r-xp 00000000 08:02 173521      /usr/bin/segd", 0, 0, false},
		{"00651000-00652000 rw-p 00051000 08:02 173521      /usr/bin/segd", 0, 0, false},
		{"7f0000000000-7f0000400000 r--p 00000000 00:00 0 ", 0, 0, false},
		{"garbage", 0, 0, false},
	} {
		s, e, ok := anonRange([]byte(c.line))
		if ok != c.ok || s != c.start || e != c.end {
			t.Errorf("anonRange(%q) = %x, %x, %v; want %x, %x, %v", c.line, s, e, ok, c.start, c.end, c.ok)
		}
	}
}

// TestCollapseHugePages: a large, wholly written allocation is scanned and
// collapsed into huge pages (on a kernel with MADV_COLLAPSE); the data is
// intact.
func TestCollapseHugePages(t *testing.T) {
	mode, err := os.ReadFile("/sys/kernel/mm/transparent_hugepage/enabled")
	if err != nil || strings.Contains(string(mode), "[never]") {
		t.Skip("transparent huge pages are off on this kernel")
	}
	big := make([]uint64, 64<<20/8)
	for i := range big {
		big[i] = uint64(i)
	}
	st, err := Collapse()
	if err != nil {
		t.Fatal(err)
	}
	if st.Scanned < int64(len(big)*8) {
		t.Fatalf("scanned %d bytes, less than the %d just allocated", st.Scanned, len(big)*8)
	}
	if st.Collapsed > st.Scanned {
		t.Fatalf("collapsed %d of %d scanned bytes", st.Collapsed, st.Scanned)
	}
	t.Logf("collapsed %d of %d bytes", st.Collapsed, st.Scanned)
	for i := range big {
		if big[i] != uint64(i) {
			t.Fatalf("word %d changed to %d", i, big[i])
		}
	}
}
