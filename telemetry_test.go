package writeback_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/writebackhq/writeback"
	"github.com/writebackhq/writeback/providers/providertest"
)

// TestTelemetry checks the spans and metrics of sync, async and
// auto-batched writes with the OpenTelemetry SDK's in-memory exporters,
// and that none carries a field value.
func TestTelemetry(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	spans := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(spans))
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	fake := providertest.NewFake("hubspot", writeback.Capabilities{MaxBatchSize: 100})
	fake.FailRecords(func(_ *writeback.ProviderRequest, _ int, rec writeback.Record) *writeback.ProviderError {
		if rec.Fields["email"] == "refused@example.com" {
			return &writeback.ProviderError{Provider: "hubspot", Class: writeback.ClassInvalid, StatusCode: 400,
				Code: "VALIDATION_ERROR", CorrelationID: "corr-1", Message: "refused@example.com is not allowed", RecordIndex: 0}
		}
		return nil
	})
	b := setup(t, asyncContacts(fake), withConfig(func(c *writeback.Config) {
		c.TracerProvider, c.MeterProvider = tp, mp
	}))

	_, err := b.w.Create(ctx, contacts, contact("sync@example.com"), nil)
	require.NoError(t, err)
	_, err = b.w.Create(ctx, contacts, contact("refused@example.com"), nil)
	require.Error(t, err)
	res, err := b.w.Create(ctx, contacts, contact("async@example.com"), async)
	require.NoError(t, err)
	batched := &writeback.WriteOpts{Mode: writeback.ModeAsync, AutoBatch: &writeback.AutoBatchPolicy{MaxDelay: time.Second}}
	var group string
	for _, e := range []string{"g1@example.com", "g2@example.com", "g3@example.com"} {
		r, err := b.w.Create(ctx, contacts, contact(e), batched)
		require.NoError(t, err)
		group = r.OperationID
	}
	require.NoError(t, b.w.Start(ctx))
	defer b.w.Stop(context.WithoutCancel(ctx))
	var running metricdata.ResourceMetrics
	require.NoError(t, reader.Collect(ctx, &running))
	gauge := false
	for _, sm := range running.ScopeMetrics {
		for _, m := range sm.Metrics {
			gauge = gauge || m.Name == "writeback.queue.oldest_due_age"
		}
	}
	require.True(t, gauge, "a running Writer reports its queue")
	for _, id := range []string{res.OperationID, group} {
		op, err := b.w.Wait(ctx, id)
		require.NoError(t, err)
		require.Equal(t, writeback.OperationSuccess, op.Status)
	}
	require.NoError(t, b.w.Stop(ctx))

	byName := map[string][]tracetest.SpanStub{}
	for _, s := range spans.GetSpans() {
		byName[s.Name] = append(byName[s.Name], s)
		for _, a := range s.Attributes {
			require.NotContains(t, a.Value.String(), "@example.com", "span %s attribute %s holds a field value", s.Name, a.Key)
		}
		for _, e := range s.Events {
			for _, a := range e.Attributes {
				require.NotContains(t, a.Value.String(), "@example.com")
			}
		}
		require.NotContains(t, s.Status.Description, "@example.com")
	}
	require.Len(t, byName["writeback.write"], 6, "one span per accepted write")
	require.Len(t, byName["writeback.attempt"], 2, "the async write's attempt and the group's")
	require.Len(t, byName["writeback.provider_call"], 4, "two sync calls, the async one and the group's one")
	attrs := func(s tracetest.SpanStub) map[attribute.Key]string {
		m := map[attribute.Key]string{}
		for _, a := range s.Attributes {
			m[a.Key] = a.Value.String()
		}
		return m
	}
	refused := attrs(byName["writeback.write"][1])
	require.Equal(t, "hubspot", refused["writeback.provider"])
	require.Equal(t, "crm", refused["writeback.integration"])
	require.Equal(t, "contacts", refused["writeback.object"])
	require.Equal(t, "create", refused["writeback.write_type"])
	require.Equal(t, "failure", refused["writeback.status"])
	require.Equal(t, "invalid", refused["writeback.error_class"])
	require.Equal(t, "VALIDATION_ERROR", refused["writeback.provider_code"])
	require.Equal(t, "corr-1", refused["writeback.correlation_id"])
	var groupAttempt map[attribute.Key]string
	for _, s := range byName["writeback.attempt"] {
		if a := attrs(s); a["writeback.auto_batch"] == "true" {
			groupAttempt = a
		}
	}
	require.Equal(t, group, groupAttempt["writeback.operation_id"])
	require.Equal(t, "3", groupAttempt["writeback.record_count"])

	var rm metricdata.ResourceMetrics
	require.NoError(t, reader.Collect(ctx, &rm))
	sums := map[string]int64{}
	histograms := map[string]uint64{}
	for _, sm := range rm.ScopeMetrics {
		require.Equal(t, writeback.Instrumentation, sm.Scope.Name)
		for _, m := range sm.Metrics {
			switch d := m.Data.(type) {
			case metricdata.Sum[int64]:
				for _, p := range d.DataPoints {
					status, _ := p.Attributes.Value("writeback.status")
					sums[m.Name+"/"+status.String()] += p.Value
					for _, kv := range p.Attributes.ToSlice() {
						require.False(t, strings.Contains(kv.Value.String(), "@example.com"))
					}
				}
			case metricdata.Histogram[float64]:
				for _, p := range d.DataPoints {
					histograms[m.Name] += p.Count
				}
			}
		}
	}
	require.Equal(t, int64(6), sums["writeback.writes.accepted/"]+sums["writeback.writes.accepted/success"]+sums["writeback.writes.accepted/failure"]+sums["writeback.writes.accepted/in_progress"])
	require.Equal(t, int64(3), sums["writeback.writes.completed/success"], "the sync write, the async one and the group: %v", sums)
	require.Equal(t, int64(1), sums["writeback.writes.completed/failure"])
	require.Equal(t, int64(3), sums["writeback.provider.calls/ok"])
	require.Equal(t, int64(1), sums["writeback.provider.calls/invalid"])
	require.Equal(t, uint64(1), histograms["writeback.autobatch.fill_ratio"])
	require.Equal(t, uint64(1), histograms["writeback.autobatch.flush_lag"])
}
