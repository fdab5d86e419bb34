package writeback_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/writebackhq/writeback"
	"github.com/writebackhq/writeback/providers/providertest"
	"github.com/writebackhq/writeback/store/boltstore"
)

// discardSpans is a span exporter that drops what it is given.
type discardSpans struct{}

func (discardSpans) ExportSpans(context.Context, []sdktrace.ReadOnlySpan) error { return nil }
func (discardSpans) Shutdown(context.Context) error                             { return nil }

// BenchmarkAsyncEnqueueTracing compares BenchmarkAsyncEnqueue's accept
// path with OpenTelemetry's SDK recording every span (batched to an
// exporter that drops them) and every metric, against the same Writer with
// no SDK installed, taking turns in one run. Goal: traced ≥ 0.9 of
// untraced.
func BenchmarkAsyncEnqueueTracing(b *testing.B) {
	const rounds = 8
	ctx := b.Context()
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(discardSpans{}))
	defer tp.Shutdown(context.Background())
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
	defer mp.Shutdown(context.Background())
	writer := func(name string, traced bool) *writeback.Writer {
		st, err := boltstore.Open(filepath.Join(b.TempDir(), name), nil)
		require.NoError(b, err)
		b.Cleanup(func() { st.Close() })
		opts := []option{asyncContacts(providertest.NewFake("hubspot", writeback.Capabilities{})), withStore(st)}
		if traced {
			opts = append(opts, withConfig(func(c *writeback.Config) { c.TracerProvider, c.MeterProvider = tp, mp }))
		}
		return setup(b, opts...).w
	}
	ws := []*writeback.Writer{writer("plain.db", false), writer("traced.db", true)}
	elapsed := make([]time.Duration, len(ws))
	counts := make([]int, len(ws))
	b.ResetTimer()
	done := 0
	for r := range rounds {
		n := (b.N - done) / (rounds - r)
		for k := range ws {
			w := ws[(k+r)%len(ws)]
			i := (k + r) % len(ws)
			start := time.Now()
			lat := runCallers(b, n, func(j int) error {
				_, err := w.Create(ctx, contacts, kbRecord(done+j), async)
				return err
			})
			elapsed[i] += time.Since(start)
			counts[i] += len(lat)
		}
		done += n
	}
	b.StopTimer()
	plain := float64(counts[0]) / elapsed[0].Seconds()
	traced := float64(counts[1]) / elapsed[1].Seconds()
	b.ReportMetric(plain, "untraced-acks/s")
	b.ReportMetric(traced, "traced-acks/s")
	b.ReportMetric(traced/plain, "traced/untraced")
}
