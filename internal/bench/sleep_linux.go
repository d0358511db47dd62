package bench

import (
	"syscall"
	"time"
)

// sleepUntil blocks the calling thread in nanosleep until t. The Go scheduler rounds
// timer waits under a millisecond up to a whole millisecond when the process is idle
// (its poller waits in milliseconds), which at 1,000 requests/s made requests leave up
// to 1 ms after their intended time: latency of the generator, counted as the server's.
func sleepUntil(t time.Time) {
	d := time.Until(t)
	if d <= 0 {
		return
	}
	ts := syscall.NsecToTimespec(int64(d))
	for syscall.Nanosleep(&ts, &ts) == syscall.EINTR {
	}
}
