package writeback

import (
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// tricky are strings that encoding/json escapes.
var tricky = []string{"", "plain", `quote " and \ backslash`, "<a href='x'>&amp;</a>", "line\nbreak\ttab\r\b\f",
	"\x00\x01\x1f\x7f", "\u2028\u2029", "é 漢字 😀", "caf\xe9 \xff"}

// TestAppendersMatchEncodingJSON checks that the accept path's appenders
// write exactly what encoding/json writes for the same records, so the
// stored format does not depend on which one wrote a record.
func TestAppendersMatchEncodingJSON(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(1, 2))
	zones := []*time.Location{time.UTC, time.FixedZone("CET", 3600), time.FixedZone("odd", -(3*3600 + 30*60))}
	someTime := func() time.Time {
		return time.Date(2000+rng.IntN(60), time.Month(1+rng.IntN(12)), 1+rng.IntN(28), rng.IntN(24), rng.IntN(60), rng.IntN(60),
			rng.IntN(3)*rng.IntN(1_000_000_000), zones[rng.IntN(len(zones))])
	}
	str := func() string { return tricky[rng.IntN(len(tricky))] + tricky[rng.IntN(len(tricky))] }
	// Values in their normal form are valid UTF-8.
	validStr := func() string { return strings.ToValidUTF8(str(), "") }
	var value func(depth int) any
	value = func(depth int) any {
		switch k := rng.IntN(7); {
		case k == 0:
			return nil
		case k == 1:
			return rng.IntN(2) == 0
		case k == 2:
			return json.Number([]string{"0", "-12", "9007199254740993", "1.5e-7", "12.50"}[rng.IntN(5)])
		case k == 3 && depth < 3:
			l := make([]any, rng.IntN(4))
			for i := range l {
				l[i] = value(depth + 1)
			}
			return l
		case k == 4 && depth < 3:
			m := map[string]any{}
			for range rng.IntN(4) {
				m[validStr()] = value(depth + 1)
			}
			return m
		}
		return validStr()
	}
	for range 2000 {
		op := &Operation{
			ID: str(), InstallationID: str(), Integration: str(), GroupRef: str(), Object: str(),
			Type: WriteType(str()), Mode: Mode(rng.IntN(2)), AutoBatch: rng.IntN(2) == 0, Status: OperationInProgress,
			Attempts: rng.IntN(3), ProviderCalls: rng.IntN(2) * rng.IntN(5), CreatedAt: someTime(), UpdatedAt: someTime(),
		}
		if rng.IntN(2) == 0 {
			op.Summary = str()
		}
		if rng.IntN(2) == 0 {
			op.Deadline = someTime()
		}
		if rng.IntN(3) == 0 {
			op.LastAttempt = someTime()
		}
		for range rng.IntN(3) {
			op.Logs = append(op.Logs, LogEntry{Time: someTime(), Severity: SeverityWarn, Message: str()})
		}
		op.sendClaim = rng.IntN(2) * rng.IntN(4)
		want, err := json.Marshal(storedOperation{current(), op, nil, op.sendClaim, false, nil})
		require.NoError(t, err)
		got, ok := appendAcceptedOperation(nil, op)
		require.True(t, ok)
		require.Equal(t, string(want), string(got))

		p := &plan{InstallationID: str(), Integration: str(), GroupRef: str(), Object: str(), ProviderObject: str(),
			Provider: str(), Type: WriteType(str()), Batch: rng.IntN(2) == 0, AllOrNone: rng.IntN(2) == 0}
		if rng.IntN(5) > 0 {
			p.Records = make([]Record, 1+rng.IntN(3))
		}
		for i := range p.Records {
			if rng.IntN(2) == 0 {
				p.Records[i].ID = str()
			}
			if rng.IntN(4) > 0 {
				p.Records[i].Fields = map[string]any{}
				for range rng.IntN(4) {
					p.Records[i].Fields[validStr()] = value(0)
				}
			}
		}
		if rng.IntN(2) == 0 && len(p.Records) > 0 {
			p.IfEmpty = make([][]string, len(p.Records))
			p.IfEmpty[0] = []string{str()}
		}
		if rng.IntN(2) == 0 {
			p.Headers = []Header{{Key: str(), Value: str()}}
		}
		payload := jobPayload{versioned: current(), Plan: p, Deadline: someTime()}
		want, err = json.Marshal(payload)
		require.NoError(t, err)
		got, ok = appendJobPayload(nil, payload)
		require.True(t, ok)
		require.Equal(t, string(want), string(got))
	}
}

