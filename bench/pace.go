package bench

import "time"

// A pacer waits out the gap before an open-loop request is due. Go's own
// sleep cannot be trusted for that: when the runtime has nothing else to run
// it waits for its next timer in epoll, whose timeout is whole milliseconds,
// so a sleep shorter than a millisecond can last a whole one, and open-loop
// latency, counted from when a request was due, would carry the load
// generator's lateness as the server's.
type pacer interface {
	wait(d time.Duration)
	close()
}

// sleepPacer is the fallback: Go's sleep, late by up to a millisecond.
type sleepPacer struct{}

func (sleepPacer) wait(d time.Duration) { time.Sleep(d) }
func (sleepPacer) close()               {}
