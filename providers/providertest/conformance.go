package providertest

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/writebackhq/writeback"
)

// Fault is a provider-side failure the conformance suite asks a [Harness]
// to inject: the next Times calls are answered with Status (and the
// provider's error body for it) without being processed.
type Fault struct {
	// Status is the HTTP status to answer with, e.g. 429 or 503.
	Status int
	// RetryAfter, if positive, is sent as the Retry-After header.
	RetryAfter time.Duration
	// Times is the number of calls to fail; the suite always sets it.
	Times int
}

// Harness is what the conformance suite needs to exercise one provider
// adapter, usually against its simulator. Run calls the harness factory
// once per subtest, so each subtest gets fresh state.
//
// Required: Provider, Request, NewFields, UpdateFields, InvalidFields,
// MissingID and Lookup. The other hooks are optional; the checks that need
// them are skipped when they are nil.
type Harness struct {
	// Provider is the adapter under test.
	Provider writeback.Provider
	// Request is the base of every request the suite sends: its
	// InstallationID, Connection, TokenSource and Object are used; the
	// suite sets Type, Batch, AllOrNone and Records.
	Request writeback.ProviderRequest
	// NewFields returns fields valid for creating record i, distinct for
	// each i (unique values where the object has unique fields).
	NewFields func(i int) map[string]any
	// UpdateFields returns fields valid for updating record i, with values
	// that differ from NewFields(i).
	UpdateFields func(i int) map[string]any
	// InvalidFields returns fields the provider rejects as invalid on
	// create and on update (a validation error, not a conflict).
	InvalidFields func() map[string]any
	// InvalidField is the provider field the rejection of InvalidFields
	// names; empty skips that check.
	InvalidField string
	// MissingID is a well-formed ID of a record that does not exist.
	MissingID string
	// Lookup returns the stored values of a record at the provider and
	// whether it exists. Values are compared with fmt.Sprint, so a
	// provider that stores every value as a string passes.
	Lookup func(id string) (map[string]any, bool)
	// Count returns the number of stored records of Request.Object.
	Count func() int
	// Calls returns the number of provider API calls received so far; nil
	// skips the call-count checks.
	Calls func() int
	// Inject makes the next f.Times calls fail with f; nil skips the
	// retry classification checks.
	Inject func(f Fault)
	// RetryableStatuses are the statuses the suite injects to check retry
	// classification; nil means 429 and 503.
	RetryableStatuses []int
	// Delay makes the next call wait d before it is answered (answering at
	// once if the caller gives up); nil skips the in-flight cancellation
	// check.
	Delay func(d time.Duration)
	// UpsertKey is the provider field with unique values that NewFields
	// sets (HubSpot: a unique property such as email; Salesforce: an
	// external ID field); empty skips the upsert checks, which also need
	// Capabilities.Upsert and [writeback.KeyReader].
	UpsertKey string
}

// Run runs the conformance suite: create, update and delete, single and
// batch writes in all-or-nothing and partial mode with one bad record,
// results in input order, Read for ifEmpty, retryable classification of
// rate limits and unavailability, non-retryable validation errors with
// fields, context cancellation, and upserts by a unique key with the read
// by key they need. newHarness is called once per subtest.
func Run(t *testing.T, newHarness func(t *testing.T) *Harness) {
	t.Helper()
	for _, c := range conformanceCases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			require.NotNil(t, h, "harness")
			require.NotNil(t, h.Provider, "Harness.Provider")
			require.NotNil(t, h.NewFields, "Harness.NewFields")
			require.NotNil(t, h.UpdateFields, "Harness.UpdateFields")
			require.NotNil(t, h.InvalidFields, "Harness.InvalidFields")
			require.NotNil(t, h.Lookup, "Harness.Lookup")
			require.NotEmpty(t, h.MissingID, "Harness.MissingID")
			c.run(&suite{h: h}, t)
		})
	}
}

// conformanceCase is one subtest of Run.
type conformanceCase struct {
	name string
	run  func(s *suite, t *testing.T)
}

