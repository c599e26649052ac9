package hugepages

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
	"syscall"
	"unsafe"
)

const (
	madvCollapse = 25 // MADV_COLLAPSE (Linux 6.1)
	hugeMin      = 4 << 20
	hugeSize     = 2 << 20
	hugeDense    = hugeSize / 4096 * 15 / 16 // resident 4 KiB pages a chunk needs to be collapsed
)

// Collapse collapses into transparent huge pages the 2 MiB chunks
// of the process's large private anonymous mappings (4 MiB and more: the Go
// heap's arenas) that are at least 15/16 resident, so that the resident set
// does not grow (a copy of each chunk, about a second per few GiB the first
// time; chunks already huge cost a system call). Call it again after the
// heap grew. It does nothing on a kernel with transparent huge pages off
// ("never") or without MADV_COLLAPSE (before Linux 6.1).
func Collapse() (Stats, error) {
	var st Stats
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
		st.Scanned += int64(end - start)
		// Chunk by chunk: a range's collapse stops at its first chunk
		// that cannot be collapsed.
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
