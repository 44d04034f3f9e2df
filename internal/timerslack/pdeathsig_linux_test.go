package timerslack_test

import (
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// startParentDeathSignal is the helper's parent-death signal as its image
// started, read on the main thread (package init runs there), the thread the
// setting belongs to.
var startParentDeathSignal = func() int32 {
	var sig int32
	_ = unix.Prctl(unix.PR_GET_PDEATHSIG, uintptr(unsafe.Pointer(&sig)), 0, 0, 0)
	return sig
}()

func parentDeathSignalAttr(sig syscall.Signal) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: sig}
}