var conformanceCases = []conformanceCase{
	{"Capabilities", (*suite).capabilities},
	{"CreateSingle", (*suite).createSingle},
	{"UpdateSingle", (*suite).updateSingle},
	{"Delete", (*suite).deleteSingle},
	{"BatchCreateInOrder", (*suite).batchCreateInOrder},
	{"BatchCreatePartial", (*suite).batchCreatePartial},
	{"BatchCreateAllOrNone", (*suite).batchCreateAllOrNone},
	{"BatchUpdatePartial", (*suite).batchUpdatePartial},
	{"BatchUpdateAllOrNone", (*suite).batchUpdateAllOrNone},
	{"ReadForIfEmpty", (*suite).read},
	{"InvalidIsNotRetryable", (*suite).invalid},
	{"RetryableStatuses", (*suite).retryable},
	{"CanceledContext", (*suite).canceled},
	{"DeadlineInFlight", (*suite).deadlineInFlight},
	{"Upsert", (*suite).upsert},
}

// suite runs the checks against one harness.
type suite struct{ h *Harness }

// request returns a copy of the base request for a write.
func (s *suite) request(typ writeback.WriteType, batch, allOrNone bool, recs ...writeback.Record) *writeback.ProviderRequest {
	req := s.h.Request
	req.Type = typ
	req.Batch = batch
	req.AllOrNone = allOrNone
	req.Records = recs
	req.Headers = nil
	return &req
}

// write sends req and requires a response with one result per record.
func (s *suite) write(t *testing.T, req *writeback.ProviderRequest) *writeback.ProviderResponse {
	t.Helper()
	resp, err := s.h.Provider.Write(t.Context(), req)
	require.NoError(t, err, "%s of %d record(s)", req.Type, len(req.Records))
	require.NotNil(t, resp)
	require.Len(t, resp.Results, len(req.Records), "one result per record")
	return resp
}

// create creates n records with NewFields(0..n-1), one batch, and returns
// their IDs.
func (s *suite) create(t *testing.T, n int) []string {
	t.Helper()
	recs := make([]writeback.Record, n)
	for i := range recs {
		recs[i] = writeback.Record{Fields: s.h.NewFields(i)}
	}
	var ids []string
	if n == 1 {
		resp := s.write(t, s.request(writeback.WriteTypeCreate, false, false, recs...))
		requireSuccess(t, resp.Results[0], 0)
		return []string{resp.Results[0].ID}
	}
	resp := s.write(t, s.request(writeback.WriteTypeCreate, true, true, recs...))
	for i, r := range resp.Results {
		requireSuccess(t, r, i)
		ids = append(ids, r.ID)
	}
	return ids
}

// requireStored requires that record id holds want.
func (s *suite) requireStored(t *testing.T, id string, want map[string]any) {
	t.Helper()
	got, ok := s.h.Lookup(id)
	require.True(t, ok, "record %s exists", id)
	for k, v := range want {
		require.Contains(t, got, k, "record %s field %s", id, k)
		require.Equal(t, fmt.Sprint(v), fmt.Sprint(got[k]), "record %s field %s", id, k)
	}
}

// count returns Harness.Count, or -1 when there is none.
func (s *suite) count() int {
	if s.h.Count == nil {
		return -1
	}
	return s.h.Count()
}

// calls returns Harness.Calls, or -1 when there is none.
func (s *suite) calls() int {
	if s.h.Calls == nil {
		return -1
	}
	return s.h.Calls()
}

func requireSuccess(t *testing.T, r writeback.RecordResult, i int) {
	t.Helper()
	require.Nil(t, r.Err, "record %d succeeds", i)
	require.NotEmpty(t, r.ID, "record %d has an ID", i)
}

func requireClass(t *testing.T, r writeback.RecordResult, i int, classes ...writeback.ErrorClass) *writeback.ProviderError {
	t.Helper()
	require.NotNil(t, r.Err, "record %d fails", i)
	require.Contains(t, classes, r.Err.Class, "record %d error class: %v", i, r.Err)
	require.Equal(t, i, r.Err.RecordIndex, "record %d error names its index", i)
	require.NotEmpty(t, r.Err.Provider, "record %d error names the provider", i)
	return r.Err
}

