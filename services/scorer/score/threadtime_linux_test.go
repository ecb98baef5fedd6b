package score

import (
	"syscall"
	"time"
)

// rusageThread is RUSAGE_THREAD: the calling thread's own CPU time.
const rusageThread = 1

// threadTime is the CPU time the calling (locked) thread has used.
func threadTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(rusageThread, &ru); err != nil {
		return time.Duration(time.Now().UnixNano())
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
