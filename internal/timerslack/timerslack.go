// Package timerslack raises the Linux timer slack of a whole process: how
// late the kernel may fire the process's timed sleeps so that it can group
// wake-ups.
//
// Why a Go service wants it: while a program's goroutines are busy, the Go
// runtime's sysmon thread sleeps 20 µs at a time between its checks, and
// each of its wake-ups is a context switch. On the two-core virtual machine
// where the edge is benchmarked, context switches are expensive, and sysmon's
// were a third of the edge's under load (perf sched:sched_switch). With a
// 1 ms slack its sleeps last up to about a millisecond instead, and the
// edge's context switches per request fell from about 0.5 to 0.3.
//
// A thread can only set its own slack, and new threads inherit their
// creator's, so the runtime's threads (sysmon among them, started before
// main) keep the slack the process was started with. The one way to raise
// them all is to set the slack and then execute the program again: exec
// keeps the slack, and every thread of the new image inherits it.
package timerslack

import (
	"errors"
	"time"
)

// ErrUnsupported is returned where the operating system has no timer slack.
var ErrUnsupported = errors.New("timer slack is not supported on this system")

// Current returns the calling thread's timer slack; in a process started
// with the slack raised, every thread has that value.
func Current() (time.Duration, error) { return current() }

// Reexec sets the calling thread's timer slack to d and replaces the process
// with a fresh run of the same executable, arguments and environment, whose
// threads all start with that slack. The process keeps its ID, its open
// descriptors that are not close-on-exec, its parent, and the signal its
// parent asked it to get when the parent exits. Reexec returns only
// if it failed, with the slack of the calling thread possibly changed.
//
// Callers compare Current with d first: after the exec the slack is already
// d, so the new run does not execute itself again.
func Reexec(d time.Duration) error { return reexec(d) }