// recordError returns the error of the only record of a single write,
// whether the adapter returned it as the call's error or as the record's.
func recordError(t *testing.T, resp *writeback.ProviderResponse, err error) *writeback.ProviderError {
	t.Helper()
	if err != nil {
		var perr *writeback.ProviderError
		require.ErrorAs(t, err, &perr, "a call error is a *writeback.ProviderError")
		return perr
	}
	require.NotNil(t, resp)
	require.Len(t, resp.Results, 1)
	require.NotNil(t, resp.Results[0].Err, "the record fails")
	return resp.Results[0].Err
}

func (s *suite) capabilities(t *testing.T) {
	p := s.h.Provider
	require.NotEmpty(t, p.Name(), "Name")
	caps := p.Capabilities()
	require.GreaterOrEqual(t, caps.MaxBatchSize, 3, "the suite needs batches of at least 3")
	require.LessOrEqual(t, caps.MaxBatchSize, writeback.MaxBatchSize, "batches hold at most writeback.MaxBatchSize records")
	require.True(t, caps.IfEmpty, "the suite checks Read; adapters without it are not covered")
}

func (s *suite) createSingle(t *testing.T) {
	before, calls := s.count(), s.calls()
	fields := s.h.NewFields(0)
	resp := s.write(t, s.request(writeback.WriteTypeCreate, false, false, writeback.Record{Fields: fields}))
	requireSuccess(t, resp.Results[0], 0)
	s.requireStored(t, resp.Results[0].ID, fields)
	if before >= 0 {
		require.Equal(t, before+1, s.count(), "one record created")
	}
	if calls >= 0 {
		require.Equal(t, calls+1, s.calls(), "a single create is one call")
	}
	require.Nil(t, resp.Compensation)
}

func (s *suite) updateSingle(t *testing.T) {
	id := s.create(t, 1)[0]
	calls := s.calls()
	upd := s.h.UpdateFields(0)
	resp := s.write(t, s.request(writeback.WriteTypeUpdate, false, false, writeback.Record{ID: id, Fields: upd}))
	requireSuccess(t, resp.Results[0], 0)
	require.Equal(t, id, resp.Results[0].ID, "an update returns the record's ID")
	s.requireStored(t, id, upd)
	if calls >= 0 {
		require.Equal(t, calls+1, s.calls(), "a single update is one call")
	}

	// Updating a record that does not exist fails as not found.
	resp, err := s.h.Provider.Write(t.Context(), s.request(writeback.WriteTypeUpdate, false, false, writeback.Record{ID: s.h.MissingID, Fields: upd}))
	perr := recordError(t, resp, err)
	require.Equal(t, writeback.ClassNotFound, perr.Class, "%v", perr)
	require.False(t, perr.Retryable())
}

func (s *suite) deleteSingle(t *testing.T) {
	if !s.h.Provider.Capabilities().Delete {
		t.Skip("provider does not delete")
	}
	ids := s.create(t, 2)
	resp := s.write(t, s.request(writeback.WriteTypeDelete, false, false, writeback.Record{ID: ids[0]}))
	require.Nil(t, resp.Results[0].Err)
	_, ok := s.h.Lookup(ids[0])
	require.False(t, ok, "the deleted record is gone")
	s.requireStored(t, ids[1], s.h.NewFields(1))
}

func (s *suite) batchCreateInOrder(t *testing.T) {
	const n = 5
	for _, allOrNone := range []bool{true, false} {
		calls := s.calls()
		recs := make([]writeback.Record, n)
		for i := range recs {
			recs[i] = writeback.Record{Fields: s.h.NewFields(i + boolIndex(allOrNone)*n)}
		}
		resp := s.write(t, s.request(writeback.WriteTypeCreate, true, allOrNone, recs...))
		seen := map[string]bool{}
		for i, r := range resp.Results {
			requireSuccess(t, r, i)
			require.False(t, seen[r.ID], "IDs are distinct")
			seen[r.ID] = true
			s.requireStored(t, r.ID, recs[i].Fields)
		}
		if calls >= 0 {
			require.Equal(t, calls+1, s.calls(), "a batch create is one call (allOrNone %v)", allOrNone)
		}
	}
}

