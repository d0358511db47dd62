package jetstream

import (
	"context"
	"fmt"
	"strconv"
	"sync/atomic"
	"testing"
)

// BenchmarkEmbeddedPublish is one durable (SyncAlways) publish of an envelope-sized
// message, from parallel publishers: the floor under the collector's group commit.
func BenchmarkEmbeddedPublish(b *testing.B) {
	for _, size := range []int{4 << 10, 256 << 10, 1 << 20} {
		b.Run(fmt.Sprintf("%dKiB", size>>10), func(b *testing.B) {
			s, err := Open(context.Background(), Config{Dir: b.TempDir()})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			data := make([]byte, size)
			var n atomic.Int64
			b.ReportAllocs()
			b.SetBytes(int64(size))
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := s.Publish(context.Background(), strconv.FormatInt(n.Add(1), 36), data); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}
