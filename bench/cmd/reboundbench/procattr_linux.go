package main

import "syscall"

// childAttr makes a child get SIGTERM when the benchmark dies without
// stopping it (SIGKILL, a crash): an edge and an origin left running from
// such a run were found still holding their ports and Redis connections
// during the next one. The signal follows the OS thread that started the
// child, and the Go runtime does not end its threads unless a goroutine
// locked to one exits, which this program never does.
func childAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
}
