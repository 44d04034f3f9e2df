//go:build !linux

package timerslack_test

import "syscall"

var startParentDeathSignal int32

func parentDeathSignalAttr(syscall.Signal) *syscall.SysProcAttr { return nil }
