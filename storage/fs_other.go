//go:build !unix

package storage

import "io/fs"

func allocatedBytes(info fs.FileInfo) int64 { return info.Size() }

// dirLocked cannot probe without flock; Badger's own lock still refuses a
// second process, and files in use cannot be removed on these systems.
func dirLocked(string) (bool, error) { return false, nil }

func freeBytes(string) (uint64, error) { return 1 << 62, nil }