func boolIndex(b bool) int {
	if b {
		return 1
	}
	return 0
}

// badBatch returns three create records of which the middle one is invalid.
func (s *suite) badBatch() []writeback.Record {
	return []writeback.Record{
		{Fields: s.h.NewFields(0)},
		{Fields: s.h.InvalidFields()},
		{Fields: s.h.NewFields(2)},
	}
}

func (s *suite) requireInvalid(t *testing.T, perr *writeback.ProviderError) {
	t.Helper()
	require.Equal(t, writeback.ClassInvalid, perr.Class, "%v", perr)
	require.False(t, perr.Retryable(), "validation errors are not retryable")
	if s.h.InvalidField != "" {
		require.Contains(t, perr.Fields, s.h.InvalidField, "the error names the field: %v", perr)
	}
}

func (s *suite) batchCreatePartial(t *testing.T) {
	before := s.count()
	recs := s.badBatch()
	resp := s.write(t, s.request(writeback.WriteTypeCreate, true, false, recs...))
	s.requireInvalid(t, requireClass(t, resp.Results[1], 1, writeback.ClassInvalid))
	for _, i := range []int{0, 2} {
		requireSuccess(t, resp.Results[i], i)
		s.requireStored(t, resp.Results[i].ID, recs[i].Fields)
	}
	if before >= 0 {
		require.Equal(t, before+2, s.count(), "the two good records are created")
	}
}

func (s *suite) batchCreateAllOrNone(t *testing.T) {
	before := s.count()
	resp := s.write(t, s.request(writeback.WriteTypeCreate, true, true, s.badBatch()...))
	s.requireInvalid(t, requireClass(t, resp.Results[1], 1, writeback.ClassInvalid))
	for _, i := range []int{0, 2} {
		// A provider that cannot tell which record failed gives every
		// record the batch's error; rolled back is the precise answer.
		requireClass(t, resp.Results[i], i, writeback.ClassRolledBack, writeback.ClassInvalid)
	}
	if before >= 0 {
		require.Equal(t, before, s.count(), "nothing is created")
	}
}

// updateBatch returns three updates of ids of which the middle one names a
// record that does not exist.
func (s *suite) updateBatch(ids []string) []writeback.Record {
	return []writeback.Record{
		{ID: ids[0], Fields: s.h.UpdateFields(0)},
		{ID: s.h.MissingID, Fields: s.h.UpdateFields(1)},
		{ID: ids[2], Fields: s.h.UpdateFields(2)},
	}
}

func (s *suite) batchUpdatePartial(t *testing.T) {
	ids := s.create(t, 3)
	recs := s.updateBatch(ids)
	resp := s.write(t, s.request(writeback.WriteTypeUpdate, true, false, recs...))
	perr := requireClass(t, resp.Results[1], 1, writeback.ClassNotFound)
	require.False(t, perr.Retryable())
	for _, i := range []int{0, 2} {
		requireSuccess(t, resp.Results[i], i)
		require.Equal(t, ids[i], resp.Results[i].ID, "results are in input order")
		s.requireStored(t, ids[i], recs[i].Fields)
	}
	s.requireStored(t, ids[1], s.h.NewFields(1))
	require.Nil(t, resp.Compensation, "partial mode never compensates")
}

func (s *suite) batchUpdateAllOrNone(t *testing.T) {
	ids := s.create(t, 3)
	resp := s.write(t, s.request(writeback.WriteTypeUpdate, true, true, s.updateBatch(ids)...))
	requireClass(t, resp.Results[1], 1, writeback.ClassNotFound)
	for _, i := range []int{0, 2} {
		requireClass(t, resp.Results[i], i, writeback.ClassRolledBack)
	}
	for i, id := range ids {
		s.requireStored(t, id, s.h.NewFields(i))
	}
	if s.h.Provider.Capabilities().AtomicBatchUpdate {
		require.Nil(t, resp.Compensation, "an atomic batch needs no compensation")
		return
	}
	// An emulated all-or-nothing batch either wrote nothing (it found the
	// missing record first) or says it restored what it changed.
	if resp.Compensation != nil {
		require.Empty(t, resp.Compensation.Unrestored)
		for _, id := range resp.Compensation.Restored {
			require.Contains(t, []string{ids[0], ids[2]}, id, "only changed records are restored")
		}
	}
}

