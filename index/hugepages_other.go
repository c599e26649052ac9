//go:build !linux

package index

// CollapseHugePages does nothing outside Linux.
func CollapseHugePages() (HugePageStats, error) { return HugePageStats{}, nil }
