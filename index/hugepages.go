package index

// HugePageStats says what one CollapseHugePages call did (see
// hugepages_linux.go; elsewhere it does nothing).
type HugePageStats struct {
	Scanned   int64 // bytes of mappings looked at
	Collapsed int64 // bytes of them collapsed into huge pages (or already huge)
}
