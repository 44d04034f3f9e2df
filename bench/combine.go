package bench

// Combine merges results of loads that ran at the same time, each within
// the span of the longest (a steady load and a burst in its middle): counts
// add up, latencies merge, and the rate is all requests over that span. The
// timeline is left out since the loads started apart.
func Combine(rs ...Result) Result {
	total := newResult(0)
	for _, r := range rs {
		r.Timeline = nil
		total.merge(r)
		total.Seconds = max(total.Seconds, r.Seconds)
	}
	if total.Seconds > 0 {
		total.RPS = float64(total.Requests) / total.Seconds
	}
	total.summarize()
	return total
}

// Pool merges results of runs made one after the other against the same
// target: counts add up, latencies merge, and the rate is all requests over
// all the runs' time.
func Pool(rs ...Result) Result {
	total := Combine(rs...)
	secs := 0.0
	for _, r := range rs {
		secs += r.Seconds
	}
	total.Seconds = secs
	if secs > 0 {
		total.RPS = float64(total.Requests) / secs
	}
	return total
}
