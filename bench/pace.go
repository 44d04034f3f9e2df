package bench

import (
	"context"
	"time"
)

// minGap is the shortest wait between two releases of open-loop requests:
// requests due closer together than that go out together. The load
// generator shares two cores with the server it measures: a timer wake-up
// per request (a pacer per connection) cost it 3.6 to 5.4 µs of CPU a request
// more at 44,000 req/s and pushed both servers' p99 from about 1.5 ms to 4
// to 6 ms. One releasing goroutine waking at most 10,000 times a second
// costs about 1 µs a request more than Go's sleep did, and a request is
// late by at most this much for the pacing's sake.
const minGap = 100 * time.Microsecond

// release sends on due the time each open-loop request falls due, rate a
// second from start until deadline, and closes due at the end or when ctx
// ends. A request is sent when it falls due, not before; when every worker
// is busy its due time waits in the channel, and its latency, counted from
// then, includes the wait.
func release(ctx context.Context, start, deadline time.Time, rate float64, due chan<- time.Time) {
	defer close(due)
	p := newPacer()
	defer p.close()
	// Each due time from its index, so rounding does not add up over a run.
	dueAt := func(i int64) time.Time { return start.Add(time.Duration(float64(i) / rate * float64(time.Second))) }
	var i int64
	for next := dueAt(0); next.Before(deadline); {
		for now := time.Now(); !next.After(now) && next.Before(deadline); next = dueAt(i) {
			select {
			case due <- next:
				i++
			case <-ctx.Done():
				return
			}
		}
		if ctx.Err() != nil {
			return
		}
		p.wait(max(time.Until(next), minGap))
	}
}

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
