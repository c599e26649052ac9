//go:build !linux

package index

// HugePageStats says what one AdviseHugePages call did.
type HugePageStats struct {
	Advised   int64
	Collapsed int64
}

// AdviseHugePages does nothing outside Linux.
func AdviseHugePages(collapse bool) (HugePageStats, error) { return HugePageStats{}, nil }
