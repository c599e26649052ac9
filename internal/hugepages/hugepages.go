// Package hugepages gives the engine's memory transparent huge pages.
//
// At millions of entities almost every point read and write of the engine (a
// customer's ordinal in an ENUM field, its INT value, its bit in a segment's
// roaring container) misses the processor's caches and its TLB: with 4 KiB
// pages each miss also walks the page tables. Go does not ask for huge pages
// itself, so on a kernel whose transparent_hugepage setting is "madvise" (the
// default of many distributions) the engine runs on 4 KiB pages. Collapse
// (Linux only; elsewhere it does nothing) collapses the chunks of the heap
// that are almost wholly resident into 2 MiB pages (MADV_COLLAPSE). It does
// not mark the heap MADV_HUGEPAGE: then page faults and khugepaged would also
// fill sparse chunks with whole huge pages, and the resident set would grow.
package hugepages

// Stats says what one Collapse call did.
type Stats struct {
	Scanned   int64 // bytes of mappings looked at
	Collapsed int64 // bytes of them collapsed into huge pages (or already huge)
}
