//go:build !linux

package index

// HugePageStats says what one CollapseHugePages call did.
type HugePageStats struct {
	Scanned   int64
	Collapsed int64
}

// CollapseHugePages does nothing outside Linux.
func CollapseHugePages() (HugePageStats, error) { return HugePageStats{}, nil }
