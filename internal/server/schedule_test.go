package server

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bespokesearch/bespoke/internal/train"
)

func TestRetrainEveryRunsOnScheduleAndSurvivesFailures(t *testing.T) {
	s := &Server{log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	var calls atomic.Int32
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.retrainEvery(ctx, 10*time.Millisecond, func(context.Context) error {
			switch calls.Add(1) {
			case 1:
				return train.ErrNoData
			case 2:
				return errors.New("disk full")
			}
			return nil
		})
	}()
	deadline := time.Now().Add(5 * time.Second)
	for calls.Load() < 4 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	<-done
	if n := calls.Load(); n < 4 {
		t.Fatalf("training ran %d times; failed runs must not stop the schedule", n)
	}
	// While a run asked for through the API holds the lock, the schedule skips its turn.
	s.models.training.Lock()
	calls.Store(0)
	ctx, cancel = context.WithTimeout(context.Background(), 60*time.Millisecond)
	s.retrainEvery(ctx, 10*time.Millisecond, func(context.Context) error { calls.Add(1); return nil })
	cancel()
	s.models.training.Unlock()
	if calls.Load() != 0 {
		t.Fatalf("the schedule trained while another run held the lock")
	}
}
