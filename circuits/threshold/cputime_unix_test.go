//go:build unix

package threshold

import (
	"syscall"
	"time"
)

// cpuTime is the process's user and system CPU time so far, all threads:
// on a machine shared with other work it measures a proof's cost better
// than the wall clock does.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
