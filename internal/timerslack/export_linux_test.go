package timerslack

import "syscall"

// ParentDeathSignalAtStart is the parent-death signal this image started
// with, as the package read it on the main thread.
func ParentDeathSignalAtStart() int { return int(parentDeathSignal) }

// ParentDeathSignalAttr starts a child that gets SIGUSR1 when its parent
// exits, and returns that signal's number.
func ParentDeathSignalAttr() (int, *syscall.SysProcAttr) {
	return int(syscall.SIGUSR1), &syscall.SysProcAttr{Pdeathsig: syscall.SIGUSR1}
}
