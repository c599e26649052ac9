package server

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

// VersionLine is what `segd --version` prints: segd's version, the Go
// version and platform, and the source revision when the binary was built
// from a git checkout.
func VersionLine() string {
	line := fmt.Sprintf("segd %s (%s, %s/%s", Version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
	if rev := revision(); rev != "" {
		line += ", revision " + rev
	}
	return line + ")"
}

// revision is the VCS revision the binary was built from ("" when
// unknown), with "+dirty" for uncommitted changes.
func revision() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return ""
	}
	var rev, dirty string
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				dirty = "+dirty"
			}
		}
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if rev == "" {
		return ""
	}
	return rev + dirty
}
