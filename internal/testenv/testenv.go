// Package testenv marks the tests that need something of the machine (a
// program, a browser, a pseudo-terminal) that the test itself cannot
// provide. Such a test is skipped with the reason, unless SEGD_TEST_STRICT
// is set (CI sets it: .ci/run installs everything), where it fails, so that
// a missing dependency never passes unnoticed.
package testenv

import (
	"os"
	"os/exec"
	"testing"
)

// Strict tells whether environment skips are failures.
func Strict() bool { return os.Getenv("SEGD_TEST_STRICT") != "" }

// Skip skips t for a missing part of the environment, or fails it in
// strict mode. why says what is missing and how to get it.
func Skip(t testing.TB, why string) {
	t.Helper()
	if Strict() {
		t.Fatalf("environment (SEGD_TEST_STRICT is set, so this is a failure): %s", why)
	}
	t.Skip("environment: " + why)
}

// Program returns the path of the program name, or skips t (fails it in
// strict mode) with why when it is not on PATH.
func Program(t testing.TB, name, why string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		Skip(t, why)
	}
	return p
}
