package timerslack

import (
	"fmt"
	"os"
	"runtime"
	"time"

	"golang.org/x/sys/unix"
)

func current() (time.Duration, error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	ns, err := unix.PrctlRetInt(unix.PR_GET_TIMERSLACK, 0, 0, 0, 0)
	if err != nil {
		return 0, fmt.Errorf("read timer slack: %w", err)
	}
	return time.Duration(ns), nil
}

func reexec(d time.Duration) error {
	if d <= 0 {
		return fmt.Errorf("timer slack %v: must be positive", d)
	}
	// The slack is per thread: the one that sets it must be the one that
	// calls execve, whose slack the new image starts with.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if err := unix.Prctl(unix.PR_SET_TIMERSLACK, uintptr(d.Nanoseconds()), 0, 0, 0); err != nil {
		return fmt.Errorf("set timer slack: %w", err)
	}
	// /proc/self/exe is the running image even if its file was replaced or
	// removed since it started.
	if err := unix.Exec("/proc/self/exe", os.Args, os.Environ()); err != nil {
		return fmt.Errorf("execute /proc/self/exe again: %w", err)
	}
	return nil // not reached: a successful exec does not return
}
