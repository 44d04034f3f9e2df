package timerslack

import (
	"fmt"
	"os"
	"runtime"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// parentDeathSignal is the signal the process is to get when its parent
// exits, as the parent set it (prctl PR_SET_PDEATHSIG; Go's
// SysProcAttr.Pdeathsig): a launcher's way to take its children down with
// it. The setting belongs to the thread that was started, the main one, and
// threads the process creates do not inherit it; package variables are
// initialised on the main thread (the runtime locks it for init), so this
// reads the launcher's value.
var parentDeathSignal = readParentDeathSignal()

// readParentDeathSignal returns 0, nothing to carry over, if prctl fails.
func readParentDeathSignal() uintptr {
	var sig int32
	if err := unix.Prctl(unix.PR_GET_PDEATHSIG, uintptr(unsafe.Pointer(&sig)), 0, 0, 0); err != nil {
		return 0
	}
	return uintptr(sig)
}

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
	// execve from this thread makes it the new image's only thread, so a
	// parent-death signal set on the main thread would be dropped: carry it
	// over. The main thread keeps its own until the exec ends it, so there
	// is no moment when the parent could exit unnoticed.
	if parentDeathSignal != 0 {
		if err := unix.Prctl(unix.PR_SET_PDEATHSIG, parentDeathSignal, 0, 0, 0); err != nil {
			return fmt.Errorf("keep the parent-death signal: %w", err)
		}
	}
	// /proc/self/exe is the running image even if its file was replaced or
	// removed since it started.
	if err := unix.Exec("/proc/self/exe", os.Args, os.Environ()); err != nil {
		return fmt.Errorf("execute /proc/self/exe again: %w", err)
	}
	return nil // not reached: a successful exec does not return
}