func (s *suite) read(t *testing.T) {
	ids := s.create(t, 2)
	fields := slices.Sorted(maps.Keys(s.h.NewFields(0)))
	calls := s.calls()
	req := &writeback.ReadRequest{
		InstallationID: s.h.Request.InstallationID,
		Connection:     s.h.Request.Connection,
		TokenSource:    s.h.Request.TokenSource,
		Object:         s.h.Request.Object,
		IDs:            []string{ids[0], s.h.MissingID, ids[1]},
		Fields:         fields,
	}
	got, err := s.h.Provider.Read(t.Context(), req)
	require.NoError(t, err)
	if calls >= 0 {
		require.Equal(t, calls+1, s.calls(), "one read per batch")
	}
	require.NotContains(t, got, s.h.MissingID, "a missing record is absent")
	for i, id := range ids {
		require.Contains(t, got, id)
		for k, v := range s.h.NewFields(i) {
			require.Equal(t, fmt.Sprint(v), fmt.Sprint(got[id][k]), "record %s field %s", id, k)
		}
	}
}

func (s *suite) invalid(t *testing.T) {
	before := s.count()
	resp, err := s.h.Provider.Write(t.Context(), s.request(writeback.WriteTypeCreate, false, false, writeback.Record{Fields: s.h.InvalidFields()}))
	perr := recordError(t, resp, err)
	s.requireInvalid(t, perr)
	if before >= 0 {
		require.Equal(t, before, s.count(), "nothing is created")
	}

	id := s.create(t, 1)[0]
	resp, err = s.h.Provider.Write(t.Context(), s.request(writeback.WriteTypeUpdate, false, false, writeback.Record{ID: id, Fields: s.h.InvalidFields()}))
	s.requireInvalid(t, recordError(t, resp, err))
	s.requireStored(t, id, s.h.NewFields(0))
}

func (s *suite) retryable(t *testing.T) {
	if s.h.Inject == nil {
		t.Skip("harness cannot inject faults")
	}
	statuses := s.h.RetryableStatuses
	if statuses == nil {
		statuses = []int{429, 503}
	}
	const retryAfter = 30 * time.Second
	for _, status := range statuses {
		for _, batch := range []bool{false, true} {
			before := s.count()
			// Enough failures for any resends the adapter's transport
			// makes; a Retry-After longer than any in-call wait keeps it
			// from sleeping.
			s.h.Inject(Fault{Status: status, RetryAfter: retryAfter, Times: 10})
			_, err := s.h.Provider.Write(t.Context(), s.request(writeback.WriteTypeCreate, batch, true, writeback.Record{Fields: s.h.NewFields(7)}))
			require.Error(t, err, "status %d fails the call (batch %v)", status, batch)
			var perr *writeback.ProviderError
			require.ErrorAs(t, err, &perr, "status %d", status)
			require.True(t, perr.Retryable(), "status %d is retryable: %v", status, perr)
			require.GreaterOrEqual(t, perr.RetryAfter, retryAfter, "status %d honours Retry-After: %v", status, perr)
			require.Equal(t, writeback.NoRecord, perr.RecordIndex)
			if before >= 0 {
				require.Equal(t, before, s.count(), "nothing is created")
			}
		}
	}
}

