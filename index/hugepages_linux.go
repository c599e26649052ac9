package index

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
	"syscall"
	"unsafe"
)

// Transparent huge pages for the engine's memory. At millions of entities
// almost every point read and write of the engine (a customer's ordinal in
// an ENUM field, its INT value, its bit in a segment's roaring container)
// misses the processor's caches and its TLB: with 4 KiB pages each miss
// also walks the page tables. Go does not ask for huge pages itself, so on
// a kernel whose transparent_hugepage setting is "madvise" (the default of
// many distributions) the engine runs on 4 KiB pages. AdviseHugePages asks
// for 2 MiB pages over the process's large anonymous mappings (the Go heap)
// and collapses what is already resident.

const (
	madvHugePage = 14 // MADV_HUGEPAGE
	madvCollapse = 25 // MADV_COLLAPSE (Linux 6.1)
	hugeMin      = 4 << 20
	hugeSize     = 2 << 20
	hugeDense    = hugeSize / 4096 * 15 / 16 // resident 4 KiB pages a chunk needs to be collapsed
)

// HugePageStats says what one AdviseHugePages call did.
type HugePageStats struct {
	Advised   int64 // bytes of mappings advised
	Collapsed int64 // bytes of them collapsed into huge pages now
}

// AdviseHugePages advises the large private anonymous mappings of the
// process (4 MiB and more: the Go heap's arenas) to use transparent huge
// pages and, when collapse is set, collapses their resident pages into huge
// pages now (a copy, about a second per few GiB). Call it again after the
// heap grew: new arenas are new mappings. It does nothing on a kernel with
// transparent huge pages off ("never").
func AdviseHugePages(collapse bool) (HugePageStats, error) {
	var st HugePageStats
	if mode, err := os.ReadFile("/sys/kernel/mm/transparent_hugepage/enabled"); err != nil || bytes.Contains(mode, []byte("[never]")) {
		return st, nil
	}
	maps, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		return st, fmt.Errorf("huge pages: %w", err)
	}
	var vec [hugeSize / 4096]byte
	sc := bufio.NewScanner(bytes.NewReader(maps))
	for sc.Scan() {
		start, end, ok := anonRange(sc.Bytes())
		if !ok || end-start < hugeMin {
			continue
		}
		if madvise(start, end-start, madvHugePage) == nil {
			st.Advised += int64(end - start)
		}
		if !collapse {
			continue
		}
		// Chunk by chunk (a range's collapse stops at its first chunk
		// that cannot be collapsed), and only the chunks almost wholly
		// resident: collapsing makes a chunk wholly resident, and the
		// heap's free pages should stay given back.
		for a := (start + hugeSize - 1) &^ (hugeSize - 1); a+hugeSize <= end; a += hugeSize {
			if resident(a, vec[:]) >= hugeDense && madvise(a, hugeSize, madvCollapse) == nil {
				st.Collapsed += hugeSize
			}
		}
	}
	return st, nil
}

// anonRange parses a /proc/self/maps line of a private, writable mapping
// backed by no file.
func anonRange(line []byte) (start, end uintptr, ok bool) {
	f := bytes.Fields(line)
	if len(f) < 5 || string(f[1]) != "rw-p" || string(f[4]) != "0" {
		return 0, 0, false
	}
	if len(f) > 5 && f[5][0] != '[' {
		return 0, 0, false // a file
	}
	if len(f) > 5 && string(f[5]) == "[stack]" {
		return 0, 0, false
	}
	dash := bytes.IndexByte(f[0], '-')
	if dash < 0 {
		return 0, 0, false
	}
	s, err1 := strconv.ParseUint(string(f[0][:dash]), 16, 64)
	e, err2 := strconv.ParseUint(string(f[0][dash+1:]), 16, 64)
	if err1 != nil || err2 != nil || e <= s {
		return 0, 0, false
	}
	return uintptr(s), uintptr(e), true
}

// resident counts the resident 4 KiB pages of the huge page at addr (0 when
// it cannot tell).
func resident(addr uintptr, vec []byte) int {
	if _, _, e := syscall.Syscall(syscall.SYS_MINCORE, addr, hugeSize, uintptr(unsafe.Pointer(&vec[0]))); e != 0 {
		return 0
	}
	n := 0
	for _, b := range vec {
		n += int(b & 1)
	}
	return n
}

func madvise(addr, n uintptr, advice int) error {
	if _, _, e := syscall.Syscall(syscall.SYS_MADVISE, addr, n, uintptr(advice)); e != 0 {
		return e
	}
	return nil
}
