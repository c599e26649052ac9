//go:build !linux

package hugepages

// Collapse does nothing outside Linux.
func Collapse() (Stats, error) { return Stats{}, nil }
