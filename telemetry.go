package writeback

import (
	"context"
	"errors"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
)

// Instrumentation is the name of writeback's OpenTelemetry tracer and
// meter.
const Instrumentation = "github.com/writebackhq/writeback"

// The attributes of writeback's spans and metrics. They name what was
// written and how it went; never a secret and never a field value.
const (
	attrProvider    = attribute.Key("writeback.provider")
	attrIntegration = attribute.Key("writeback.integration")
	attrObject      = attribute.Key("writeback.object")
	attrType        = attribute.Key("writeback.write_type")
	attrMode        = attribute.Key("writeback.mode")
	attrRecords     = attribute.Key("writeback.record_count")
	attrOperation   = attribute.Key("writeback.operation_id")
	attrAttempt     = attribute.Key("writeback.attempt")
	attrStatus      = attribute.Key("writeback.status")
	attrClass       = attribute.Key("writeback.error_class")
	attrCode        = attribute.Key("writeback.provider_code")
	attrCorrelation = attribute.Key("writeback.correlation_id")
	attrRetryAfter  = attribute.Key("writeback.retry_after_ms")
	attrCall        = attribute.Key("writeback.call")
	attrHTTPCalls   = attribute.Key("writeback.http_calls")
	attrAutoBatch   = attribute.Key("writeback.auto_batch")
)

// telemetry holds writeback's tracer and instruments: spans for each
// accepted write, each attempt and each provider call, and the metrics
// listed in README.md. Without providers in the Config it uses
// OpenTelemetry's global ones, which do nothing until the application
// installs an SDK.
type telemetry struct {
	tracer    trace.Tracer
	meter     metric.Meter
	accepted  metric.Int64Counter
	completed metric.Int64Counter
	calls     metric.Int64Counter
	retries   metric.Int64Counter
	waited    metric.Float64Histogram
	fill      metric.Float64Histogram
	flushLag  metric.Float64Histogram
}

// newTelemetry creates the tracer and the instruments.
func newTelemetry(tp trace.TracerProvider, mp metric.MeterProvider) (*telemetry, error) {
	if tp == nil {
		tp = otel.GetTracerProvider()
	}
	if mp == nil {
		mp = otel.GetMeterProvider()
	}
	t := &telemetry{tracer: tp.Tracer(Instrumentation), meter: mp.Meter(Instrumentation)}
	m := t.meter
	var errs [7]error
	t.accepted, errs[0] = m.Int64Counter("writeback.writes.accepted", metric.WithUnit("{write}"),
		metric.WithDescription("Writes accepted: validated, and for async writes stored durably"))
	t.completed, errs[1] = m.Int64Counter("writeback.writes.completed", metric.WithUnit("{write}"),
		metric.WithDescription("Writes that reached a final status, by status"))
	t.calls, errs[2] = m.Int64Counter("writeback.provider.calls", metric.WithUnit("{call}"),
		metric.WithDescription("Provider calls (a write or a read of current values), by outcome class"))
	t.retries, errs[3] = m.Int64Counter("writeback.retries", metric.WithUnit("{retry}"),
		metric.WithDescription("Attempts scheduled again after a retryable failure, by error class"))
	t.waited, errs[4] = m.Float64Histogram("writeback.rate_limit.wait", metric.WithUnit("s"),
		metric.WithDescription("Waits a provider's rate limit or quota imposed (Retry-After, pacing)"))
	t.fill, errs[5] = m.Float64Histogram("writeback.autobatch.fill_ratio", metric.WithUnit("1"),
		metric.WithDescription("Records in an auto-batch group when it is written, over the provider's batch limit"))
	t.flushLag, errs[6] = m.Float64Histogram("writeback.autobatch.flush_lag", metric.WithUnit("s"),
		metric.WithDescription("How late an auto-batch group was first written after its flush time"))
	return t, errors.Join(errs[:]...)
}

// scopeAttrs are the attributes that say what a plan writes.
func scopeAttrs(p *plan) []attribute.KeyValue {
	return []attribute.KeyValue{
		attrProvider.String(p.Provider), attrIntegration.String(p.Integration),
		attrObject.String(p.Object), attrType.String(string(p.Type)),
	}
}

// errorAttrs are the attributes of a provider error, if any.
func errorAttrs(perr *ProviderError) []attribute.KeyValue {
	if perr == nil {
		return nil
	}
	attrs := []attribute.KeyValue{attrClass.String(string(perr.Class))}
	if perr.Code != "" {
		attrs = append(attrs, attrCode.String(perr.Code))
	}
	if perr.CorrelationID != "" {
		attrs = append(attrs, attrCorrelation.String(perr.CorrelationID))
	}
	if perr.RetryAfter > 0 {
		attrs = append(attrs, attrRetryAfter.Int64(perr.RetryAfter.Milliseconds()))
	}
	return attrs
}

