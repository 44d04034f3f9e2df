//go:build !linux

package timerslack

import "syscall"

func ParentDeathSignalAtStart() int { return 0 }

func ParentDeathSignalAttr() (int, *syscall.SysProcAttr) { return 0, nil }
