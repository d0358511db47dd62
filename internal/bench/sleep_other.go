//go:build !linux

package bench

import "time"

// sleepUntil waits until t (see sleep_linux.go for why Linux does it differently).
func sleepUntil(t time.Time) { time.Sleep(time.Until(t)) }
