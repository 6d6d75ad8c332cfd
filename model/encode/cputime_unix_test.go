//go:build unix

package encode_test

import (
	"syscall"
	"time"
)

// cpuTime is the process's user+system CPU time, for throughput figures
// that hold on a machine shared with other jobs.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