// write starts the span of a write call; end records its result and, for
// an accepted write, counts it.
func (t *telemetry) write(ctx context.Context, p *plan, mode Mode) (context.Context, func(res *Result, err error)) {
	attrs := append(scopeAttrs(p), attrMode.String(mode.String()), attrRecords.Int(len(p.Records)))
	ctx, span := t.tracer.Start(ctx, "writeback.write", trace.WithAttributes(attrs...))
	return ctx, func(res *Result, err error) {
		defer span.End()
		if res != nil {
			span.SetAttributes(attrOperation.String(res.OperationID), attrStatus.String(string(res.Status)))
			t.accepted.Add(ctx, 1, metric.WithAttributes(attrs...))
			if res.Status.Terminal() {
				t.completed.Add(ctx, 1, metric.WithAttributes(append(attrs, attrStatus.String(string(res.Status)))...))
			}
		}
		if err != nil {
			var perr *ProviderError
			if errors.As(err, &perr) {
				span.SetAttributes(errorAttrs(perr)...)
			}
			span.SetStatus(codes.Error, errorClassOf(err))
		}
	}
}

// errorClassOf names an error for a span's status without its text, which
// may quote the provider.
func errorClassOf(err error) string {
	var perr *ProviderError
	var ve *ValidationError
	switch {
	case errors.As(err, &perr):
		return string(perr.Class)
	case errors.As(err, &ve):
		return "invalid input"
	}
	return "error"
}

// attempt starts the span of one attempt of queued work; end records the
// error that decides what follows, if any.
func (t *telemetry) attempt(ctx context.Context, p *plan, operationID string, attempt int, autoBatch bool) (context.Context, func(perr *ProviderError)) {
	attrs := append(scopeAttrs(p), attrOperation.String(operationID), attrAttempt.Int(attempt), attrAutoBatch.Bool(autoBatch), attrRecords.Int(len(p.Records)))
	ctx, span := t.tracer.Start(ctx, "writeback.attempt", trace.WithNewRoot(), trace.WithAttributes(attrs...))
	return ctx, func(perr *ProviderError) {
		if perr != nil {
			span.SetAttributes(errorAttrs(perr)...)
			span.SetStatus(codes.Error, string(perr.Class))
		}
		span.End()
	}
}

// call starts the span of one provider call (kind "write" or "read") of n
// records; end records its outcome and the HTTP requests it took, counts
// it and the waits a rate limit imposed.
func (t *telemetry) call(ctx context.Context, kind string, p *plan, n int) (context.Context, func(perr *ProviderError, calls []ProviderCall)) {
	attrs := []attribute.KeyValue{attrProvider.String(p.Provider), attrCall.String(kind)}
	ctx, span := t.tracer.Start(ctx, "writeback.provider_call", trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(append(attrs, attrObject.String(p.Object), attrType.String(string(p.Type)), attrRecords.Int(n))...))
	return ctx, func(perr *ProviderError, calls []ProviderCall) {
		defer span.End()
		span.SetAttributes(attrHTTPCalls.Int(len(calls)))
		status := "ok"
		if perr != nil {
			status = string(perr.Class)
			span.SetAttributes(errorAttrs(perr)...)
			span.SetStatus(codes.Error, status)
		}
		t.calls.Add(ctx, 1, metric.WithAttributes(append(attrs, attrStatus.String(status))...))
		var wait time.Duration
		for _, c := range calls {
			wait += c.Wait
		}
		if perr != nil && (perr.Class == ClassRateLimited || perr.Class == ClassQuota) {
			wait += perr.RetryAfter
		}
		if wait > 0 {
			t.waited.Record(ctx, wait.Seconds(), metric.WithAttributes(attrProvider.String(p.Provider)))
		}
	}
}

// observeQueue reports the queue's oldest due work as a gauge
// (writeback.queue.oldest_due_age: how long the earliest due job has been
// waiting, zero when nothing is overdue) for as long as the returned
// registration is not unregistered; the Writer observes while it runs.
func (t *telemetry) observeQueue(nextDue func(context.Context) (time.Time, bool, error), now func() time.Time) (metric.Registration, error) {
	age, err := t.meter.Float64ObservableGauge("writeback.queue.oldest_due_age", metric.WithUnit("s"),
		metric.WithDescription("How long the earliest due async work has waited to run"))
	if err != nil {
		return nil, err
	}
	return t.meter.RegisterCallback(func(ctx context.Context, o metric.Observer) error {
		next, ok, err := nextDue(ctx)
		if err != nil {
			return err
		}
		waited := 0.0
		if d := now().Sub(next); ok && d > 0 {
			waited = d.Seconds()
		}
		o.ObserveFloat64(age, waited)
		return nil
	}, age)
}

// done counts a queued write that reached a final status.
func (t *telemetry) done(ctx context.Context, op *Operation, provider string) {
	t.completed.Add(ctx, 1, metric.WithAttributes(
		attrProvider.String(provider), attrIntegration.String(op.Integration), attrObject.String(op.Object),
		attrType.String(string(op.Type)), attrMode.String(op.Mode.String()), attrStatus.String(string(op.Status))))
}

// retry counts an attempt scheduled again after perr.
func (t *telemetry) retry(ctx context.Context, provider string, perr *ProviderError) {
	t.retries.Add(ctx, 1, metric.WithAttributes(attrProvider.String(provider), attrClass.String(string(perr.Class))))
}

// flushed records an auto-batch group's first write: its fill and how late
// it came after its flush time.
func (t *telemetry) flushed(ctx context.Context, provider string, size, capacity int, lag time.Duration) {
	attrs := metric.WithAttributes(attrProvider.String(provider))
	if capacity > 0 {
		t.fill.Record(ctx, float64(size)/float64(capacity), attrs)
	}
	t.flushLag.Record(ctx, max(lag, 0).Seconds(), attrs)
}