// TestAppendersKnowEveryField fails when a type the appenders encode gains
// a field: the appenders must then be taught it (or give up on it), and
// the lists below updated.
func TestAppendersKnowEveryField(t *testing.T) {
	t.Parallel()
	known := map[reflect.Type][]string{
		reflect.TypeFor[Operation](): {"id", "installationId", "integration", "groupRef", "object", "type", "mode", "autoBatch",
			"group", "status", "summary", "results", "successfulRecordIds", "compensation", "attempts", "providerCalls",
			"lastAttempt", "deadline", "createTime", "updateTime", "logs"},
		reflect.TypeFor[LogEntry]():        {"timestamp", "severity", "message", "error", "calls"},
		reflect.TypeFor[storedOperation](): {"", "autoBatchGroup", "sendClaim", "omitValues", "retry"},
		reflect.TypeFor[jobPayload]():      {"plan", "deadline", "retry"},
		reflect.TypeFor[plan](): {"installationId", "integration", "groupRef", "object", "providerObject", "provider", "type",
			"batch", "allOrNone", "records", "ifEmpty", "headers", "key", "updates"}, // an upsert's plan goes to encoding/json
		reflect.TypeFor[Record](): {"id", "fields", "associations"},
		reflect.TypeFor[Header](): {"key", "value"},
	}
	for typ, names := range known {
		var got []string
		for f := range typ.Fields() {
			if !f.IsExported() {
				continue // not encoded (versioned is checked by the appenders' "v")
			}
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "-" {
				continue
			}
			got = append(got, name)
		}
		require.Equal(t, names, got, "%s changed: update format_encode.go and this list", typ)
	}
}

// TestAppendersGiveUp: records the appenders do not know are left to
// encoding/json, with the same result.
func TestAppendersGiveUp(t *testing.T) {
	t.Parallel()
	op := &Operation{ID: "x", Status: OperationSuccess, Results: []RecordResult{{ID: "1"}}}
	_, ok := appendAcceptedOperation(nil, op)
	require.False(t, ok)
	_, ok = appendAcceptedOperation(nil, &Operation{Logs: []LogEntry{{Calls: []ProviderCall{{Method: "POST"}}}}})
	require.False(t, ok, "a log line with calls")
	rec, err := encodeOperation(op, nil)
	require.NoError(t, err)
	want, _ := json.Marshal(storedOperation{current(), op, nil, 0, false, nil})
	require.Equal(t, string(want), string(rec.Data))

	p := &plan{Records: []Record{{Fields: map[string]any{"a": 1}}}} // not a normal form
	_, ok = appendJobPayload(nil, jobPayload{Plan: p})
	require.False(t, ok)
	data, err := encodeJob(jobPayload{Plan: p})
	require.NoError(t, err)
	require.Contains(t, string(data), `"fields":{"a":1}`)

	up := &plan{Type: WriteTypeUpsert, Key: "email", Records: []Record{{Fields: map[string]any{"email": "a@b"}}},
		Updates: []map[string]any{{"email": "a@b"}}}
	_, ok = appendJobPayload(nil, jobPayload{Plan: up})
	require.False(t, ok, "an upsert")
	data, err = encodeJob(jobPayload{Plan: up})
	require.NoError(t, err)
	require.Contains(t, string(data), `"key":"email","updates":[{"email":"a@b"}]`)
}

// FuzzAppendString compares appendString with encoding/json.
func FuzzAppendString(f *testing.F) {
	for _, s := range tricky {
		f.Add(s)
	}
	f.Add(strings.Repeat("<\u2028\xff", 3))
	f.Fuzz(func(t *testing.T, s string) {
		want, err := json.Marshal(s)
		require.NoError(t, err)
		require.Equal(t, string(want), string(appendString(nil, s)))
		if !strings.ContainsRune(s, 0xFFFD) && strings.ToValidUTF8(s, "") == s {
			require.Equal(t, len(want), stringSize(s))
		}
	})
}
