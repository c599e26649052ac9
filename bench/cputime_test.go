package bench

import (
	"syscall"
	"testing"
	"time"
)

// processCPU is the CPU time this process has used (user + system, every
// thread, the collector's included).
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// cpuPerOp reports "cpu-ns/op" next to ns/op: the process CPU time per
// operation. On a machine shared with other work, wall time per operation
// grows with the others' load; CPU time mostly does not, so for a
// single-threaded operation it is close to its wall time on an idle
// machine. Call it with b.ResetTimer's start: defer cpuPerOp(b)().
func cpuPerOp(b *testing.B) func() {
	start := processCPU()
	return func() {
		if b.N > 0 {
			b.ReportMetric(float64(processCPU()-start)/float64(b.N), "cpu-ns/op")
		}
	}
}
