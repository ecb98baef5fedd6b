package scorer

import (
	"syscall"
	"time"
)

// cpuTime is the locked thread's CPU time (RUSAGE_THREAD), so other
// processes on a busy machine do not skew a comparison.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(1, &ru); err != nil {
		return time.Duration(time.Now().UnixNano())
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
