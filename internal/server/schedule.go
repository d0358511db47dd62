package server

import (
	"context"
	"errors"
	"time"

	"github.com/bespokesearch/bespoke/internal/train"
)

// retrainEvery calls trainOnce every interval until ctx is done; a run that fails is
// logged and the next one comes at the next tick (a lake without searches yet is not an
// error worth more than a line).
func (s *Server) retrainEvery(ctx context.Context, every time.Duration, trainOnce func(context.Context) error) {
	if every <= 0 {
		return
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if !s.models.training.TryLock() {
			continue // a run asked for through the API is under way
		}
		err := trainOnce(ctx)
		s.models.training.Unlock()
		switch {
		case err == nil:
		case errors.Is(err, train.ErrNoData):
			s.log.Info("scheduled training skipped: not enough data yet", "err", err)
		case ctx.Err() != nil:
			return
		default:
			s.log.Error("scheduled training failed; will try again", "err", err, "next_in", every.String())
		}
	}
}
