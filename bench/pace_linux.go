package bench

import (
	"fmt"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// timerPacer waits on a timerfd read through Go's netpoller: the kernel's
// high-resolution timer wakes epoll when the gap is over, to the microsecond
// and without timer slack, and the waiting goroutine parks like one reading a
// socket, holding no thread.
type timerPacer struct {
	fd  int // kept apart: os.File.Fd would set the descriptor blocking
	f   *os.File
	buf [8]byte
}

// newPacer returns a timerfd pacer, or Go's sleep if the kernel refuses one.
func newPacer() pacer {
	p, err := newTimerPacer()
	if err != nil {
		return sleepPacer{}
	}
	return p
}

func newTimerPacer() (*timerPacer, error) {
	fd, err := unix.TimerfdCreate(unix.CLOCK_MONOTONIC, unix.TFD_NONBLOCK|unix.TFD_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("timerfd_create: %w", err)
	}
	// os.NewFile sees the descriptor is non-blocking and registers it with
	// the netpoller, so Read parks the goroutine rather than a thread.
	return &timerPacer{fd: fd, f: os.NewFile(uintptr(fd), "pacer")}, nil
}

func (p *timerPacer) wait(d time.Duration) {
	if d <= 0 {
		return
	}
	spec := unix.ItimerSpec{Value: unix.NsecToTimespec(d.Nanoseconds())}
	if err := unix.TimerfdSettime(p.fd, 0, &spec, nil); err != nil {
		time.Sleep(d)
		return
	}
	// The read returns the expiry count once the timer fires; an error
	// (the file closed) can only end the wait early, never extend it.
	_, _ = p.f.Read(p.buf[:])
}

func (p *timerPacer) close() { _ = p.f.Close() }
