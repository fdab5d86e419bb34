package boltstore

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"
)

// BenchmarkStats times one Stats call on a queue of 10,000 jobs and on one
// of 1,000,000 (128-byte payloads): Stats reads the due index and every
// job's keys, not its payload, so its cost grows with the queue.
//
//	go test ./store/boltstore -run '^$' -bench BenchmarkStats -benchtime 5x
func BenchmarkStats(b *testing.B) {
	for _, n := range []int{10_000, 1_000_000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			s, err := Open(filepath.Join(b.TempDir(), "store.db"), nil)
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			fill(b, s, n, 128, 20_000)
			now := benchNow.Add(time.Duration(n/2) * time.Millisecond)
			for b.Loop() {
				st, err := s.Stats(context.Background(), now)
				if err != nil || len(st.Providers) != 1 || st.Providers[0].Queued != n {
					b.Fatal(st, err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/stats")
		})
	}
}