func (s *suite) canceled(t *testing.T) {
	before, calls := s.count(), s.calls()
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := s.h.Provider.Write(ctx, s.request(writeback.WriteTypeCreate, false, false, writeback.Record{Fields: s.h.NewFields(0)}))
	require.Error(t, err)
	require.True(t, errors.Is(err, context.Canceled), "the error wraps context.Canceled: %v", err)
	_, err = s.h.Provider.Read(ctx, &writeback.ReadRequest{
		InstallationID: s.h.Request.InstallationID, Connection: s.h.Request.Connection,
		TokenSource: s.h.Request.TokenSource, Object: s.h.Request.Object,
		IDs: []string{s.h.MissingID}, Fields: slices.Sorted(maps.Keys(s.h.NewFields(0))),
	})
	require.True(t, errors.Is(err, context.Canceled), "the read error wraps context.Canceled: %v", err)
	if before >= 0 {
		require.Equal(t, before, s.count())
	}
	if calls >= 0 {
		require.Equal(t, calls, s.calls(), "nothing is sent with a canceled context")
	}
}

func (s *suite) deadlineInFlight(t *testing.T) {
	if s.h.Delay == nil {
		t.Skip("harness cannot delay answers")
	}
	s.h.Delay(time.Minute)
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	_, err := s.h.Provider.Write(ctx, s.request(writeback.WriteTypeCreate, false, false, writeback.Record{Fields: s.h.NewFields(0)}))
	require.Error(t, err)
	require.True(t, errors.Is(err, context.DeadlineExceeded), "the error wraps context.DeadlineExceeded: %v", err)
	var perr *writeback.ProviderError
	if errors.As(err, &perr) {
		// The create was sent: it may or may not have happened.
		require.Equal(t, writeback.ClassUnknownOutcome, perr.Class, "%v", perr)
		require.False(t, perr.Retryable(), "an unknown outcome is never resent blindly")
	}
}

// upsert checks upserts by Harness.UpsertKey: a partial batch that
// updates an existing record and creates a new one, each saying which,
// a single upsert, and ReadByKey finding records by their key values.
func (s *suite) upsert(t *testing.T) {
	kr, ok := s.h.Provider.(writeback.KeyReader)
	if s.h.UpsertKey == "" || !ok || !s.h.Provider.Capabilities().Upsert {
		t.Skip("no upsert key, or the provider cannot upsert")
	}
	key := s.h.UpsertKey
	id := s.create(t, 1)[0]
	upd := maps.Clone(s.h.UpdateFields(0))
	upd[key] = s.h.NewFields(0)[key]
	fresh := s.h.NewFields(1)
	req := s.request(writeback.WriteTypeUpsert, true, false, writeback.Record{Fields: upd}, writeback.Record{Fields: fresh})
	req.Key = key
	before := s.count()
	resp := s.write(t, req)
	requireSuccess(t, resp.Results[0], 0)
	requireSuccess(t, resp.Results[1], 1)
	freshID := resp.Results[1].ID
	require.Equal(t, id, resp.Results[0].ID, "the record that has the key value is updated")
	require.False(t, resp.Results[0].Created, "updated, not created")
	require.True(t, resp.Results[1].Created, "no record had the key value: created")
	s.requireStored(t, id, upd)
	s.requireStored(t, resp.Results[1].ID, fresh)
	if before >= 0 {
		require.Equal(t, before+1, s.count(), "one record created, none duplicated")
	}

	single := s.request(writeback.WriteTypeUpsert, false, false, writeback.Record{Fields: s.h.NewFields(2)})
	single.Key = key
	resp = s.write(t, single)
	requireSuccess(t, resp.Results[0], 0)
	require.True(t, resp.Results[0].Created)

	values := []string{fmt.Sprint(upd[key]), fmt.Sprint(fresh[key]), fmt.Sprint(s.h.NewFields(99)[key])}
	found, err := kr.ReadByKey(t.Context(), &writeback.ReadRequest{
		InstallationID: s.h.Request.InstallationID, Connection: s.h.Request.Connection, TokenSource: s.h.Request.TokenSource,
		Object: s.h.Request.Object, Key: key, IDs: values,
	})
	require.NoError(t, err)
	require.Len(t, found, 2, "the two records with the key values, not the missing one")
	require.Equal(t, id, found[values[0]].ID)
	require.Equal(t, freshID, found[values[1]].ID)
}
